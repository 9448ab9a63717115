//! Multipart uploads. An upload lives in each drive's `.strata.sys/multipart/<bucket>/<id>/`
//! (see `drive::local`): an `upload.json`, and one directory per part *upload*
//! (`<number>.<attempt>`) holding the part's shard file and its record. Each part upload is
//! staged in full and moved in with one rename, so a part number uploaded twice at once (a
//! client's retry racing the original) leaves two complete attempts side by side, never a mix.
//! The listing and completion vote on attempts (a part is there once k drives hold the same
//! attempt); completion takes, for each part the client names, the newest attempt with the
//! ETag it names, hard-links exactly those files into the object's data directory (no data
//! is copied), and commits the object like any write. The shard hashes of a part are keyed by
//! its attempt's id, so a linked file is only ever read as the part it was written as.

use super::drive::DriveResult;
use super::meta::{Erasure, ObjectMeta, PartMeta};
use super::names::{hex, unhex};
use super::put::{new_version, now_ns, BlockSink, PartStager};
use super::set::commit::Proposal;
use super::set::{run_parallel_late, ErasureSet};
use super::{Conditions, EngineError, ObjectInfo, PutOptions};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadInfo {
    pub key: String,
    pub upload_id: String,
    pub initiated_ns: u64,
    pub content_type: Option<String>,
    pub user_meta: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub erasure: Erasure,
    #[serde(default)]
    pub reduced_redundancy: bool,
    /// The algorithm every part is checked with (`CRC32`, …), and the checksum type of the
    /// object (`COMPOSITE`, `FULL_OBJECT`); none for uploads created without one.
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
    #[serde(default)]
    pub checksum_type: Option<String>,
    /// What the object's `ObjectMeta::acl` will be (absent in records written before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
}

/// How the object's checksums are made from the parts chosen for it (and the client's claims
/// checked), at completion, before anything is committed.
pub type PartsCheck<'a> =
    &'a dyn Fn(&UploadInfo, &[PartInfo]) -> Result<BTreeMap<String, String>, EngineError>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    pub mod_time_ns: u64,
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    /// This upload of the part (the id its shard hashes are keyed by).
    pub attempt: String,
}

impl PartInfo {
    /// The part's directory in the upload.
    fn dir_name(&self) -> String {
        format!("{:05}.{}", self.number, self.attempt)
    }
}

/// Upload ids are our own uuids; anything else could name a path.
fn check_upload_id(id: &str) -> Result<(), EngineError> {
    uuid::Uuid::parse_str(id)
        .map(drop)
        .map_err(|_| EngineError::NoSuchUpload(id.to_string()))
}

/// An UploadPart whose body is handed in block by block (`Engine::begin_part`), then recorded by
/// `Engine::finish_part`. Dropped unfinished, it leaves nothing behind.
pub struct PartUpload {
    bucket: String,
    id: String,
    number: u32,
    stager: PartStager,
}

impl BlockSink for PartUpload {
    fn block_size(&self) -> usize {
        self.stager.block_size()
    }

    fn write_block(&mut self, block: &[u8]) -> Result<(), EngineError> {
        self.stager.write_block(block)
    }
}

impl PartUpload {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The erasure set the upload is written to.
    pub fn set(&self) -> Arc<ErasureSet> {
        self.stager.set()
    }
}

impl ErasureSet {
    pub fn new_upload(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
        placement: u64,
    ) -> Result<String, EngineError> {
        let geo = self.geometry(opts.reduced_redundancy);
        let info = UploadInfo {
            key: key.to_string(),
            upload_id: uuid::Uuid::new_v4().to_string(),
            initiated_ns: now_ns(),
            content_type: opts.content_type.clone(),
            user_meta: opts.user_meta.clone(),
            tags: opts.tags.clone(),
            erasure: self.erasure_for(&geo, placement),
            reduced_redundancy: opts.reduced_redundancy,
            checksum_algorithm: opts.checksum_algorithm.clone(),
            checksum_type: opts.checksum_type.clone(),
            acl: opts.acl.clone(),
        };
        let bytes = serde_json::to_vec(&info).map_err(|e| EngineError::Codec(e.to_string()))?;
        let (b, id) = (bucket.to_string(), info.upload_id.clone());
        let results = self.on_drives(move |_, d| d.put_upload(&b, &id, &bytes));
        if let Err(e) = self.require(&results, geo.write_quorum()) {
            let (b, id) = (bucket.to_string(), info.upload_id.clone());
            self.on_drives(move |_, d| d.remove_upload(&b, &id));
            return Err(e);
        }
        Ok(info.upload_id)
    }

    /// The upload's record as a quorum of drives has it.
    pub fn upload_info(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
    ) -> Result<UploadInfo, EngineError> {
        check_upload_id(id)?;
        let n = self.drive_count();
        let (b, i) = (bucket.to_string(), id.to_string());
        let results = self.on_drives(move |_, d| d.read_upload(&b, &i));
        let found: Vec<UploadInfo> = results
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|b| serde_json::from_slice::<UploadInfo>(&b).ok())
            .filter(|i| i.erasure.distribution.len() == n)
            .collect();
        // A record k drives agree on, whole (the records carry no checksum of their own).
        let agreed = found.iter().find(|info| {
            let k = (info.erasure.data as usize).max(1);
            found.iter().filter(|other| other == info).count() >= k
        });
        match agreed {
            Some(info) if info.key == key => Ok(info.clone()),
            _ => Err(EngineError::NoSuchUpload(id.to_string())),
        }
    }

    #[allow(clippy::too_many_arguments)] // one S3 request's worth of parameters
    pub fn put_part(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        id: &str,
        number: u32,
        body: &mut (dyn Read + Send),
        content_md5: Option<[u8; 16]>,
        placement: u64,
        check: super::put::BodyCheck<'_>,
    ) -> Result<PartInfo, EngineError> {
        let mut upload = self.begin_part(bucket, key, id, number, placement)?;
        let tail = super::put::feed(&mut upload, body)?;
        self.finish_part(upload, &tail, content_md5, check)
    }

    /// An UploadPart whose body comes block by block: each attempt of a part is staged under
    /// its own id, so racing uploads of one part never mix.
    pub fn begin_part(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        id: &str,
        number: u32,
        placement: u64,
    ) -> Result<PartUpload, EngineError> {
        if !(1..=10_000).contains(&number) {
            return Err(EngineError::InvalidPart(format!(
                "part number {number} is not in 1..=10000"
            )));
        }
        let info = self.upload_info(bucket, key, id)?;
        let geo = info.erasure.geometry();
        let attempt = uuid::Uuid::new_v4().to_string();
        Ok(PartUpload {
            stager: PartStager::new(self, geo, placement, number, &attempt, false)?,
            bucket: bucket.to_string(),
            id: id.to_string(),
            number,
        })
    }

    /// Stages the part's last block, checks the body and records the attempt on the drives.
    pub fn finish_part(
        &self,
        upload: PartUpload,
        tail: &[u8],
        content_md5: Option<[u8; 16]>,
        check: super::put::BodyCheck<'_>,
    ) -> Result<PartInfo, EngineError> {
        let PartUpload {
            bucket,
            id,
            number,
            stager,
        } = upload;
        let (geo, attempt) = (stager.geo, stager.data_id.clone());
        let staged = stager.finish(tail)?;
        let checksums = match super::put::verify_body(&staged, content_md5, check) {
            Ok(c) => c,
            Err(e) => {
                staged.discard(self);
                return Err(e);
            }
        };
        let part = PartInfo {
            number,
            size: staged.size,
            etag: hex(&staged.md5),
            mod_time_ns: now_ns(),
            checksums,
            attempt,
        };
        let record = serde_json::to_vec(&part).map_err(|e| EngineError::Codec(e.to_string()))?;
        let name = part.dir_name();
        let stagings = Arc::new(staged.staged.clone());
        let (b, i, n) = (bucket.clone(), id.clone(), name.clone());
        let results = self.on_drives(move |p, d| {
            let staging = stagings[p].as_ref().map_err(Clone::clone)?;
            let mut f = d.create_file(staging, "part.json")?;
            f.write_all(&record)?;
            f.finish()?;
            d.commit_part(&b, &i, staging, &n)
        });
        staged.discard(self);
        if let Err(e) = self.require(&results, geo.write_quorum()) {
            // Too few drives hold this attempt for it ever to count: remove it where it landed
            // (a drive that did not answer in time may hold it too).
            let (b, i) = (bucket.clone(), id.clone());
            self.on_drives(move |_, d| d.remove_upload_part(&b, &i, &name));
            return Err(e);
        }
        Ok(part)
    }

    /// For each part number, its newest upload that a write quorum of drives holds (or, when
    /// none does — drives lost since —, the newest that k drives hold), by number.
    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
    ) -> Result<(UploadInfo, Vec<PartInfo>), EngineError> {
        let info = self.upload_info(bucket, key, id)?;
        let parts = self.parts_of(bucket, id, &info);
        Ok((info, parts))
    }

    fn parts_of(&self, bucket: &str, id: &str, info: &UploadInfo) -> Vec<PartInfo> {
        let w = info.erasure.geometry().write_quorum();
        let mut parts: Vec<(PartInfo, usize)> = Vec::new();
        for (p, held) in self.complete_attempts(bucket, id, info) {
            let rank = |q: &PartInfo, h: usize| (h >= w, q.mod_time_ns, q.attempt.clone());
            match parts.iter_mut().find(|(x, _)| x.number == p.number) {
                Some((x, xh)) if rank(&p, held) > rank(x, *xh) => {
                    *x = p;
                    *xh = held;
                }
                Some(_) => {}
                None => parts.push((p, held)),
            }
        }
        parts.sort_by_key(|(p, _)| p.number);
        parts.into_iter().map(|(p, _)| p).collect()
    }

    /// Every part upload that k drives hold (the same attempt, the same record), with how
    /// many drives hold it.
    fn complete_attempts(
        &self,
        bucket: &str,
        id: &str,
        info: &UploadInfo,
    ) -> Vec<(PartInfo, usize)> {
        let (b, i) = (bucket.to_string(), id.to_string());
        let per_drive = self.on_drives(move |_, d| d.list_parts(&b, &i));
        let mut votes: Vec<(PartInfo, usize)> = Vec::new();
        for rec in per_drive.into_iter().filter_map(Result::ok).flatten() {
            let Ok(p) = serde_json::from_slice::<PartInfo>(&rec) else {
                continue;
            };
            match votes.iter_mut().find(|(x, _)| *x == p) {
                Some((_, n)) => *n += 1,
                None => votes.push((p, 1)),
            }
        }
        let k = (info.erasure.data as usize).max(1);
        votes.into_iter().filter(|(_, n)| *n >= k).collect()
    }

    #[allow(clippy::too_many_arguments)] // one CompleteMultipartUpload's worth of parameters
    pub fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        chosen: &[(u32, String)],
        min_part_size: u64,
        conditions: &Conditions,
        check: PartsCheck<'_>,
    ) -> Result<ObjectInfo, EngineError> {
        // The whole completion holds the key's lock: a retried completion, an abort or a
        // write of the key waits, and each finds the upload as the other left it.
        let _guard = self.lock_key(bucket, key);
        let info = match self.upload_info(bucket, key, id) {
            Ok(info) => info,
            Err(EngineError::NoSuchUpload(_)) => {
                // Completed already (a retry answers with the object), or aborted.
                return completed(&self.read_key(bucket, key), bucket, key, id, chosen);
            }
            Err(e) => return Err(e),
        };
        if chosen.is_empty() {
            return Err(EngineError::InvalidPart("the part list is empty".into()));
        }
        let available = self.complete_attempts(bucket, id, &info);
        let mut parts: Vec<PartInfo> = Vec::new();
        for (i, (number, etag)) in chosen.iter().enumerate() {
            if i > 0 && *number <= chosen[i - 1].0 {
                return Err(EngineError::InvalidPartOrder);
            }
            let want = etag.trim_matches('"');
            // Uploads of one part with the same ETag hold the same bytes: take the one most
            // drives hold (a retry cut short may hold too few to complete with), then the newest.
            let part = available
                .iter()
                .filter(|(p, _)| p.number == *number && p.etag == want)
                .max_by(|(a, ah), (b, bh)| {
                    (ah, a.mod_time_ns, &a.attempt).cmp(&(bh, b.mod_time_ns, &b.attempt))
                })
                .map(|(p, _)| p)
                .ok_or_else(|| {
                    EngineError::InvalidPart(format!(
                        "part {number} with ETag {etag} was not uploaded"
                    ))
                })?;
            if i + 1 < chosen.len() && part.size < min_part_size {
                return Err(EngineError::EntityTooSmall {
                    part: *number,
                    size: part.size,
                    min: min_part_size,
                });
            }
            parts.push(part.clone());
        }
        let mut md5s = Vec::new();
        for p in &parts {
            md5s.extend(unhex(&p.etag).ok_or_else(|| {
                EngineError::InvalidPart(format!("bad ETag for part {}", p.number))
            })?);
        }
        let checksums = check(&info, &parts)?;
        let object = ObjectMeta {
            size: parts.iter().map(|p| p.size).sum(),
            etag: format!("{}-{}", hex(&Md5::digest(&md5s)), parts.len()),
            mod_time_ns: now_ns(),
            content_type: info.content_type.clone(),
            user_meta: info.user_meta.clone(),
            tags: info.tags.clone(),
            checksums,
            erasure: info.erasure.clone(),
            data_dir: Some(uuid::Uuid::new_v4().to_string()),
            parts: parts
                .iter()
                .map(|p| PartMeta {
                    number: p.number,
                    size: p.size,
                    etag: p.etag.clone(),
                    checksums: p.checksums.clone(),
                    data_id: p.attempt.clone(),
                })
                .collect(),
            upload_id: Some(id.to_string()),
            reduced_redundancy: info.reduced_redundancy,
            acl: info.acl.clone(),
        };
        let links: Vec<(String, u32)> = parts.iter().map(|p| (p.dir_name(), p.number)).collect();
        let state = self.read_key(bucket, key);
        self.check_conditions(&state, bucket, key, conditions)?;
        // Link the chosen part files into a staging data directory on every drive that has
        // them all; the others get nothing (and are healed).
        let (b, i) = (bucket.to_string(), id.to_string());
        let linked = run_parallel_late(
            &self.handles(),
            move |_, d| d.link_parts(&b, &i, &links),
            |d, staging| d.remove_staging(&staging),
        );
        let version = new_version(&state, Some(object));
        let dist = info.erasure.distribution.clone();
        let proposal = Proposal {
            entries: linked
                .iter()
                .enumerate()
                .map(|(p, l)| {
                    l.as_ref()
                        .map(|_| super::meta::Entry {
                            version: version.clone(),
                            shard: dist[p],
                            inline: None,
                        })
                        .map_err(Clone::clone)
                })
                .collect(),
            data: linked.iter().map(|l| l.clone().ok()).collect(),
            quorum: info.erasure.geometry().write_quorum(),
            version,
        };
        let result = self.commit(bucket, key, &state, &proposal);
        for (p, l) in linked.iter().enumerate() {
            if let (Ok(s), Some(d)) = (l, self.drive(p)) {
                d.remove_staging(s);
            }
        }
        result?;
        let (b, i) = (bucket.to_string(), id.to_string());
        self.on_drives(move |_, d| d.remove_upload(&b, &i));
        Ok(ObjectInfo::from_version(bucket, key, &proposal.version))
    }

    /// Under the key's lock, as a completion links and commits: the two never both succeed
    /// (whichever comes second finds the upload gone: NoSuchUpload).
    pub fn abort_upload(&self, bucket: &str, key: &str, id: &str) -> Result<(), EngineError> {
        let _guard = self.lock_key(bucket, key);
        self.upload_info(bucket, key, id)?;
        let (b, i) = (bucket.to_string(), id.to_string());
        self.on_drives(move |_, d| d.remove_upload(&b, &i));
        Ok(())
    }

    /// Uploads of this bucket under `prefix`, as a read quorum knows them.
    pub fn list_uploads(&self, bucket: &str, prefix: &str) -> Vec<UploadInfo> {
        let b = bucket.to_string();
        let per_drive = self.on_drives(move |_, d| d.list_uploads(&b));
        let mut votes: BTreeMap<String, (UploadInfo, usize)> = BTreeMap::new();
        for b in per_drive.into_iter().filter_map(Result::ok).flatten() {
            let Ok(u) = serde_json::from_slice::<UploadInfo>(&b) else {
                continue;
            };
            if u.key.starts_with(prefix) {
                votes.entry(u.upload_id.clone()).or_insert((u, 0)).1 += 1;
            }
        }
        votes
            .into_values()
            .filter(|(u, n)| *n >= (u.erasure.data as usize).max(1))
            .map(|(u, _)| u)
            .collect()
    }

    fn require(&self, results: &[DriveResult<()>], quorum: usize) -> Result<(), EngineError> {
        let ok = results.iter().filter(|r| r.is_ok()).count();
        if ok >= quorum {
            Ok(())
        } else {
            Err(self.write_quorum_error(results, quorum))
        }
    }
}

/// A completion retried after it succeeded: the upload is gone, the object it made is the
/// key's state. S3 answers such a retry with the object, not NoSuchUpload.
fn completed(
    state: &super::set::KeyState,
    bucket: &str,
    key: &str,
    id: &str,
    chosen: &[(u32, String)],
) -> Result<ObjectInfo, EngineError> {
    let current = state.current(|| format!("{bucket}/{key}"))?;
    let same = current.and_then(|v| v.object.as_ref()).is_some_and(|o| {
        o.upload_id.as_deref() == Some(id)
            && o.parts.len() == chosen.len()
            && o.parts
                .iter()
                .zip(chosen)
                .all(|(p, (n, etag))| p.number == *n && p.etag == etag.trim_matches('"'))
    });
    match current {
        Some(v) if same => Ok(ObjectInfo::from_version(bucket, key, v)),
        _ => Err(EngineError::NoSuchUpload(id.to_string())),
    }
}

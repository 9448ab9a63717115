//! Multipart uploads. Each upload lives in `.strata.sys/multipart/<bucket>/<upload-id>/` on the
//! drives of the key's set: an `upload.json`, and per part its shard file `part.<n>` (encoded
//! like any object) with a `part.<n>.json`. Completing hard-links the chosen part files into the
//! object's data directory: no data is copied, and the upload stays intact until the object is
//! committed.

use super::disk::{write_synced, Disk};
use super::meta::{Erasure, ObjectMeta, PartMeta, META_FORMAT};
use super::put::{discard, hex, now_ns};
use super::set::{describe_failures, ErasureSet};
use super::{EngineError, ObjectInfo, PutOptions};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::PathBuf;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UploadInfo {
    pub key: String,
    pub upload_id: String,
    pub initiated_ns: u64,
    pub content_type: Option<String>,
    pub user_meta: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub erasure: Erasure,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartInfo {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    pub mod_time_ns: u64,
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
}

fn upload_dir(d: &Disk, bucket: &str, id: &str) -> PathBuf {
    d.multipart(bucket).join(id)
}

/// Upload ids are our own uuids; anything else could name a path.
fn check_upload_id(id: &str) -> Result<(), EngineError> {
    uuid::Uuid::parse_str(id)
        .map(drop)
        .map_err(|_| EngineError::NoSuchUpload(id.to_string()))
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
        };
        let bytes = serde_json::to_vec(&info).map_err(|e| EngineError::Codec(e.to_string()))?;
        let results = self.on_drives(|_, d| {
            d.check_present()?; // never recreate a vanished drive directory
            let dir = upload_dir(d, bucket, &info.upload_id);
            fs::create_dir_all(&dir)?;
            write_synced(&dir.join("upload.json"), &bytes)?;
            crate::fsutil::fsync_dir(&dir)
        });
        self.require(&results, geo.write_quorum())?;
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
        let results = self.on_drives(|_, d| {
            let b = fs::read(upload_dir(d, bucket, id).join("upload.json"))?;
            serde_json::from_slice::<UploadInfo>(&b)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        });
        let found: Vec<UploadInfo> = results.into_iter().filter_map(Result::ok).collect();
        let k = self.geometry(false).read_quorum();
        match found.first() {
            Some(info)
                if found.len() >= k.min(info.erasure.data as usize).max(1) && info.key == key =>
            {
                Ok(info.clone())
            }
            _ => Err(EngineError::NoSuchUpload(id.to_string())),
        }
    }

    #[allow(clippy::too_many_arguments)] // one S3 request's worth of parameters
    pub fn put_part(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        number: u32,
        body: &mut dyn Read,
        content_md5: Option<[u8; 16]>,
        placement: u64,
        check: super::put::BodyCheck<'_>,
    ) -> Result<PartInfo, EngineError> {
        if !(1..=10_000).contains(&number) {
            return Err(EngineError::InvalidPart(format!(
                "part number {number} is not in 1..=10000"
            )));
        }
        let info = self.upload_info(bucket, key, id)?;
        let geo = super::geometry::Geometry {
            data: info.erasure.data as usize,
            parity: info.erasure.parity as usize,
            block_size: info.erasure.block_size as usize,
        };
        let staged = self.stage_part(body, &geo, placement, number, false)?;
        let checksums = match super::put::verify_body(&staged, content_md5, check) {
            Ok(c) => c,
            Err(e) => {
                discard(&staged);
                return Err(e);
            }
        };
        let part = PartInfo {
            number,
            size: staged.size,
            etag: hex(&staged.md5),
            mod_time_ns: now_ns(),
            checksums,
        };
        let record = serde_json::to_vec(&part).map_err(|e| EngineError::Codec(e.to_string()))?;
        let results = self.on_drives(|p, d| {
            let staged_dir = staged.staged[p]
                .as_ref()
                .map_err(|e| io::Error::other(e.clone()))?;
            let dir = upload_dir(d, bucket, id);
            fs::rename(
                staged_dir.join(format!("part.{number}")),
                dir.join(format!("part.{number}")),
            )?;
            let tmp = staged_dir.join("part.json");
            write_synced(&tmp, &record)?;
            fs::rename(&tmp, dir.join(format!("part.{number}.json")))?;
            crate::fsutil::fsync_dir(&dir)?;
            fs::remove_dir(staged_dir)
        });
        discard(&staged);
        self.require(&results, geo.write_quorum())?;
        Ok(part)
    }

    /// Parts agreed by a read quorum, by number.
    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
    ) -> Result<Vec<PartInfo>, EngineError> {
        let info = self.upload_info(bucket, key, id)?;
        let per_drive = self.on_drives(|_, d| {
            let mut parts = Vec::new();
            for e in fs::read_dir(upload_dir(d, bucket, id))?.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("part.") && name.ends_with(".json") {
                    if let Ok(p) = fs::read(e.path()).and_then(|b| {
                        serde_json::from_slice::<PartInfo>(&b)
                            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
                    }) {
                        parts.push(p);
                    }
                }
            }
            Ok(parts)
        });
        let mut votes: BTreeMap<u32, Vec<PartInfo>> = BTreeMap::new();
        for p in per_drive.into_iter().filter_map(Result::ok).flatten() {
            votes.entry(p.number).or_default().push(p);
        }
        let k = info.erasure.data as usize;
        Ok(votes
            .into_values()
            .filter_map(|copies| {
                copies
                    .iter()
                    .find(|c| {
                        copies
                            .iter()
                            .filter(|o| o.etag == c.etag && o.mod_time_ns == c.mod_time_ns)
                            .count()
                            >= k
                    })
                    .cloned()
            })
            .collect())
    }

    pub fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        id: &str,
        chosen: &[(u32, String)],
        min_part_size: u64,
    ) -> Result<ObjectInfo, EngineError> {
        let info = self.upload_info(bucket, key, id)?;
        let available = self.list_parts(bucket, key, id)?;
        if chosen.is_empty() {
            return Err(EngineError::InvalidPart("the part list is empty".into()));
        }
        let mut parts = Vec::new();
        let mut md5s = Vec::new();
        for (i, (number, etag)) in chosen.iter().enumerate() {
            if i > 0 && *number <= chosen[i - 1].0 {
                return Err(EngineError::InvalidPartOrder);
            }
            let want = etag.trim_matches('"');
            let part = available
                .iter()
                .find(|p| p.number == *number && p.etag == want)
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
            md5s.extend(
                unhex(&part.etag).ok_or_else(|| {
                    EngineError::InvalidPart(format!("bad ETag for part {number}"))
                })?,
            );
            parts.push(PartMeta {
                number: *number,
                size: part.size,
                etag: part.etag.clone(),
                checksums: part.checksums.clone(),
            });
        }
        let etag = format!("{}-{}", hex(&Md5::digest(&md5s)), parts.len());
        let meta = ObjectMeta {
            format: META_FORMAT,
            version_id: uuid::Uuid::new_v4().to_string(),
            mod_time_ns: now_ns(),
            size: parts.iter().map(|p| p.size).sum(),
            etag,
            content_type: info.content_type.clone(),
            user_meta: info.user_meta.clone(),
            tags: info.tags.clone(),
            checksums: BTreeMap::new(),
            erasure: info.erasure.clone(),
            data_dir: Some(uuid::Uuid::new_v4().to_string()),
            parts,
            inline: None,
        };
        // Link the parts into a staging data directory on every drive.
        let linked = self.on_drives(|_, d| {
            let tmp = d.new_temp()?;
            for p in &meta.parts {
                let name = format!("part.{}", p.number);
                fs::hard_link(upload_dir(d, bucket, id).join(&name), tmp.join(&name))?;
            }
            crate::fsutil::fsync_dir(&tmp)?;
            Ok(tmp)
        });
        let versions: Vec<_> = linked
            .iter()
            .enumerate()
            .map(|(p, r)| {
                r.as_ref().ok().map(|dir| {
                    (
                        meta.for_index(meta.erasure.distribution[p], None),
                        Some(dir.clone()),
                    )
                })
            })
            .collect();
        let quorum = super::geometry::Geometry {
            data: meta.erasure.data as usize,
            parity: meta.erasure.parity as usize,
            block_size: meta.erasure.block_size as usize,
        }
        .write_quorum();
        let result = self.commit(bucket, key, &versions, quorum);
        for dir in linked.iter().flatten() {
            let _ = fs::remove_dir_all(dir);
        }
        result?;
        self.on_drives(|_, d| fs::remove_dir_all(upload_dir(d, bucket, id)));
        Ok(ObjectInfo::from_meta(bucket, key, &meta))
    }

    pub fn abort_upload(&self, bucket: &str, key: &str, id: &str) -> Result<(), EngineError> {
        self.upload_info(bucket, key, id)?;
        self.on_drives(|_, d| fs::remove_dir_all(upload_dir(d, bucket, id)));
        Ok(())
    }

    /// Uploads of this bucket under `prefix`, as a read quorum knows them.
    pub fn list_uploads(&self, bucket: &str, prefix: &str) -> Vec<UploadInfo> {
        let per_drive = self.on_drives(|_, d| {
            let mut out = Vec::new();
            let Ok(rd) = fs::read_dir(d.multipart(bucket)) else {
                return Ok(out);
            };
            for e in rd.flatten() {
                if let Ok(b) = fs::read(e.path().join("upload.json")) {
                    if let Ok(info) = serde_json::from_slice::<UploadInfo>(&b) {
                        if info.key.starts_with(prefix) {
                            out.push(info);
                        }
                    }
                }
            }
            Ok(out)
        });
        let mut votes: BTreeMap<String, (UploadInfo, usize)> = BTreeMap::new();
        for u in per_drive.into_iter().filter_map(Result::ok).flatten() {
            votes.entry(u.upload_id.clone()).or_insert((u, 0)).1 += 1;
        }
        votes
            .into_values()
            .filter(|(u, n)| *n >= (u.erasure.data as usize).max(1))
            .map(|(u, _)| u)
            .collect()
    }

    fn require(
        &self,
        results: &[super::set::DriveResult<()>],
        quorum: usize,
    ) -> Result<(), EngineError> {
        let ok = results.iter().filter(|r| r.is_ok()).count();
        if ok >= quorum {
            Ok(())
        } else {
            Err(EngineError::WriteQuorum {
                ok,
                needed: quorum,
                failures: describe_failures(results, &self.drive_ids),
            })
        }
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

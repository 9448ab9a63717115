//! The write path: stream the body block by block, encode each block, and write every shard
//! through the shard format's writer to its own drive's staging directory, all drives in
//! parallel (memory stays a few blocks whatever the object size; small objects go inline
//! into the metadata instead). Then, under the key's lock: read the key's state, check the
//! write's conditions against it, and commit (`set::commit`).

use super::drive::{Drive, DriveResult, Sink, Staging};
use super::geometry::{encode_block, EncodedBlock, Geometry};
use super::meta::{Entry, Erasure, ObjectMeta, PartMeta, Version};
use super::names::hex;
use super::set::commit::Proposal;
use super::set::{ErasureSet, KeyState};
use super::shard::{self, ShardId, ShardWriter};
use super::{EngineError, ObjectInfo, PutOptions};
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{mpsc, Arc};

/// A check run once the whole body was read, before anything becomes visible: it verifies
/// what the protocol layer knows (checksums, trailers, payload hashes) and returns checksums to
/// record with the object.
pub type BodyCheck<'a> = &'a mut dyn FnMut() -> Result<BTreeMap<String, String>, EngineError>;

/// Content-MD5, then the caller's check.
pub fn verify_body(
    staged: &StagedPart,
    content_md5: Option<[u8; 16]>,
    check: BodyCheck<'_>,
) -> Result<BTreeMap<String, String>, EngineError> {
    if content_md5.is_some_and(|want| want != staged.md5) {
        return Err(EngineError::BadDigest);
    }
    check()
}

/// Blocks in flight between the encoder and each drive writer.
const PIPELINE_DEPTH: usize = 2;
/// Bytes read before deciding between an inline object and a streamed one.
const FIRST_READ: usize = 64 * 1024;

/// The shards of one part, written (not yet durable: the commit's barrier makes them so).
pub struct StagedPart {
    pub size: u64,
    pub md5: [u8; 16],
    /// Per position: the staging directory holding `part.<n>`, or why that drive failed.
    pub staged: Vec<DriveResult<Staging>>,
    /// Per position: the shard bytes, when the part is small enough to inline.
    pub inline: Option<Vec<Vec<u8>>>,
}

impl StagedPart {
    /// Removes the staging directories (a write that will not be committed, or the ones of
    /// drives that did not commit).
    pub fn discard(&self, set: &ErasureSet) {
        for (p, s) in self.staged.iter().enumerate() {
            if let (Ok(s), Some(d)) = (s, set.drive(p)) {
                d.remove_staging(s);
            }
        }
    }
}

impl ErasureSet {
    pub fn put(
        &self,
        bucket: &str,
        key: &str,
        body: &mut dyn Read,
        opts: &PutOptions,
        placement: u64,
        check: BodyCheck<'_>,
    ) -> Result<ObjectInfo, EngineError> {
        let geo = self.geometry(opts.reduced_redundancy);
        let data_id = uuid::Uuid::new_v4().to_string();
        let staged = self.stage_part(body, &geo, placement, 1, &data_id, true)?;
        let result = self.commit_put(bucket, key, opts, placement, check, &geo, &data_id, &staged);
        // Committed drives moved their staging directory away; what is left belongs to a
        // failed write or to drives that did not commit.
        staged.discard(self);
        result
    }

    #[allow(clippy::too_many_arguments)] // one PutObject's worth of parameters
    fn commit_put(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
        placement: u64,
        check: BodyCheck<'_>,
        geo: &Geometry,
        data_id: &str,
        staged: &StagedPart,
    ) -> Result<ObjectInfo, EngineError> {
        let mut checksums = opts.checksums.clone();
        checksums.extend(verify_body(staged, opts.content_md5, check)?);
        let etag = hex(&staged.md5);
        let object = ObjectMeta {
            size: staged.size,
            etag: etag.clone(),
            mod_time_ns: now_ns(),
            content_type: opts.content_type.clone(),
            user_meta: opts.user_meta.clone(),
            tags: opts.tags.clone(),
            checksums: checksums.clone(),
            erasure: self.erasure_for(geo, placement),
            data_dir: staged.inline.is_none().then(|| data_id.to_string()),
            parts: vec![PartMeta {
                number: 1,
                size: staged.size,
                etag,
                checksums,
                data_id: data_id.to_string(),
            }],
            upload_id: None,
            reduced_redundancy: opts.reduced_redundancy,
        };
        let _guard = self.lock_key(bucket, key);
        let state = self.read_key(bucket, key);
        self.check_conditions(&state, bucket, key, &opts.conditions)?;
        let version = new_version(&state, Some(object));
        let proposal = Proposal {
            entries: entries_for(&version, staged),
            data: staged.staged.iter().map(|s| s.clone().ok()).collect(),
            quorum: geo.write_quorum(),
            version,
        };
        self.commit(bucket, key, &state, &proposal)?;
        Ok(ObjectInfo::from_version(bucket, key, &proposal.version))
    }

    /// Checks a write's conditions against the key's state (under its lock: atomic with the
    /// write that follows).
    pub fn check_conditions(
        &self,
        state: &KeyState,
        bucket: &str,
        key: &str,
        conditions: &super::Conditions,
    ) -> Result<(), EngineError> {
        if conditions.is_empty() {
            return Ok(());
        }
        let current = state.current(|| format!("{bucket}/{key}"))?;
        conditions.check(current.and_then(|v| v.object.as_ref()), bucket, key)
    }

    /// The erasure layout of a new object; the distribution rotates shard indices over the
    /// drives by the key's placement hash so that data shards spread over every drive.
    pub fn erasure_for(&self, geo: &Geometry, placement: u64) -> Erasure {
        let n = geo.drives();
        let start = ((placement >> 32) as usize) % n;
        Erasure {
            codec: self.codec_id,
            bitrot: self.bitrot,
            data: geo.data as u8,
            parity: geo.parity as u8,
            block_size: geo.block_size as u32,
            distribution: (0..n).map(|p| ((p + start) % n) as u8).collect(),
        }
    }

    /// The header of shard files this set writes.
    pub fn shard_header(&self) -> [u8; shard::HEADER_LEN] {
        shard::header(self.codec_id, self.bitrot as u8)
    }

    /// Reads a part from `body`, encodes it and stages every drive's shard (`part.<n>`, its
    /// hashes keyed by `data_id`). With `allow_inline`, a part whose shards fit the inline limit
    /// is kept in memory instead.
    pub fn stage_part(
        &self,
        body: &mut dyn Read,
        geo: &Geometry,
        placement: u64,
        part: u32,
        data_id: &str,
        allow_inline: bool,
    ) -> Result<StagedPart, EngineError> {
        let codec = self.codec(geo)?;
        let dist = self.erasure_for(geo, placement).distribution;
        let id = |p: usize| ShardId {
            data_id,
            part,
            index: dist[p],
            geo: *geo,
        };
        // A small first buffer: most objects are small, and zeroing a whole block (1 MiB)
        // for each of them showed up in profiles of 4 KiB PUTs.
        let mut block = vec![0u8; geo.block_size.min(FIRST_READ)];
        let mut first = read_full(body, &mut block).map_err(EngineError::Body)?;
        if first == block.len() && block.len() < geo.block_size {
            block.resize(geo.block_size, 0);
            first += read_full(body, &mut block[first..]).map_err(EngineError::Body)?;
        }

        if allow_inline
            && first < geo.block_size
            && geo.shard_file_size(first as u64) <= self.cfg.inline_limit as u64
        {
            let encoded = encode_block(&codec, geo, &block[..first]).map_err(EngineError::Codec)?;
            let inline = (0..geo.drives())
                .map(|p| {
                    let blocks: Vec<&[u8]> = if first == 0 {
                        Vec::new()
                    } else {
                        vec![encoded.shard(dist[p] as usize)]
                    };
                    shard::inline_shard(&id(p), self.shard_header(), &blocks)
                })
                .collect();
            return Ok(StagedPart {
                size: first as u64,
                md5: Md5::digest(&block[..first]).into(),
                staged: (0..geo.drives())
                    .map(|_| Err(super::drive::DriveError::NotFound))
                    .collect(),
                inline: Some(inline),
            });
        }

        let drives = self.all_drives();
        let header = self.shard_header();
        std::thread::scope(|s| {
            // MD5 (the S3 ETag) is serial per stream and the slowest hash on the path: it gets
            // its own stage, fed the encoded blocks (their data region is the block itself), so
            // it runs alongside reading, encoding and the writers; and concurrent uploads hash
            // their blocks together in SIMD lanes (`md5x`).
            let (md5_tx, md5_rx) = mpsc::sync_channel::<Arc<(EncodedBlock, usize)>>(PIPELINE_DEPTH);
            let md5_stage = s.spawn(move || {
                let mut md5 = crate::md5x::Md5::new();
                for job in md5_rx.iter() {
                    md5.update(job.0.data(job.1));
                }
                md5.finalize()
            });
            let mut senders = vec![md5_tx];
            let mut writers = Vec::new();
            for (p, drive) in drives.iter().enumerate() {
                let (tx, rx) = mpsc::sync_channel::<Arc<(EncodedBlock, usize)>>(PIPELINE_DEPTH);
                senders.push(tx);
                let shard_id = id(p);
                writers.push(drive.as_ref().map(|d| {
                    s.spawn(move || write_shards(d.as_ref(), part, &shard_id, header, rx))
                }));
            }
            let mut size = 0u64;
            let mut len = first;
            let mut failure = None;
            loop {
                if len > 0 {
                    match encode_block(&codec, geo, &block[..len]) {
                        Ok(encoded) => {
                            let job = Arc::new((encoded, len));
                            for tx in &senders {
                                let _ = tx.send(job.clone()); // a dead writer reports itself
                            }
                        }
                        Err(e) => {
                            failure = Some(EngineError::Codec(e));
                            break;
                        }
                    }
                    size += len as u64;
                }
                if len < geo.block_size {
                    break;
                }
                match read_full(body, &mut block) {
                    Ok(n) => len = n,
                    Err(e) => {
                        failure = Some(EngineError::Body(e));
                        break;
                    }
                }
            }
            drop(senders);
            let md5 = match md5_stage.join() {
                Ok(d) => d,
                Err(_) => {
                    failure.get_or_insert(EngineError::Codec("MD5 stage panicked".into()));
                    [0; 16]
                }
            };
            let staged = writers
                .into_iter()
                .map(|w| match w {
                    Some(h) => h.join().unwrap_or_else(|_| {
                        Err(super::drive::DriveError::Io("writer panicked".into()))
                    }),
                    None => Err(super::drive::DriveError::Offline),
                })
                .collect();
            let staged = StagedPart {
                size,
                md5,
                staged,
                inline: None,
            };
            match failure {
                Some(e) => {
                    staged.discard(self);
                    Err(e)
                }
                None => Ok(staged),
            }
        })
    }
}

/// A new version of the key: its stamp after every stamp the drives list (invariant 3 of
/// `set::commit`), even when the clock is behind.
pub fn new_version(state: &KeyState, object: Option<ObjectMeta>) -> Version {
    Version {
        id: uuid::Uuid::new_v4().to_string(),
        stamp: now_ns().max(state.newest_stamp() + 1),
        object,
    }
}

/// Each drive's entry of a new version from its staged shards.
fn entries_for(version: &Version, staged: &StagedPart) -> Vec<DriveResult<Entry>> {
    let dist = version
        .object
        .as_ref()
        .map(|o| o.erasure.distribution.clone())
        .unwrap_or_default();
    (0..staged.staged.len())
        .map(|p| {
            let entry = |inline| Entry {
                version: version.clone(),
                shard: dist.get(p).copied().unwrap_or(0),
                inline,
            };
            match (&staged.inline, &staged.staged[p]) {
                (Some(inline), _) => Ok(entry(Some(inline[p].clone()))),
                (None, Ok(_)) => Ok(entry(None)),
                (None, Err(e)) => Err(e.clone()),
            }
        })
        .collect()
}

/// One drive's writer: a staging directory with `part.<n>`, every block through the shard
/// writer. A failed drive stops writing but keeps draining so the encoder never blocks on it,
/// and removes its staging directory (the caller only learns the error).
fn write_shards(
    drive: &dyn Drive,
    part: u32,
    id: &ShardId<'_>,
    header: [u8; shard::HEADER_LEN],
    rx: mpsc::Receiver<Arc<(EncodedBlock, usize)>>,
) -> DriveResult<Staging> {
    let mut staging = None;
    let result = (|| {
        let s = drive.new_staging()?;
        staging = Some(s.clone());
        let sink: Box<dyn Sink> = drive.create_file(&s, &format!("part.{part}"))?;
        let mut w = ShardWriter::new(sink, id, header)?;
        for job in rx.iter() {
            w.write_block(job.0.shard(id.index as usize))?;
        }
        w.finish()?;
        Ok(s)
    })();
    if result.is_err() {
        for _ in rx.iter() {}
        if let Some(s) = staging {
            drive.remove_staging(&s);
        }
    }
    result
}

/// Fills `buf` from `r` unless the stream ends first; returns the bytes read.
pub fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

//! The write path: stream the body block by block, encode each block, and write every shard
//! with its bitrot hash to its own drive, all drives in parallel. Memory stays bounded by a few
//! blocks whatever the object size. Small objects go inline into the metadata.

use super::disk::Disk;
use super::geometry::{encode_block, EncodedBlock, Geometry, SHARD_HEADER_LEN};
use super::meta::{Erasure, ObjectMeta, PartMeta, META_FORMAT};
use super::set::{describe_failures, ErasureSet};
use super::{EngineError, ObjectInfo, PutOptions};
use crate::bitrot::BitrotAlgo;
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::PathBuf;
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

/// The shards of one part, written: per position, the staged directory holding `part.<n>`.
pub struct StagedPart {
    pub size: u64,
    pub md5: [u8; 16],
    /// Per position: the staging directory, or why that drive failed.
    pub staged: Vec<Result<PathBuf, String>>,
    /// Per position: the shard file bytes, when the part is small enough to inline.
    pub inline: Option<Vec<Vec<u8>>>,
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
        let staged = self.stage_part(body, &geo, placement, 1, true)?;
        let checksums = match verify_body(&staged, opts.content_md5, check) {
            Ok(c) => c,
            Err(e) => {
                discard(&staged);
                return Err(e);
            }
        };
        let mut all_checksums = opts.checksums.clone();
        all_checksums.extend(checksums);
        let etag = hex(&staged.md5);
        let data_dir = staged
            .inline
            .is_none()
            .then(|| uuid::Uuid::new_v4().to_string());
        let meta = ObjectMeta {
            format: META_FORMAT,
            version_id: uuid::Uuid::new_v4().to_string(),
            mod_time_ns: now_ns(),
            size: staged.size,
            etag: etag.clone(),
            content_type: opts.content_type.clone(),
            user_meta: opts.user_meta.clone(),
            tags: opts.tags.clone(),
            checksums: all_checksums.clone(),
            erasure: self.erasure_for(&geo, placement),
            data_dir,
            parts: vec![PartMeta {
                number: 1,
                size: staged.size,
                etag,
                checksums: all_checksums,
            }],
            inline: None,
        };
        self.commit_staged(bucket, key, &meta, &geo, &staged)?;
        Ok(ObjectInfo::from_meta(bucket, key, &meta))
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
            index: 0,
            distribution: (0..n).map(|p| ((p + start) % n) as u8).collect(),
        }
    }

    /// Commits a staged single-part object: each drive gets its own metadata copy (its shard
    /// index, and inline bytes when small) and its staged data directory.
    pub fn commit_staged(
        &self,
        bucket: &str,
        key: &str,
        meta: &ObjectMeta,
        geo: &Geometry,
        staged: &StagedPart,
    ) -> Result<(), EngineError> {
        let versions: Vec<_> = (0..geo.drives())
            .map(|p| {
                let index = meta.erasure.distribution[p];
                match (&staged.inline, &staged.staged[p]) {
                    (Some(inline), _) => {
                        Some((meta.for_index(index, Some(inline[p].clone())), None))
                    }
                    (None, Ok(dir)) => Some((meta.for_index(index, None), Some(dir.clone()))),
                    (None, Err(_)) => None,
                }
            })
            .collect();
        let ok = versions.iter().filter(|v| v.is_some()).count();
        if ok < geo.write_quorum() {
            discard(staged);
            return Err(EngineError::WriteQuorum {
                ok,
                needed: geo.write_quorum(),
                failures: describe_failures(&staged.staged, &self.drive_ids),
            });
        }
        let result = self.commit(bucket, key, &versions, geo.write_quorum());
        // Committed drives renamed their staging directory away; the ones still there belong
        // to drives whose commit failed (e.g. full), also when the write as a whole succeeded.
        discard(staged);
        result
    }

    /// Reads a part from `body`, encodes it and stages every drive's shard file. With
    /// `allow_inline`, a part whose shard files fit the inline limit is kept in memory.
    pub fn stage_part(
        &self,
        body: &mut dyn Read,
        geo: &Geometry,
        placement: u64,
        part: u32,
        allow_inline: bool,
    ) -> Result<StagedPart, EngineError> {
        let codec = self.codec(geo)?;
        let dist = self.erasure_for(geo, placement).distribution;
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
                    shard_record(
                        self.header(),
                        self.bitrot,
                        &encoded,
                        first,
                        dist[p] as usize,
                    )
                })
                .collect();
            return Ok(StagedPart {
                size: first as u64,
                md5: Md5::digest(&block[..first]).into(),
                staged: (0..geo.drives())
                    .map(|_| Err("inline".to_string()))
                    .collect(),
                inline: Some(inline),
            });
        }

        let disks: Vec<Option<Disk>> = (0..geo.drives()).map(|p| self.disk(p)).collect();
        let bitrot = self.bitrot;
        let header = self.header();
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
            for (p, disk) in disks.iter().enumerate() {
                let (tx, rx) = mpsc::sync_channel::<Arc<(EncodedBlock, usize)>>(PIPELINE_DEPTH);
                senders.push(tx);
                let index = dist[p] as usize;
                writers
                    .push(disk.as_ref().map(|d| {
                        s.spawn(move || write_shards(d, part, index, header, bitrot, rx))
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
            let staged: Vec<Result<PathBuf, String>> = writers
                .into_iter()
                .zip(&disks)
                .map(|(w, d)| match (w, d) {
                    (Some(h), Some(d)) => h
                        .join()
                        .unwrap_or_else(|_| Err(io::Error::other("writer panicked")))
                        .map_err(|e| format!("{}: {e}", d.root().display())),
                    _ => Err("drive offline".to_string()),
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
                    discard(&staged);
                    Err(e)
                }
                None => Ok(staged),
            }
        })
    }
}

/// Bytes read before deciding between an inline object and a streamed one.
const FIRST_READ: usize = 64 * 1024;

/// One drive's writer: a staging directory with `part.<n>`, every block as hash + shard,
/// made durable at the end (a barrier of the drive). A failed drive stops writing but keeps draining so the encoder never
/// blocks on it, and removes its staging directory (the caller only learns the error).
fn write_shards(
    disk: &Disk,
    part: u32,
    index: usize,
    header: [u8; SHARD_HEADER_LEN],
    bitrot: BitrotAlgo,
    rx: mpsc::Receiver<Arc<(EncodedBlock, usize)>>,
) -> io::Result<PathBuf> {
    let mut staging = None;
    let result = (|| {
        let dir = disk.new_temp()?;
        staging = Some(dir.clone());
        let mut file = io::BufWriter::with_capacity(
            256 * 1024,
            Disk::create_file(&dir.join(format!("part.{part}")))?,
        );
        file.write_all(&header)?;
        for job in rx.iter() {
            let shard = job.0.shard(index);
            file.write_all(&bitrot.hash(shard))?;
            file.write_all(shard)?;
        }
        let file: File = file.into_inner().map_err(|e| e.into_error())?;
        drop(file);
        // The shard data and its staging directory, durable before the commit renames them.
        disk.barrier()?;
        Ok(dir)
    })();
    if result.is_err() {
        for _ in rx.iter() {}
        if let Some(dir) = staging {
            let _ = fs::remove_dir_all(dir);
        }
    }
    result
}

/// Header, hash and shard bytes: the inline shard "file" of a one-block object.
fn shard_record(
    header: [u8; SHARD_HEADER_LEN],
    bitrot: BitrotAlgo,
    encoded: &EncodedBlock,
    len: usize,
    index: usize,
) -> Vec<u8> {
    let mut out = header.to_vec();
    if len == 0 {
        return out;
    }
    let shard = encoded.shard(index);
    out.reserve(shard.len() + crate::bitrot::HASH_LEN);
    out.extend_from_slice(&bitrot.hash(shard));
    out.extend_from_slice(shard);
    out
}

/// Removes staging directories of a write that will not be committed.
pub fn discard(staged: &StagedPart) {
    for dir in staged.staged.iter().flatten() {
        let _ = fs::remove_dir_all(dir);
    }
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

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

//! The read path: take the version a read quorum agrees on, read k shards of each block
//! (data shards first), verify every block's hash, and rebuild missing or corrupt shards on the
//! fly. A range read touches only the blocks it needs. Damage seen on the way queues a heal.

use super::disk::Disk;
use super::geometry::{shard_header, Geometry, SHARD_HEADER_LEN};
use super::meta::ObjectMeta;
use super::set::{ErasureSet, Quorum};
use super::{EngineError, ObjectInfo};
use crate::bitrot::{BitrotAlgo, HASH_LEN};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// Shards smaller than this are read one after another: a thread costs more than the read.
const PARALLEL_READ_MIN: usize = 64 * 1024;

/// Where one shard index can be read from.
struct Source {
    disk: Disk,
    inline: Option<Vec<u8>>,
    /// The open shard file of the current part.
    file: Option<(u32, File)>,
    /// Failed once: not used again by this reader.
    bad: bool,
}

/// A streaming reader over one object version (or a range of it).
pub struct ObjectReader {
    set: Arc<ErasureSet>,
    bucket: String,
    key: String,
    meta: ObjectMeta,
    info: ObjectInfo,
    /// By shard index.
    sources: Vec<Option<Source>>,
    pos: u64,
    end: u64,
    heal_queued: bool,
}

impl ErasureSet {
    /// Opens the object for reading `range` (start, length) or all of it.
    ///
    /// Without the key lock first, so that readers never wait for a writer's fsyncs. A read
    /// that meets a commit or delete of the key half-way — no version on a read quorum yet
    /// (mid-commit, when data shards outnumber parity), or files of the version it picked
    /// removed before it opened them (by the commit or delete that followed) — tries once more
    /// holding the key lock, under which no commit or delete is half-done. Once open, a
    /// file stays readable whatever later commits and deletes unlink.
    pub fn open_reader(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ObjectReader, EngineError> {
        match self.open_version(bucket, key, range) {
            Ok((reader, true)) => return Ok(reader),
            Ok((_, false)) | Err(EngineError::ReadQuorum { .. }) => {}
            Err(e) => return Err(e),
        }
        let _guard = self.lock_key(bucket, key);
        self.open_version(bucket, key, range)
            .map(|(reader, _)| reader)
    }

    /// Picks the version and opens the shard files of the first part read; says whether every
    /// drive holding the version had them.
    fn open_version(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(ObjectReader, bool), EngineError> {
        let q = self
            .quorum_meta(bucket, key)?
            .ok_or_else(|| EngineError::no_such_key(bucket, key))?;
        let size = q.meta.size;
        let (start, end) = match range {
            None => (0, size),
            Some((start, len)) if start < size && len > 0 => (start, start + len.min(size - start)),
            Some((start, len)) => {
                return Err(EngineError::InvalidRange {
                    start,
                    end: start.saturating_add(len),
                    size,
                })
            }
        };
        let mut reader = ObjectReader {
            set: self.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            info: ObjectInfo::from_meta(bucket, key, &q.meta),
            sources: self.sources(&q),
            meta: q.meta.clone(),
            pos: start,
            end,
            heal_queued: false,
        };
        // Every source's file (all n, so that a degraded read can still turn to parity).
        // Later parts of multipart objects are opened when reached.
        let (part_idx, _) = reader.part_at(start);
        if let Some(number) = reader.meta.parts.get(part_idx).map(|p| p.number) {
            let all: Vec<usize> = (0..reader.sources.len()).collect();
            reader.open_files(&all, number);
        }
        let complete = reader
            .sources
            .iter()
            .flatten()
            .all(|s| s.inline.is_some() || s.file.is_some());
        if q.degraded() {
            reader.queue_heal();
        }
        Ok((reader, complete))
    }

    fn sources(&self, q: &Quorum) -> Vec<Option<Source>> {
        let n = q.meta.erasure.distribution.len();
        let mut sources: Vec<Option<Source>> = (0..n).map(|_| None).collect();
        for (p, agree) in q.agree.iter().enumerate() {
            let (true, Some(disk), Ok(Some(m))) = (*agree, self.disk(p), &q.metas[p]) else {
                continue;
            };
            let index = m.erasure.index as usize;
            if index < n && sources[index].is_none() {
                sources[index] = Some(Source {
                    disk,
                    inline: m.inline.clone(),
                    file: None,
                    bad: false,
                });
            }
        }
        sources
    }
}

impl ObjectReader {
    pub fn info(&self) -> &ObjectInfo {
        &self.info
    }

    /// Narrows the reader to `len` bytes from `start` (resolved by the caller once it knows
    /// the object's size, e.g. from an HTTP Range header).
    pub fn restrict(&mut self, start: u64, len: u64) -> Result<(), EngineError> {
        let size = self.meta.size;
        if start >= size || len == 0 {
            return Err(EngineError::InvalidRange {
                start,
                end: start.saturating_add(len),
                size,
            });
        }
        self.pos = start;
        self.end = start + len.min(size - start);
        Ok(())
    }

    /// Bytes this reader will return in all.
    pub fn len(&self) -> u64 {
        self.end - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next piece of the object (at most one block), `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, EngineError> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let (part_idx, part_start) = self.part_at(self.pos);
        let part_size = self.meta.parts[part_idx].size;
        let geo = self.geometry();
        let in_part = self.pos - part_start;
        let block = in_part / geo.block_size as u64;
        let block_start = block * geo.block_size as u64;
        let data = self.read_block(part_idx, block)?;
        let from = (in_part - block_start) as usize;
        let to = ((self.end - part_start).min(part_size) - block_start) as usize;
        let chunk = if from == 0 && to == data.len() {
            data
        } else {
            data[from..to.min(data.len())].to_vec()
        };
        self.pos += chunk.len() as u64;
        Ok(Some(chunk))
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            data: self.meta.erasure.data as usize,
            parity: self.meta.erasure.parity as usize,
            block_size: self.meta.erasure.block_size as usize,
        }
    }

    /// The part holding byte `pos`, and where that part starts in the object.
    fn part_at(&self, pos: u64) -> (usize, u64) {
        let mut start = 0;
        for (i, p) in self.meta.parts.iter().enumerate() {
            if pos < start + p.size {
                return (i, start);
            }
            start += p.size;
        }
        (self.meta.parts.len().saturating_sub(1), start)
    }

    /// One block of a part, verified, rebuilt from parity when data shards are bad.
    fn read_block(&mut self, part_idx: usize, block: u64) -> Result<Vec<u8>, EngineError> {
        let geo = self.geometry();
        let part = self.meta.parts[part_idx].clone();
        let block_len = geo.block_len(part.size, block);
        let shard_len = geo.shard_len(block_len);
        let offset = geo.shard_offset(block);
        let n = geo.drives();
        let mut shards: Vec<Option<Vec<u8>>> = (0..n).map(|_| None).collect();
        // Shard indices are tried in order, data first, then parity. Sources that failed on an
        // earlier block come last: damage is often local (a flipped bit, a truncated tail), so
        // such a drive may still hold this block intact when the others cannot make up k.
        let mut tried = vec![false; n];
        loop {
            let have = shards.iter().filter(|s| s.is_some()).count();
            if have >= geo.data {
                break;
            }
            let untried = |i: &usize, bad: bool| {
                !tried[*i] && self.sources[*i].as_ref().is_some_and(|s| s.bad == bad)
            };
            let mut want: Vec<usize> = (0..n)
                .filter(|i| untried(i, false))
                .take(geo.data - have)
                .collect();
            if want.is_empty() {
                want = (0..n)
                    .filter(|i| untried(i, true))
                    .take(geo.data - have)
                    .collect();
            }
            if want.is_empty() {
                return Err(EngineError::ReadQuorum {
                    what: format!(
                        "{}/{} part {} block {block}",
                        self.bucket, self.key, part.number
                    ),
                    detail: format!("only {have} of {} shards readable and intact", geo.data),
                });
            }
            for &i in &want {
                tried[i] = true;
            }
            let results = self.read_shards(&want, part.number, offset, shard_len);
            for (i, r) in want.into_iter().zip(results) {
                match r {
                    Some(bytes) => shards[i] = Some(bytes),
                    None => {
                        if let Some(s) = self.sources[i].as_mut() {
                            s.bad = true;
                        }
                        self.queue_heal();
                    }
                }
            }
            if self.sources.iter().any(Option::is_none) {
                self.queue_heal();
            }
        }
        self.assemble(&geo, shards, shard_len, block_len)
    }

    /// Reads and verifies shards `want` of a block; `None` for each that is missing or corrupt.
    fn read_shards(
        &mut self,
        want: &[usize],
        part: u32,
        offset: u64,
        shard_len: usize,
    ) -> Vec<Option<Vec<u8>>> {
        let bitrot = self.meta.erasure.bitrot;
        self.open_files(want, part);
        let read_one = |s: &Source| read_verified(s, offset, shard_len, bitrot);
        let chosen: Vec<&Source> = want
            .iter()
            .filter_map(|i| self.sources[*i].as_ref())
            .collect();
        if chosen.len() > 1 && shard_len >= PARALLEL_READ_MIN {
            std::thread::scope(|sc| {
                let handles: Vec<_> = chosen
                    .iter()
                    .map(|s| sc.spawn(move || read_one(s)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or(None))
                    .collect()
            })
        } else {
            chosen.iter().map(|s| read_one(s)).collect()
        }
    }

    /// Opens the shard files of `part` for sources `want` (unless open already).
    /// Opens the shard files of `part` for the wanted sources; a file whose header does not
    /// name the object's algorithms counts as missing.
    fn open_files(&mut self, want: &[usize], part: u32) {
        let data_dir = self.meta.data_dir.clone();
        let header = shard_header(self.meta.erasure.codec, self.meta.erasure.bitrot as u8);
        let (bucket, key) = (&self.bucket, &self.key);
        for &i in want {
            if let Some(s) = self.sources[i].as_mut() {
                if s.inline.is_none() && s.file.as_ref().is_none_or(|(p, _)| *p != part) {
                    s.file = data_dir
                        .as_deref()
                        .and_then(|d| File::open(s.disk.part_path(bucket, key, d, part)).ok())
                        .filter(|f| {
                            let mut h = [0u8; SHARD_HEADER_LEN];
                            f.read_exact_at(&mut h, 0).is_ok() && h == header
                        })
                        .map(|f| (part, f));
                } else if s.inline.as_ref().is_some_and(|b| !b.starts_with(&header)) {
                    s.inline = None; // unreadable: no file either, so this source fails
                }
            }
        }
    }

    fn assemble(
        &self,
        geo: &Geometry,
        mut shards: Vec<Option<Vec<u8>>>,
        shard_len: usize,
        block_len: usize,
    ) -> Result<Vec<u8>, EngineError> {
        if shards[..geo.data].iter().any(Option::is_none) {
            let present: Vec<bool> = shards.iter().map(Option::is_some).collect();
            let mut bufs: Vec<Vec<u8>> = shards
                .iter_mut()
                .map(|s| s.take().unwrap_or_else(|| vec![0u8; shard_len]))
                .collect();
            let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
            self.set
                .codec(geo)?
                .reconstruct(&mut refs, &present, false)
                .map_err(|e| EngineError::Codec(e.to_string()))?;
            shards = bufs.into_iter().map(Some).collect();
        }
        let mut out = Vec::with_capacity(block_len);
        for s in shards.iter().take(geo.data).flatten() {
            let take = (block_len - out.len()).min(s.len());
            out.extend_from_slice(&s[..take]);
        }
        Ok(out)
    }

    fn queue_heal(&mut self) {
        if !self.heal_queued {
            self.heal_queued = true;
            self.set.queue_heal(&self.bucket, &self.key);
        }
    }
}

/// Reads hash + shard at `offset` from a source and checks the hash.
fn read_verified(s: &Source, offset: u64, shard_len: usize, bitrot: BitrotAlgo) -> Option<Vec<u8>> {
    let mut rec = vec![0u8; HASH_LEN + shard_len];
    match (&s.inline, &s.file) {
        (Some(bytes), _) => {
            let start = offset as usize;
            rec.copy_from_slice(bytes.get(start..start + HASH_LEN + shard_len)?);
        }
        (None, Some((_, f))) => f.read_exact_at(&mut rec, offset).ok()?,
        (None, None) => return None,
    }
    let (hash, shard) = rec.split_at(HASH_LEN);
    if !bitrot.verify(shard, hash) {
        tracing::warn!(drive = %s.disk.root().display(), offset, "bitrot hash mismatch");
        return None;
    }
    rec.drain(..HASH_LEN);
    Some(rec)
}

impl std::io::Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Simple adapter for tests and tools; the server streams `next_chunk` directly.
        if buf.is_empty() || self.pos >= self.end {
            return Ok(0);
        }
        let saved_end = self.end;
        self.end = self.end.min(self.pos + buf.len() as u64);
        let r = self.next_chunk();
        self.end = saved_end;
        match r {
            Ok(Some(chunk)) => {
                buf[..chunk.len()].copy_from_slice(&chunk);
                Ok(chunk.len())
            }
            Ok(None) => Ok(0),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

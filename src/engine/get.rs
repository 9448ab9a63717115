//! The read path: take the key's state (`set::resolve`), hold the version's data on each drive
//! that lists it, read k shards of each block (data shards first) through the shard format's
//! reader, which checks every block's hash against the shard's identity, and rebuild missing or
//! bad shards on the fly. A range read touches only the blocks it needs. Damage met on the way
//! queues a heal.
//!
//! A reader reads one version from start to end: it holds that version's data directories
//! (`Drive::open_data`) for its whole life, so a commit or delete that replaces the version
//! meanwhile defers removing them until the reader is done.

use super::drive::{DataReader, DriveError, ReadAt};
use super::fanout::{fan_out_all, Call};
use super::geometry::Geometry;
use super::meta::{ObjectMeta, Version};
use super::set::resolve::Resolution;
use super::set::{ErasureSet, Handle, KeyState};
use super::shard::{BlockError, ShardId, ShardReader};
use super::{EngineError, ObjectInfo};
use std::sync::Arc;

/// Times a reader re-reads the key's state when a version's data vanished under it (replaced
/// meanwhile) before taking the key's lock.
const OPEN_ATTEMPTS: usize = 3;

/// Where one shard index can be read from. Its files are read only on its drive's workers.
struct Source {
    drive: Handle,
    inline: Option<Vec<u8>>,
    /// The version's data directory, held (none when inline).
    data: Option<Arc<dyn DataReader>>,
    /// The current part's shard, opened.
    opened: Option<Opened>,
    /// Failed once: tried last from then on.
    bad: bool,
}

/// The shard of one part of a source: its file (none when inline) and its checker.
struct Opened {
    part: u32,
    file: Option<Arc<dyn ReadAt>>,
    reader: Arc<ShardReader>,
}

/// A streaming reader over one object version (or a range of it).
pub struct ObjectReader {
    set: Arc<ErasureSet>,
    bucket: String,
    key: String,
    object: ObjectMeta,
    info: ObjectInfo,
    /// By shard index.
    sources: Vec<Option<Source>>,
    pos: u64,
    end: u64,
    /// A heal this read found needed (deep: a shard failed its check), queued when the
    /// reader is done so that one read queues one heal.
    heal: Option<bool>,
}

impl ErasureSet {
    /// Opens the key's current version for reading `range` (start, length) or all of it.
    pub fn open_reader(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ObjectReader, EngineError> {
        for _ in 0..OPEN_ATTEMPTS {
            let state = self.read_state(bucket, key);
            let (reader, vanished) = self.open_state(bucket, key, &state, range)?;
            if vanished == 0 {
                return Ok(reader);
            }
        }
        // A version replaced under every attempt: once more under the key's lock, where no
        // commit is half-done.
        let _guard = self.lock_key(bucket, key);
        let state = self.read_key(bucket, key);
        Ok(self.open_state(bucket, key, &state, range)?.0)
    }

    /// The key's state as object info (`NoSuchKey` when absent or deleted).
    pub fn head(&self, bucket: &str, key: &str) -> Result<ObjectInfo, EngineError> {
        let state = self.read_state(bucket, key);
        let v = current_object(&state, bucket, key)?;
        if state.needs_heal() {
            self.queue_heal(bucket, key, false);
        }
        Ok(ObjectInfo::from_version(bucket, key, v))
    }

    /// A reader of the state's version, and how many drives listing it no longer had its data.
    fn open_state(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        state: &KeyState,
        range: Option<(u64, u64)>,
    ) -> Result<(ObjectReader, usize), EngineError> {
        let v = current_object(state, bucket, key)?;
        let Some(object) = v.object.clone() else {
            return Err(EngineError::no_such_key(bucket, key));
        };
        let size = object.size;
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
        let (sources, vanished) = self.sources(bucket, key, state, v, &object);
        let mut reader = ObjectReader {
            set: self.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            info: ObjectInfo::from_version(bucket, key, v),
            object,
            sources,
            pos: start,
            end,
            heal: None,
        };
        if state.needs_heal() || vanished > 0 {
            reader.queue_heal(vanished > 0);
        }
        Ok((reader, vanished))
    }

    /// The drives listing `v`, by shard index, each holding the version's data directory
    /// (opened on every drive at once, under the deadline).
    fn sources(
        &self,
        bucket: &str,
        key: &str,
        state: &KeyState,
        v: &Version,
        object: &ObjectMeta,
    ) -> (Vec<Option<Source>>, usize) {
        let n = object.erasure.distribution.len();
        let mut found: Vec<Option<(Handle, Option<Vec<u8>>)>> = (0..n).map(|_| None).collect();
        let mut calls = Vec::new();
        let mut indices = Vec::new();
        for (p, answer) in state.answers.iter().enumerate() {
            let (Ok(Some(f)), Some(drive)) = (answer, self.handle(p)) else {
                continue;
            };
            let Some(entry) = f.entry(v) else { continue };
            let index = entry.shard as usize;
            if index >= n || found[index].is_some() {
                continue;
            }
            match (&entry.inline, &object.data_dir) {
                (Some(_), _) => {}
                (None, Some(dir)) => {
                    let (b, k, dir, d) = (
                        bucket.to_string(),
                        key.to_string(),
                        dir.clone(),
                        drive.drive.clone(),
                    );
                    calls.push(Some(Call::new(drive.worker.clone(), move || {
                        d.open_data(&b, &k, &dir).map(Arc::<dyn DataReader>::from)
                    })));
                    indices.push(index);
                }
                (None, None) => continue,
            }
            found[index] = Some((drive, entry.inline.clone()));
        }
        let mut data: Vec<Option<Result<Arc<dyn DataReader>, DriveError>>> =
            (0..n).map(|_| None).collect();
        for (index, r) in indices
            .into_iter()
            .zip(fan_out_all(calls, self.cfg.drive_timeout))
        {
            data[index] = Some(r);
        }
        let mut vanished = 0;
        let sources = found
            .into_iter()
            .zip(data)
            .map(|(f, data)| {
                let (drive, inline) = f?;
                let data = match data {
                    None => None,
                    Some(Ok(d)) => Some(d),
                    Some(Err(e)) => {
                        vanished += usize::from(e == DriveError::NotFound);
                        return None;
                    }
                };
                Some(Source {
                    drive,
                    inline,
                    data,
                    opened: None,
                    bad: false,
                })
            })
            .collect();
        (sources, vanished)
    }
}

/// The state's object version, or the error a reader gets.
fn current_object<'a>(
    state: &'a KeyState,
    bucket: &str,
    key: &str,
) -> Result<&'a Version, EngineError> {
    match &state.resolution {
        Resolution::Version(v) if !v.is_deletion() => Ok(v),
        Resolution::Version(_) | Resolution::Absent => Err(EngineError::no_such_key(bucket, key)),
        Resolution::Undecided { detail, .. } => Err(EngineError::ReadQuorum {
            what: format!("{bucket}/{key}"),
            detail: detail.clone(),
        }),
    }
}

impl ObjectReader {
    pub fn info(&self) -> &ObjectInfo {
        &self.info
    }

    /// Narrows the reader to `len` bytes from `start` (resolved by the caller once it knows
    /// the object's size, e.g. from an HTTP Range header).
    pub fn restrict(&mut self, start: u64, len: u64) -> Result<(), EngineError> {
        let size = self.object.size;
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

    /// Whether every byte asked for has been read (`next_chunk` would answer `None`).
    pub fn is_done(&self) -> bool {
        self.pos >= self.end
    }

    /// The next piece of the object (at most one block), `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, EngineError> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let (part_idx, part_start) = self.part_at(self.pos);
        let part_size = self.object.parts[part_idx].size;
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
        self.object.erasure.geometry()
    }

    /// The part holding byte `pos`, and where that part starts in the object.
    fn part_at(&self, pos: u64) -> (usize, u64) {
        let mut start = 0;
        for (i, p) in self.object.parts.iter().enumerate() {
            if pos < start + p.size {
                return (i, start);
            }
            start += p.size;
        }
        (self.object.parts.len().saturating_sub(1), start)
    }

    /// One block of a part, checked, rebuilt from parity when data shards are bad.
    fn read_block(&mut self, part_idx: usize, block: u64) -> Result<Vec<u8>, EngineError> {
        let geo = self.geometry();
        let part_number = self.object.parts[part_idx].number;
        let part_size = self.object.parts[part_idx].size;
        let block_len = geo.block_len(part_size, block);
        let shard_len = geo.shard_len(block_len);
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
                self.queue_heal(true);
                return Err(EngineError::ReadQuorum {
                    what: format!(
                        "{}/{} part {part_number} block {block}",
                        self.bucket, self.key
                    ),
                    detail: format!("only {have} of {} shards readable and intact", geo.data),
                });
            }
            for &i in &want {
                tried[i] = true;
            }
            let results = self.read_shards(&want, part_idx, block);
            for (i, r) in want.into_iter().zip(results) {
                match r {
                    Ok(bytes) => shards[i] = Some(bytes),
                    Err(e) => {
                        if let Some(s) = self.sources[i].as_mut() {
                            tracing::warn!(
                                drive = %s.drive.drive.label(), bucket = %self.bucket, key = %self.key,
                                part = part_number, block, error = ?e, "shard unreadable"
                            );
                            s.bad = true;
                        }
                        self.queue_heal(true);
                    }
                }
            }
            if self.sources.iter().any(Option::is_none) {
                self.queue_heal(false);
            }
        }
        self.assemble(&geo, shards, shard_len, block_len)
    }

    /// Reads and checks shards `want` of a block, each on its drive's workers at once.
    fn read_shards(
        &mut self,
        want: &[usize],
        part_idx: usize,
        block: u64,
    ) -> Vec<Result<Vec<u8>, BlockError>> {
        self.open_part(want, part_idx);
        let part_size = self.object.parts[part_idx].size;
        let mut out: Vec<Option<Result<Vec<u8>, BlockError>>> = want.iter().map(|_| None).collect();
        let (mut calls, mut slots) = (Vec::new(), Vec::new());
        for (j, i) in want.iter().enumerate() {
            let Some(s) = self.sources[*i].as_ref() else {
                continue;
            };
            match (&s.inline, &s.opened) {
                (Some(bytes), Some(o)) => {
                    out[j] = Some(o.reader.read_block(bytes, part_size, block))
                }
                (
                    None,
                    Some(Opened {
                        file: Some(f),
                        reader,
                        ..
                    }),
                ) => {
                    let (f, reader) = (f.clone(), reader.clone());
                    calls.push(Some(Call::new(s.drive.worker.clone(), move || {
                        Ok(reader.read_block(f.as_ref(), part_size, block))
                    })));
                    slots.push(j);
                }
                _ => {}
            }
        }
        for (j, r) in slots
            .into_iter()
            .zip(fan_out_all(calls, self.set.cfg.drive_timeout))
        {
            out[j] = Some(r.unwrap_or_else(|e| Err(BlockError::Unreadable(e.to_string()))));
        }
        out.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(BlockError::Unreadable("no shard".into()))))
            .collect()
    }

    /// Opens the shard of part `part_idx` for the wanted sources (unless open already), on
    /// their drives' workers at once; a shard whose header does not name the version's
    /// algorithms counts as missing.
    fn open_part(&mut self, want: &[usize], part_idx: usize) {
        let part = &self.object.parts[part_idx];
        let geo = self.geometry();
        let header =
            super::shard::header(self.object.erasure.codec, self.object.erasure.bitrot as u8);
        let (mut calls, mut opening) = (Vec::new(), Vec::new());
        for &i in want {
            let Some(s) = self.sources[i].as_mut() else {
                continue;
            };
            if s.opened.as_ref().is_some_and(|o| o.part == part.number) {
                continue;
            }
            let reader = Arc::new(ShardReader::new(
                &ShardId {
                    data_id: &part.data_id,
                    part: part.number,
                    index: i as u8,
                    geo,
                },
                header,
            ));
            s.opened = None;
            match (&s.inline, &s.data) {
                (Some(bytes), _) => {
                    if reader.check_header(bytes).is_ok() {
                        s.opened = Some(Opened {
                            part: part.number,
                            file: None,
                            reader,
                        });
                    }
                }
                (None, Some(data)) => {
                    let (data, r, number) = (data.clone(), reader.clone(), part.number);
                    calls.push(Some(Call::new(s.drive.worker.clone(), move || {
                        let f = Arc::<dyn ReadAt>::from(data.open_part(number)?);
                        r.check_header(f.as_ref())?;
                        Ok(f)
                    })));
                    opening.push((i, reader));
                }
                (None, None) => {}
            }
        }
        let number = part.number;
        for ((i, reader), r) in opening
            .into_iter()
            .zip(fan_out_all(calls, self.set.cfg.drive_timeout))
        {
            if let (Ok(file), Some(s)) = (r, self.sources[i].as_mut()) {
                s.opened = Some(Opened {
                    part: number,
                    file: Some(file),
                    reader,
                });
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

    fn queue_heal(&mut self, deep: bool) {
        self.heal = Some(deep || self.heal == Some(true));
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        // Letting go of a data directory may remove a replaced version's files: on the drive's
        // workers, waited for at most the deadline (the files are gone when the read is done).
        for s in self.sources.iter_mut().flatten() {
            let (data, opened) = (s.data.take(), s.opened.take());
            if data.is_some() || opened.is_some() {
                let h = &s.drive;
                h.worker.clean_up(h.timeout, move || drop((data, opened)));
            }
        }
        if let Some(deep) = self.heal {
            self.set.queue_heal(&self.bucket, &self.key, deep);
        }
    }
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

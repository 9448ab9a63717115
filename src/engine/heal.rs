//! Healing one key: make every drive of its set hold exactly the key's state, as `resolve`
//! decides it from all drives (under the key's lock, like a commit):
//! - an object version: drives that lack it, or whose shards are missing, damaged or another
//!   drive's, get it rebuilt from k intact shards — byte-identical to what a fresh write would
//!   have stored — and every drive is left listing it alone (rolled forward);
//! - a deletion: drives still listing anything get the deletion; once every drive has it (or
//!   nothing), the key's metadata is removed everywhere;
//! - absent: versions that were never acknowledged are removed (rolled back);
//! - undecided: nothing can be done until the silent drives answer.
//!
//! Then each drive's leftovers of the key (unreferenced data, half-written metadata) go.

use super::drive::{DataMove, Drive, DriveError, Staging};
use super::meta::{Entry, MetaFile, ObjectMeta, Version};
use super::set::resolve::Resolution;
use super::set::{ErasureSet, KeyState};
use super::shard::{self, BlockError, ShardId, ShardReader, ShardWriter};
use super::EngineError;
use std::sync::Arc;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct HealResult {
    /// Positions (drives of the set) whose copy was rewritten.
    pub healed: Vec<usize>,
    /// Drives on which versions that lost (never acknowledged, or deleted) were removed.
    pub removed: usize,
    /// Leftover files and directories of interrupted writes removed.
    pub swept: usize,
    /// Shard bytes read to check and rebuild (what pacing counts).
    pub read: u64,
    /// Positions that needed healing and could not be healed (a write failed, the drive left,
    /// or the key's state is unknown).
    pub incomplete: Vec<usize>,
}

impl HealResult {
    pub fn changed(&self) -> bool {
        !self.healed.is_empty() || self.removed > 0 || self.swept > 0
    }
}

impl ErasureSet {
    /// Heals a key (`deep`: read every block of every shard, parity included, to find damage;
    /// otherwise shards are checked by header and length).
    pub fn heal_object(
        &self,
        bucket: &str,
        key: &str,
        deep: bool,
    ) -> Result<HealResult, EngineError> {
        let _guard = self.lock_key(bucket, key);
        let state = self.read_key(bucket, key);
        for v in state.lost() {
            tracing::error!(bucket, key, version = %v.id,
                "a version that may have been acknowledged is held by too few drives to be \
                 read since drives were replaced: skipped");
        }
        let mut result = match &state.resolution {
            Resolution::Undecided { detail, .. } => {
                return Err(EngineError::ReadQuorum {
                    what: format!("{bucket}/{key}"),
                    detail: detail.clone(),
                })
            }
            Resolution::Absent => self.roll_back_all(bucket, key, &state),
            Resolution::Version(v) if v.is_deletion() => self.heal_deletion(bucket, key, &state, v),
            Resolution::Version(v) => self.heal_version(bucket, key, &state, v, deep)?,
        };
        let (b, k) = (bucket.to_string(), key.to_string());
        for r in self.on_drives(move |_, d| d.sweep_key(&b, &k)) {
            result.swept += r.unwrap_or(0);
        }
        if result.changed() {
            tracing::info!(bucket, key, healed = ?result.healed, removed = result.removed,
                swept = result.swept, "healed");
        }
        Ok(result)
    }

    /// Removes every version listed (none of them can ever be the state) and unreadable
    /// copies — only once every drive answered: a version is rolled back on what all drives
    /// say, never on what some could not.
    fn roll_back_all(&self, bucket: &str, key: &str, state: &KeyState) -> HealResult {
        let mut result = HealResult::default();
        if !state.all_answered() {
            result.incomplete = (0..self.drive_count())
                .filter(|p| !matches!(state.answers[*p], Ok(None)))
                .collect();
            return result;
        }
        for (p, a) in state.answers.iter().enumerate() {
            if let (Ok(Some(_)) | Err(DriveError::Corrupt(_)), Some(d)) = (a, self.drive(p)) {
                match d.write_meta(bucket, key, &MetaFile::default(), None) {
                    Ok(()) => result.removed += 1,
                    Err(_) => result.incomplete.push(p),
                }
            }
        }
        result
    }

    fn heal_deletion(
        &self,
        bucket: &str,
        key: &str,
        state: &KeyState,
        deletion: &Version,
    ) -> HealResult {
        let mut result = HealResult::default();
        let only = MetaFile {
            versions: vec![Entry {
                version: deletion.clone(),
                shard: 0,
                inline: None,
            }],
        };
        let mut settled = 0;
        for (p, a) in state.answers.iter().enumerate() {
            let Some(d) = self.drive(p) else { continue };
            match a {
                Ok(None) => settled += 1,
                Ok(Some(f)) if *f == only => settled += 1,
                Ok(Some(_)) | Err(DriveError::Corrupt(_)) => {
                    if d.write_meta(bucket, key, &only, None).is_ok() {
                        result.removed += 1;
                        settled += 1;
                    } else {
                        result.incomplete.push(p);
                    }
                }
                Err(_) => result.incomplete.push(p),
            }
        }
        // Every drive has the deletion or nothing: nothing older can come back, so the
        // deletion itself can go.
        if settled == self.drive_count() {
            for p in 0..self.drive_count() {
                if let (Ok(Some(_)) | Err(_), Some(d)) = (&state.answers[p], self.drive(p)) {
                    let _ = d.remove_meta(bucket, key);
                }
            }
        }
        result
    }

    fn heal_version(
        &self,
        bucket: &str,
        key: &str,
        state: &KeyState,
        v: &Version,
        deep: bool,
    ) -> Result<HealResult, EngineError> {
        let object = v
            .object
            .as_ref()
            .ok_or_else(|| EngineError::no_such_key(bucket, key))?;
        let n = self.drive_count();
        // Which drives can be written to, which hold the version with sound shards.
        let mut rebuild: Vec<usize> = Vec::new();
        let mut tidy: Vec<usize> = Vec::new();
        let mut sound: Vec<usize> = Vec::new();
        let mut incomplete: Vec<usize> = Vec::new();
        for p in 0..n {
            let Some(d) = self.drive(p).filter(|d| d.check_present().is_ok()) else {
                incomplete.push(p);
                continue;
            };
            match &state.answers[p] {
                Ok(Some(f)) => match f.entry(v) {
                    Some(e) if self.shards_sound(d.as_ref(), bucket, key, object, e, deep) => {
                        sound.push(p);
                        if f.versions.len() > 1 {
                            tidy.push(p);
                        }
                    }
                    _ => rebuild.push(p),
                },
                Ok(None) | Err(DriveError::Corrupt(_)) => rebuild.push(p),
                Err(_) => incomplete.push(p),
            }
        }
        let geo = object.erasure.geometry();
        let shard_bytes: u64 = object
            .parts
            .iter()
            .map(|p| geo.shard_file_size(p.size))
            .sum();
        let mut result = HealResult {
            read: if deep { shard_bytes * n as u64 } else { 0 },
            incomplete,
            ..HealResult::default()
        };
        if !rebuild.is_empty() {
            result.read += shard_bytes * geo.data as u64;
            if sound.len() < geo.data {
                return Err(EngineError::ReadQuorum {
                    what: format!("{bucket}/{key}"),
                    detail: format!(
                        "only {} sound copies of {}, {} needed to heal",
                        sound.len(),
                        v.id,
                        geo.data
                    ),
                });
            }
            result.healed = self.rebuild(bucket, key, v, object, &sound, &rebuild)?;
            result
                .incomplete
                .extend(rebuild.iter().filter(|p| !result.healed.contains(p)));
        }
        for p in tidy {
            let (Ok(Some(f)), Some(d)) = (&state.answers[p], self.drive(p)) else {
                continue;
            };
            if let Some(e) = f.entry(v) {
                let alone = MetaFile {
                    versions: vec![e.clone()],
                };
                match d.write_meta(bucket, key, &alone, None) {
                    Ok(()) => result.removed += 1,
                    Err(_) => result.incomplete.push(p),
                }
            }
        }
        Ok(result)
    }

    /// Whether a drive's shards of the version are all there (deep: and every block intact).
    fn shards_sound(
        &self,
        d: &dyn Drive,
        bucket: &str,
        key: &str,
        object: &ObjectMeta,
        e: &Entry,
        deep: bool,
    ) -> bool {
        let geo = object.erasure.geometry();
        let header = shard::header(object.erasure.codec, object.erasure.bitrot as u8);
        let data = match (&e.inline, &object.data_dir) {
            (Some(_), _) => None,
            (None, Some(dir)) => match d.open_data(bucket, key, dir) {
                Ok(data) => Some(data),
                Err(_) => return false,
            },
            (None, None) => return false,
        };
        object.parts.iter().all(|part| {
            let reader = ShardReader::new(
                &ShardId {
                    data_id: &part.data_id,
                    part: part.number,
                    index: e.shard,
                    geo,
                },
                header,
            );
            let check = |src: &dyn super::drive::ReadAt| {
                if deep {
                    reader.verify(src, part.size).is_ok()
                } else {
                    reader.check_shape(src, part.size).is_ok()
                }
            };
            match (&e.inline, &data) {
                (Some(bytes), _) => check(bytes),
                (None, Some(data)) => data.open_part(part.number).is_ok_and(|f| check(f.as_ref())),
                (None, None) => false,
            }
        })
    }

    /// Recomputes the shards of drives `targets` from the `sound` ones and commits them there;
    /// returns the positions rewritten. A target that cannot be written (dead, full) is left
    /// out instead of failing the others; a source that turns out damaged is healed too, on
    /// the next attempt.
    fn rebuild(
        &self,
        bucket: &str,
        key: &str,
        v: &Version,
        object: &ObjectMeta,
        sound: &[usize],
        targets: &[usize],
    ) -> Result<Vec<usize>, EngineError> {
        let mut sound = sound.to_vec();
        let mut targets = targets.to_vec();
        loop {
            match self.rebuild_once(bucket, key, v, object, &sound, &targets)? {
                Ok(done) => return Ok(done),
                Err(bad_source) => {
                    sound.retain(|p| *p != bad_source);
                    targets.push(bad_source);
                    if sound.len() < object.erasure.data as usize {
                        return Err(EngineError::ReadQuorum {
                            what: format!("{bucket}/{key}"),
                            detail: "too few intact shards left to heal from".into(),
                        });
                    }
                }
            }
        }
    }

    /// One rebuild attempt: `Ok(Err(p))` when source `p` failed a block.
    fn rebuild_once(
        &self,
        bucket: &str,
        key: &str,
        v: &Version,
        object: &ObjectMeta,
        sound: &[usize],
        targets: &[usize],
    ) -> Result<Result<Vec<usize>, usize>, EngineError> {
        let geo = object.erasure.geometry();
        let codec = self.codec(&geo)?;
        let dist = &object.erasure.distribution;
        let header = shard::header(object.erasure.codec, object.erasure.bitrot as u8);
        let inline = object.data_dir.is_none();
        // The first k sound copies that open (another sound drive stands in for one that
        // does not).
        let sources: Vec<Source> = sound
            .iter()
            .filter_map(|&p| Source::open(self, bucket, key, v, object, p))
            .take(geo.data)
            .collect();
        if sources.len() < geo.data {
            return Err(EngineError::ReadQuorum {
                what: format!("{bucket}/{key}"),
                detail: "a sound copy could not be opened to heal from".into(),
            });
        }
        let mut outs: Vec<Target> = targets
            .iter()
            .filter_map(|&p| Target::new(self, p, inline))
            .collect();
        for part in &object.parts {
            let readers: Vec<ShardReader> = sources
                .iter()
                .map(|s| {
                    ShardReader::new(
                        &ShardId {
                            data_id: &part.data_id,
                            part: part.number,
                            index: s.index,
                            geo,
                        },
                        header,
                    )
                })
                .collect();
            let files: Vec<Option<Box<dyn super::drive::ReadAt>>> =
                sources.iter().map(|s| s.part(part.number)).collect();
            for t in outs.iter_mut() {
                let id = ShardId {
                    data_id: &part.data_id,
                    part: part.number,
                    index: dist[t.position],
                    geo,
                };
                t.start_part(part.number, &id, header);
            }
            for b in 0..geo.blocks(part.size) {
                let shard_len = geo.shard_len(geo.block_len(part.size, b));
                let mut bufs = vec![vec![0u8; shard_len]; geo.drives()];
                let mut present = vec![false; geo.drives()];
                for ((s, r), f) in sources.iter().zip(&readers).zip(&files) {
                    let got = match (&s.inline, f) {
                        (Some(bytes), _) => r.read_block(bytes, part.size, b),
                        (None, Some(f)) => r.read_block(f.as_ref(), part.size, b),
                        (None, None) => Err(BlockError::Unreadable("no shard".into())),
                    };
                    match got {
                        Ok(bytes) => {
                            bufs[s.index as usize] = bytes;
                            present[s.index as usize] = true;
                        }
                        Err(e) => {
                            tracing::warn!(bucket, key, position = s.position, error = ?e,
                                "a heal source is damaged");
                            for t in &outs {
                                t.abandon();
                            }
                            return Ok(Err(s.position));
                        }
                    }
                }
                let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
                if let Err(e) = codec.reconstruct(&mut refs, &present, true) {
                    for t in &outs {
                        t.abandon();
                    }
                    return Err(EngineError::Codec(e.to_string()));
                }
                for t in outs.iter_mut() {
                    t.write_block(&bufs[dist[t.position] as usize]);
                }
            }
            for t in outs.iter_mut() {
                t.finish_part();
            }
        }
        let mut healed = Vec::new();
        for t in outs {
            if let Some(p) = t.commit(bucket, key, v) {
                healed.push(p);
            }
        }
        Ok(Ok(healed))
    }
}

/// A sound copy to rebuild from.
struct Source {
    position: usize,
    index: u8,
    inline: Option<Vec<u8>>,
    data: Option<Box<dyn super::drive::DataReader>>,
}

impl Source {
    fn open(
        set: &ErasureSet,
        bucket: &str,
        key: &str,
        v: &Version,
        object: &ObjectMeta,
        p: usize,
    ) -> Option<Source> {
        let d = set.drive(p)?;
        let f = d.read_meta(bucket, key).ok()??;
        let e = f.entry(v)?;
        let data = match &object.data_dir {
            Some(dir) if e.inline.is_none() => Some(d.open_data(bucket, key, dir).ok()?),
            _ => None,
        };
        Some(Source {
            position: p,
            index: e.shard,
            inline: e.inline.clone(),
            data,
        })
    }

    fn part(&self, number: u32) -> Option<Box<dyn super::drive::ReadAt>> {
        self.data.as_ref().and_then(|d| d.open_part(number).ok())
    }
}

/// A drive being rebuilt: its staging directory and shard writer, or its inline bytes.
struct Target {
    position: usize,
    drive: Arc<dyn Drive>,
    staging: Option<Staging>,
    writer: Option<ShardWriter<dyn super::drive::Sink>>,
    inline: Option<ShardWriter<Vec<u8>>>,
    inline_bytes: Option<Vec<u8>>,
    is_inline: bool,
    failed: bool,
}

impl Target {
    fn new(set: &ErasureSet, position: usize, is_inline: bool) -> Option<Target> {
        let drive = set.drive(position)?;
        let staging = if is_inline {
            None
        } else {
            match drive.new_staging() {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(drive = %drive.label(), %e, "cannot heal onto this drive");
                    return None;
                }
            }
        };
        Some(Target {
            position,
            drive,
            staging,
            writer: None,
            inline: None,
            inline_bytes: None,
            is_inline,
            failed: false,
        })
    }

    fn fail(&mut self, e: DriveError) {
        tracing::warn!(drive = %self.drive.label(), %e, "cannot heal onto this drive");
        self.failed = true;
        self.writer = None;
    }

    fn start_part(&mut self, number: u32, id: &ShardId<'_>, header: [u8; shard::HEADER_LEN]) {
        if self.failed {
            return;
        }
        if self.is_inline {
            match ShardWriter::new(Box::new(Vec::new()), id, header) {
                Ok(w) => self.inline = Some(w),
                Err(e) => self.fail(e),
            }
            return;
        }
        let Some(staging) = &self.staging else { return };
        let w = self
            .drive
            .create_file(staging, &format!("part.{number}"))
            .and_then(|sink| ShardWriter::new(sink, id, header));
        match w {
            Ok(w) => self.writer = Some(w),
            Err(e) => self.fail(e),
        }
    }

    fn write_block(&mut self, shard: &[u8]) {
        if self.failed {
            return;
        }
        let r = match (&mut self.writer, &mut self.inline) {
            (Some(w), _) => w.write_block(shard),
            (None, Some(w)) => w.write_block(shard),
            (None, None) => Ok(()),
        };
        if let Err(e) = r {
            self.fail(e);
        }
    }

    fn finish_part(&mut self) {
        if let Some(w) = self.writer.take() {
            if let Err(e) = w.finish() {
                self.fail(e);
            }
        }
        if let Some(w) = self.inline.take() {
            match w.finish() {
                Ok(bytes) => self.inline_bytes = Some(*bytes),
                Err(e) => self.fail(e),
            }
        }
    }

    fn abandon(&self) {
        if let Some(s) = &self.staging {
            self.drive.remove_staging(s);
        }
    }

    /// Writes the version alone as this drive's metadata, with its rebuilt data.
    fn commit(self, bucket: &str, key: &str, v: &Version) -> Option<usize> {
        if self.failed {
            self.abandon();
            return None;
        }
        let index = v.object.as_ref()?.erasure.distribution[self.position];
        let meta = MetaFile {
            versions: vec![Entry {
                version: v.clone(),
                shard: index,
                inline: self.inline_bytes.clone(),
            }],
        };
        let data = self.staging.as_ref().zip(v.data_dir());
        let data = data.map(|(staging, data_dir)| DataMove { staging, data_dir });
        match self.drive.write_meta(bucket, key, &meta, data) {
            Ok(()) => Some(self.position),
            Err(e) => {
                tracing::warn!(drive = %self.drive.label(), %e, "heal write failed");
                self.abandon();
                None
            }
        }
    }
}

//! Healing: rewrite missing, stale or corrupt shards and metadata of an object from the
//! healthy drives, byte-identical to what a fresh write would have stored.

use super::geometry::Geometry;
use super::geometry::{shard_header, SHARD_HEADER_LEN};
use super::meta::ObjectMeta;
use super::set::{ErasureSet, Pick, Version};
use super::EngineError;
use crate::bitrot::HASH_LEN;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct HealResult {
    /// Positions (drives of the set) that were rewritten.
    pub healed: Vec<usize>,
    /// Copies of an object that a quorum says does not exist, removed.
    pub removed_dangling: usize,
}

impl ErasureSet {
    pub fn heal_object(&self, bucket: &str, key: &str) -> Result<HealResult, EngineError> {
        let _guard = self.lock_key(bucket, key);
        let metas = self.on_drives(|_, d| d.read_meta(bucket, key));
        let (meta, agree) =
            match super::set::pick_version(&metas, self.geometry(false).read_quorum()) {
                Pick::Found(m, a) => (*m, a),
                Pick::NotFound => return Ok(self.remove_dangling(bucket, key, &metas)),
                Pick::NoQuorum(detail) => {
                    return Err(EngineError::ReadQuorum {
                        what: format!("{bucket}/{key}"),
                        detail,
                    })
                }
            };
        let geo = Geometry {
            data: meta.erasure.data as usize,
            parity: meta.erasure.parity as usize,
            block_size: meta.erasure.block_size as usize,
        };
        let copies: Vec<Option<ObjectMeta>> = metas
            .iter()
            .zip(&agree)
            .map(|(m, a)| {
                if *a {
                    m.as_ref().ok().cloned().flatten()
                } else {
                    None
                }
            })
            .collect();
        // Only drives that are there can be healed: a vanished drive directory (deleted, or
        // an unmounted mount point) is never recreated, and does not fail the others' heal.
        let bad: Vec<usize> = (0..geo.drives())
            .filter(|&p| self.disk(p).is_some_and(|d| d.check_present().is_ok()))
            .filter(|&p| {
                copies[p]
                    .as_ref()
                    .is_none_or(|c| !self.shards_intact(bucket, key, p, c, &geo))
            })
            .collect();
        if bad.is_empty() {
            return Ok(HealResult::default());
        }
        let good: Vec<usize> = (0..geo.drives())
            .filter(|p| copies[*p].is_some() && !bad.contains(p))
            .collect();
        if good.len() < geo.data {
            return Err(EngineError::ReadQuorum {
                what: format!("{bucket}/{key}"),
                detail: format!(
                    "only {} intact copies, {} needed to heal",
                    good.len(),
                    geo.data
                ),
            });
        }
        let versions = self.rebuild(bucket, key, &meta, &geo, &copies, &good, &bad)?;
        for &p in &bad {
            if let Some(d) = self.disk(p) {
                let _ = fs::create_dir_all(d.bucket(bucket));
            }
        }
        let committed = self.commit_versions(bucket, key, &versions, 0)?;
        // Staging directories of drives that failed to commit (committed ones were renamed).
        for (_, dir) in versions.iter().flatten() {
            if let Some(dir) = dir {
                let _ = fs::remove_dir_all(dir);
            }
        }
        // Report only the drives really rewritten; the others stay damaged (and logged).
        let healed: Vec<usize> = bad.iter().copied().filter(|&p| committed[p]).collect();
        if healed.len() < bad.len() {
            tracing::warn!(bucket, key, drives = ?bad, ?healed, "heal failed on some drives");
        }
        tracing::info!(bucket, key, drives = ?healed, "healed");
        Ok(HealResult {
            healed,
            removed_dangling: 0,
        })
    }

    fn remove_dangling(
        &self,
        bucket: &str,
        key: &str,
        metas: &[super::set::DriveResult<Option<ObjectMeta>>],
    ) -> HealResult {
        let mut removed = 0;
        for (p, m) in metas.iter().enumerate() {
            if let (Ok(Some(_)), Some(d)) = (m, self.disk(p)) {
                if d.delete_object(bucket, key).unwrap_or(false) {
                    removed += 1;
                }
            }
        }
        HealResult {
            healed: Vec::new(),
            removed_dangling: removed,
        }
    }

    /// Reads every block of this drive's shards and checks its hash.
    fn shards_intact(
        &self,
        bucket: &str,
        key: &str,
        position: usize,
        copy: &ObjectMeta,
        geo: &Geometry,
    ) -> bool {
        let Some(disk) = self.disk(position) else {
            return false;
        };
        if copy.erasure.distribution.get(position) != Some(&copy.erasure.index) {
            return false;
        }
        for part in &copy.parts {
            let expected = geo.shard_file_size(part.size);
            let bytes = match (&copy.inline, &copy.data_dir) {
                (Some(b), _) => b.clone(),
                (None, Some(dir)) => {
                    match fs::read(disk.part_path(bucket, key, dir, part.number)) {
                        Ok(b) => b,
                        Err(_) => return false,
                    }
                }
                (None, None) => return false,
            };
            let header = shard_header(copy.erasure.codec, copy.erasure.bitrot as u8);
            if bytes.len() as u64 != expected || bytes[..SHARD_HEADER_LEN] != header {
                return false;
            }
            let mut off = SHARD_HEADER_LEN;
            for b in 0..geo.blocks(part.size) {
                let len = geo.shard_len(geo.block_len(part.size, b));
                let (hash, shard) = bytes[off..off + HASH_LEN + len].split_at(HASH_LEN);
                if !copy.erasure.bitrot.verify(shard, hash) {
                    return false;
                }
                off += HASH_LEN + len;
            }
        }
        true
    }

    /// Recomputes the bad drives' shard files from `good` ones; returns what to commit. A bad
    /// drive that cannot be written (dead, full) is left out (`None`) instead of failing the
    /// heal of the others.
    #[allow(clippy::too_many_arguments)]
    fn rebuild(
        &self,
        bucket: &str,
        key: &str,
        meta: &ObjectMeta,
        geo: &Geometry,
        copies: &[Option<ObjectMeta>],
        good: &[usize],
        bad: &[usize],
    ) -> Result<Vec<Version>, EngineError> {
        let codec = self.codec(geo)?;
        let dist = &meta.erasure.distribution;
        let inline = meta.inline.is_some() || copies.iter().flatten().any(|c| c.inline.is_some());
        let io_err = |p: usize, e: std::io::Error| {
            EngineError::drive(
                self.disk(p)
                    .map(|d| d.root().to_path_buf())
                    .unwrap_or_default(),
                e,
            )
        };
        // Per bad position: staging dir (file objects) or inline bytes.
        let mut staging: Vec<Option<PathBuf>> = vec![None; geo.drives()];
        // Shard files start with the header of the algorithms the object was written with.
        let header = shard_header(meta.erasure.codec, meta.erasure.bitrot as u8);
        let mut inline_out: Vec<Vec<u8>> = vec![header.to_vec(); geo.drives()];
        let mut failed = vec![false; geo.drives()];
        let fail = |failed: &mut [bool], p: usize, e: std::io::Error| {
            tracing::warn!(bucket, key, position = p, %e, "cannot heal onto this drive");
            failed[p] = true;
        };
        if !inline {
            for &p in bad {
                match self.disk(p).map(|d| d.new_temp()) {
                    Some(Ok(dir)) => staging[p] = Some(dir),
                    Some(Err(e)) => fail(&mut failed, p, e),
                    None => fail(&mut failed, p, std::io::Error::other("drive went offline")),
                }
            }
        }
        for part in &meta.parts {
            let sources: Vec<(usize, Source)> = good
                .iter()
                .take(geo.data)
                .map(|&p| {
                    let c = copies[p].as_ref().expect("good copies exist");
                    let src = match (&c.inline, &meta.data_dir, self.disk(p)) {
                        (Some(b), _, _) => Ok(Source::Inline(b.clone())),
                        (None, Some(dir), Some(d)) => {
                            File::open(d.part_path(bucket, key, dir, part.number)).map(Source::File)
                        }
                        _ => Err(std::io::Error::other("no shard source")),
                    };
                    src.map(|s| (c.erasure.index as usize, s))
                        .map_err(|e| io_err(p, e))
                })
                .collect::<Result<_, _>>()?;
            let mut outs: Vec<Option<std::io::BufWriter<File>>> = Vec::new();
            for p in 0..geo.drives() {
                let out = match staging[p].as_ref().filter(|_| !failed[p]) {
                    Some(dir) => match File::create(dir.join(format!("part.{}", part.number)))
                        .and_then(|f| {
                            let mut w = std::io::BufWriter::new(f);
                            w.write_all(&header)?;
                            Ok(w)
                        }) {
                        Ok(w) => Some(w),
                        Err(e) => {
                            fail(&mut failed, p, e);
                            None
                        }
                    },
                    None => None,
                };
                outs.push(out);
            }
            for b in 0..geo.blocks(part.size) {
                let shard_len = geo.shard_len(geo.block_len(part.size, b));
                let offset = geo.shard_offset(b);
                let mut bufs = vec![vec![0u8; shard_len]; geo.drives()];
                let mut present = vec![false; geo.drives()];
                for (index, src) in &sources {
                    let mut rec = vec![0u8; HASH_LEN + shard_len];
                    src.read_at(&mut rec, offset)
                        .map_err(|e| EngineError::drive("heal source", e))?;
                    if !meta
                        .erasure
                        .bitrot
                        .verify(&rec[HASH_LEN..], &rec[..HASH_LEN])
                    {
                        return Err(EngineError::ReadQuorum {
                            what: format!("{bucket}/{key}"),
                            detail: "a shard believed intact failed its hash during heal".into(),
                        });
                    }
                    bufs[*index].copy_from_slice(&rec[HASH_LEN..]);
                    present[*index] = true;
                }
                let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
                codec
                    .reconstruct(&mut refs, &present, true)
                    .map_err(|e| EngineError::Codec(e.to_string()))?;
                for &p in bad {
                    if failed[p] {
                        continue;
                    }
                    let shard = &bufs[dist[p] as usize];
                    let hash = meta.erasure.bitrot.hash(shard);
                    match outs[p].as_mut() {
                        Some(w) => {
                            if let Err(e) = w.write_all(&hash).and_then(|_| w.write_all(shard)) {
                                outs[p] = None;
                                fail(&mut failed, p, e);
                            }
                        }
                        None => {
                            inline_out[p].extend_from_slice(&hash);
                            inline_out[p].extend_from_slice(shard);
                        }
                    }
                }
            }
            for (p, w) in outs.iter_mut().enumerate() {
                if let Some(w) = w.take() {
                    let synced = w
                        .into_inner()
                        .map_err(|e| e.into_error())
                        .and_then(|f| f.sync_all());
                    if let Err(e) = synced {
                        fail(&mut failed, p, e);
                    }
                }
            }
        }
        for p in 0..geo.drives() {
            if failed[p] {
                if let Some(dir) = staging[p].take() {
                    let _ = fs::remove_dir_all(dir);
                }
            }
        }
        Ok((0..geo.drives())
            .map(|p| {
                (bad.contains(&p) && !failed[p]).then(|| {
                    let inline_bytes = inline.then(|| std::mem::take(&mut inline_out[p]));
                    (meta.for_index(dist[p], inline_bytes), staging[p].clone())
                })
            })
            .collect())
    }
}

enum Source {
    Inline(Vec<u8>),
    File(File),
}

impl Source {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        match self {
            Source::File(f) => f.read_exact_at(buf, offset),
            Source::Inline(b) => {
                let start = offset as usize;
                let src = b.get(start..start + buf.len()).ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "short inline shard")
                })?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }
}

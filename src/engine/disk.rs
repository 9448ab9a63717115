//! One drive of a deployment: a directory. Every file operation the engine does on a drive is
//! here, each crash-safe on its own (temporary files, durability barriers, atomic rename).
//!
//! Layout of a drive:
//! ```text
//! <root>/.strata.sys/format.json           deployment format record
//! <root>/.strata.sys/tmp/                  writes in progress (emptied at start-up)
//! <root>/.strata.sys/multipart/<bucket>/<upload-id>/   multipart uploads
//! <root>/<bucket>/<key segments…>/%meta    object metadata (written as %meta.tmp-<id>, renamed)
//! <root>/<bucket>/<key segments…>/%d<id>/part.<n>      shard files (absent when inline)
//! ```

use super::barrier::Barrier;
use super::meta::ObjectMeta;
use super::names::{self, Segment};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SYS_DIR: &str = ".strata.sys";
pub const META_FILE: &str = "%meta";
/// A metadata file being written next to `%meta`, renamed over it when complete.
const META_TMP_PREFIX: &str = "%meta.tmp-";
pub const DATA_PREFIX: &str = "%d";

#[derive(Debug, Clone)]
pub struct Disk {
    root: PathBuf,
    barrier: Arc<Barrier>,
}

impl Disk {
    pub fn new(root: impl Into<PathBuf>) -> Disk {
        let root = root.into();
        Disk {
            barrier: Arc::new(Barrier::new(&root)),
            root,
        }
    }

    /// Waits until everything written on this drive so far is durable (shared with the
    /// drive's other writers: see `barrier`).
    pub fn barrier(&self) -> io::Result<()> {
        self.barrier.wait()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn sys(&self) -> PathBuf {
        self.root.join(SYS_DIR)
    }

    pub fn tmp(&self) -> PathBuf {
        self.sys().join("tmp")
    }

    pub fn multipart(&self, bucket: &str) -> PathBuf {
        self.sys().join("multipart").join(bucket)
    }

    pub fn bucket(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    pub fn object_dir(&self, bucket: &str, key: &str) -> PathBuf {
        self.bucket(bucket).join(names::key_dir(key))
    }

    pub fn part_path(&self, bucket: &str, key: &str, data_dir: &str, part: u32) -> PathBuf {
        self.object_dir(bucket, key)
            .join(format!("{DATA_PREFIX}{data_dir}"))
            .join(format!("part.{part}"))
    }

    /// Removes what interrupted writes left behind; called at start-up.
    pub fn clean_tmp(&self) -> io::Result<()> {
        let tmp = self.tmp();
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)
    }

    /// A fresh private directory for a write in progress. Only the directory itself is
    /// created: when the drive's temporary area is gone (the drive directory was deleted, or
    /// the drive is unmounted and its mount point is bare) the write fails on this drive
    /// instead of recreating the drive's tree, possibly on the root filesystem.
    pub fn new_temp(&self) -> io::Result<PathBuf> {
        let dir = self.tmp().join(uuid::Uuid::new_v4().to_string());
        fs::create_dir(&dir)?;
        Ok(dir)
    }

    /// Fails unless the drive's system directory is there, i.e. the drive is mounted and
    /// formatted: checked before creating top-level directories (buckets, uploads), which
    /// would otherwise recreate a vanished drive directory.
    pub fn check_present(&self) -> io::Result<()> {
        if self.sys().is_dir() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                "drive is gone (no .strata.sys: deleted or not mounted)",
            ))
        }
    }

    /// Creates an empty file (made durable by its writer's barrier).
    pub fn create_file(path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path)
    }

    /// The object's metadata on this drive: `None` when absent.
    pub fn read_meta(&self, bucket: &str, key: &str) -> io::Result<Option<ObjectMeta>> {
        let path = self.object_dir(bucket, key).join(META_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // No metadata is "no object" only while the bucket itself is there.
                return if self.bucket(bucket).is_dir() {
                    Ok(None)
                } else {
                    Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        "bucket missing on drive",
                    ))
                };
            }
            Err(e) => return Err(e),
        };
        ObjectMeta::decode(&bytes)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Makes the object's directory chain (durable with the commit's first barrier).
    fn create_object_dir(&self, bucket: &str, key: &str) -> io::Result<PathBuf> {
        let mut cur = self.bucket(bucket);
        if !cur.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "bucket missing on drive",
            ));
        }
        for seg in names::key_segments(key) {
            let next = cur.join(seg.dir_name());
            match fs::create_dir(&next) {
                Ok(()) => {
                    // Made durable by the commit's barrier, before the metadata is renamed in.
                    if let Segment::Long { name, .. } = &seg {
                        fs::write(next.join(names::LONG_NAME_FILE), name.as_bytes())?;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            cur = next;
        }
        Ok(cur)
    }

    /// Makes a new version visible on this drive: the data directory first, then the metadata
    /// by atomic rename after a barrier, and a barrier after it. Returns the metadata it replaced.
    pub fn commit(
        &self,
        bucket: &str,
        key: &str,
        meta: &ObjectMeta,
        temp_data: Option<&Path>,
    ) -> io::Result<Option<ObjectMeta>> {
        // A delete of another key prunes the empty directories of its path without this key's
        // lock: deleting "a/b" can remove "a/" just as this commit of "a" (or "a/c") made it
        // and before anything was moved in. Such a NotFound is retried with the path made
        // again; once the data or metadata is inside, the directory is no longer empty.
        let mut attempts = 0;
        loop {
            match self.commit_once(bucket, key, meta, temp_data) {
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        && attempts < 8
                        && self.bucket(bucket).is_dir()
                        && temp_data.is_none_or(Path::exists) =>
                {
                    attempts += 1
                }
                result => return result,
            }
        }
    }

    fn commit_once(
        &self,
        bucket: &str,
        key: &str,
        meta: &ObjectMeta,
        temp_data: Option<&Path>,
    ) -> io::Result<Option<ObjectMeta>> {
        let dir = self.create_object_dir(bucket, key)?;
        let previous = self.read_meta(bucket, key).unwrap_or(None);
        if let (Some(tmp), Some(id)) = (temp_data, &meta.data_dir) {
            let target = dir.join(format!("{DATA_PREFIX}{id}"));
            if target.exists() {
                // Only a heal rewrites an existing version's (damaged) data directory.
                fs::remove_dir_all(&target)?;
            }
            fs::rename(tmp, target)?;
        }
        self.replace_meta(&dir, &meta.encode())
            .and_then(|()| self.barrier())
            .map(|()| previous)
    }

    /// Replaces `%meta` in an object directory atomically: a temporary file beside it, made
    /// durable (with the data directory and the key's directories) by a barrier, then renamed
    /// over it (within one directory: no cross-directory rename lock). The temporary file is
    /// removed when anything fails; a crash leaves it for the start-up sweep.
    fn replace_meta(&self, dir: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = dir.join(format!(
            "{META_TMP_PREFIX}{}",
            uuid::Uuid::new_v4().simple()
        ));
        let result = fs::write(&tmp, bytes)
            .and_then(|()| self.barrier())
            .and_then(|()| fs::rename(&tmp, dir.join(META_FILE)));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Undoes `commit` after the write as a whole failed its quorum.
    pub fn rollback(
        &self,
        bucket: &str,
        key: &str,
        new: &ObjectMeta,
        previous: Option<&ObjectMeta>,
    ) {
        let dir = self.object_dir(bucket, key);
        let restored = match previous {
            Some(prev) => self.replace_meta(&dir, &prev.encode()),
            None => fs::remove_file(dir.join(META_FILE)),
        };
        if let Err(e) = restored {
            tracing::warn!(drive = %self.root.display(), %e, "rollback of metadata failed");
        }
        if let Some(id) = &new.data_dir {
            let _ = fs::remove_dir_all(dir.join(format!("{DATA_PREFIX}{id}")));
        }
        self.prune_empty(bucket, key);
    }

    /// Removes data directories the current metadata does not reference (replaced versions,
    /// or leftovers of a crash between the data and metadata renames).
    pub fn remove_stale_data(&self, bucket: &str, key: &str, keep: Option<&str>) {
        let dir = self.object_dir(bucket, key);
        let Ok(entries) = fs::read_dir(&dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_prefix(DATA_PREFIX) {
                if Some(id) != keep {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }

    /// Removes data directories that no metadata references and that were last changed before
    /// `before` (the start of this process): leftovers of a process killed between the data
    /// and the metadata renames of a commit, and half-written `%meta.tmp-*` files. Those of
    /// writes in progress were made by this process, so they are newer and never touched.
    /// Returns how many were removed.
    pub fn sweep_orphans(&self, before: std::time::SystemTime) -> usize {
        let Ok(buckets) = fs::read_dir(&self.root) else {
            return 0;
        };
        buckets
            .flatten()
            .filter(|b| b.file_name() != SYS_DIR && b.file_type().is_ok_and(|t| t.is_dir()))
            .map(|b| sweep_dir(&b.path(), before))
            .sum()
    }

    /// Deletes the object on this drive; `Ok(false)` when it was not there.
    pub fn delete_object(&self, bucket: &str, key: &str) -> io::Result<bool> {
        let dir = self.object_dir(bucket, key);
        let existed = match fs::remove_file(dir.join(META_FILE)) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        if existed {
            self.barrier()?;
        }
        self.remove_stale_data(bucket, key, None);
        self.prune_empty(bucket, key);
        Ok(existed)
    }

    /// Removes now-empty key directories up to (not including) the bucket directory.
    fn prune_empty(&self, bucket: &str, key: &str) {
        let top = self.bucket(bucket);
        let mut dir = self.object_dir(bucket, key);
        while dir != top && dir.starts_with(&top) {
            let only_name_file = fs::read_dir(&dir)
                .map(|rd| rd.flatten().all(|e| e.file_name() == names::LONG_NAME_FILE))
                .unwrap_or(false);
            if !only_name_file {
                return;
            }
            let _ = fs::remove_file(dir.join(names::LONG_NAME_FILE));
            if fs::remove_dir(&dir).is_err() {
                return;
            }
            match dir.parent() {
                Some(p) => dir = p.to_path_buf(),
                None => return,
            }
        }
    }
}

fn sweep_dir(dir: &Path, before: std::time::SystemTime) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let entries: Vec<_> = entries.flatten().collect();
    let keep = fs::read(dir.join(META_FILE))
        .ok()
        .and_then(|b| ObjectMeta::decode(&b).ok())
        .and_then(|m| m.data_dir);
    let mut removed = 0;
    let older = |e: &fs::DirEntry| {
        e.metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < before)
    };
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            // A metadata file a killed process was writing.
            if name.starts_with(META_TMP_PREFIX) && older(&e) && fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
            continue;
        }
        match name.strip_prefix(DATA_PREFIX) {
            Some(id) if Some(id) != keep.as_deref() && older(&e) => {
                removed += usize::from(fs::remove_dir_all(e.path()).is_ok());
            }
            Some(_) => {}
            None if names::decode_dir_name(&name).is_some() => {
                removed += sweep_dir(&e.path(), before)
            }
            None => {}
        }
    }
    removed
}

/// Writes a whole file and fsyncs it (not its directory).
pub fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

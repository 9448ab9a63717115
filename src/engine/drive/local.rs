//! A drive that is a local directory: the only place the engine calls `std::fs`. Every
//! operation is crash-safe on its own (staging directories, durability barriers, atomic
//! renames); what a crash can leave behind is named below and removed by `sweep_key` under the
//! key's lock, or at start-up (`clean_tmp`).
//!
//! Layout of a drive:
//! ```text
//! <root>/.strata.sys/format.json                deployment format record
//! <root>/.strata.sys/healing                    present while the drive is being rebuilt
//! <root>/.strata.sys/tmp/<uuid>/                writes in progress (emptied at start-up)
//! <root>/.strata.sys/multipart/<bucket>/<upload-id>/upload.json
//! <root>/.strata.sys/multipart/<bucket>/<upload-id>/<part>.<attempt>/{part.<n>,part.json}
//! <root>/<bucket>/%bucket                       creation time of the bucket
//! <root>/<bucket>/<key segments…>/%meta         the key's versions (`meta`)
//! <root>/<bucket>/<key segments…>/%meta.tmp-<id>  being written (leftover after a crash)
//! <root>/<bucket>/<key segments…>/%d<id>/part.<n> shard files (`shard`; none when inline)
//! ```

use super::barrier::Barrier;
use super::{
    Capacity, DataMove, DataReader, Drive, DriveError, DriveResult, Prepared, ReadAt, Sink,
    Staging, Walk, WalkItem,
};
use crate::engine::meta::MetaFile;
use crate::engine::names::{self, Segment, LONG_NAME_FILE};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub const SYS_DIR: &str = ".strata.sys";
pub const META_FILE: &str = "%meta";
pub(super) const META_TMP_PREFIX: &str = "%meta.tmp-";
pub const DATA_PREFIX: &str = "%d";
pub const BUCKET_FILE: &str = "%bucket";
const HEALING_FILE: &str = "healing";
const UPLOAD_FILE: &str = "upload.json";
const PART_RECORD: &str = "part.json";

#[derive(Debug)]
pub struct LocalDrive {
    root: PathBuf,
    barrier: Barrier,
    leases: Arc<Leases>,
    healing: AtomicBool,
}

impl LocalDrive {
    pub fn new(root: impl Into<PathBuf>) -> LocalDrive {
        let root = root.into();
        let healing = root.join(SYS_DIR).join(HEALING_FILE).exists();
        LocalDrive {
            barrier: Barrier::new(&root),
            leases: Leases::of(&root),
            healing: AtomicBool::new(healing),
            root,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn sys(&self) -> PathBuf {
        self.root.join(SYS_DIR)
    }

    fn tmp(&self) -> PathBuf {
        self.sys().join("tmp")
    }

    fn multipart(&self, bucket: &str) -> PathBuf {
        self.sys().join("multipart").join(bucket)
    }

    fn upload_dir(&self, bucket: &str, id: &str) -> PathBuf {
        self.multipart(bucket).join(id)
    }

    fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    pub fn object_dir(&self, bucket: &str, key: &str) -> PathBuf {
        self.bucket_dir(bucket).join(names::key_dir(key))
    }

    fn staging_dir(&self, s: &Staging) -> PathBuf {
        self.tmp().join(&s.0)
    }

    /// Removes what interrupted writes left in the temporary area; called when the engine
    /// opens the drive, before any write of this process.
    pub fn clean_tmp(&self) -> io::Result<()> {
        let tmp = self.tmp();
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)
    }

    /// Makes the object's directory chain (durable with the commit's first barrier).
    fn create_object_dir(&self, bucket: &str, key: &str) -> DriveResult<PathBuf> {
        let mut cur = self.bucket_dir(bucket);
        if !cur.is_dir() {
            return Err(DriveError::NoBucket);
        }
        for seg in names::key_segments(key) {
            let next = cur.join(seg.dir_name());
            match &seg {
                Segment::Plain(_) => match fs::create_dir(&next) {
                    Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e.into()),
                    _ => {}
                },
                Segment::Long { name, .. } => create_long_dir(&cur, &next, name)?,
            }
            cur = next;
        }
        Ok(cur)
    }

    /// Runs `f` in the object's directory, made first. A delete of another key prunes empty
    /// directories of its path without this key's lock: deleting "a/b" can remove "a/" just
    /// as this write of "a/c" made it. Such a NotFound is retried with the path made again;
    /// once anything is inside, the directory is no longer empty.
    fn in_object_dir<T>(
        &self,
        bucket: &str,
        key: &str,
        data: Option<DataMove<'_>>,
        f: impl Fn(&Path) -> DriveResult<T>,
    ) -> DriveResult<T> {
        let mut attempts = 0;
        loop {
            match self.create_object_dir(bucket, key).and_then(|dir| f(&dir)) {
                Err(DriveError::NotFound)
                    if attempts < 8
                        && self.bucket_dir(bucket).is_dir()
                        && data.is_none_or(|d| self.staging_dir(d.staging).exists()) =>
                {
                    attempts += 1
                }
                r => return r,
            }
        }
    }

    /// Moves a staged data directory into place. When the version's directory exists already
    /// (a heal rewriting damaged shards), its files are replaced one by one instead: a reader
    /// holding the directory keeps reading, and sees healed files for parts it opens later.
    fn move_data(&self, dir: &Path, data: DataMove<'_>) -> DriveResult<()> {
        let from = self.staging_dir(data.staging);
        let target = dir.join(format!("{DATA_PREFIX}{}", data.data_dir));
        if !target.exists() {
            return Ok(fs::rename(&from, &target)?);
        }
        for e in fs::read_dir(&from)? {
            let e = e?;
            let to = target.join(e.file_name());
            if to.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                fs::remove_dir_all(&to)?; // damage: a directory where the shard file goes
            }
            fs::rename(e.path(), to)?;
        }
        let _ = fs::remove_dir(&from);
        Ok(())
    }

    /// Writes a metadata file beside `%meta` (not yet durable); returns its name.
    fn write_meta_tmp(&self, dir: &Path, meta: &MetaFile) -> DriveResult<String> {
        let name = format!("{META_TMP_PREFIX}{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = fs::write(dir.join(&name), meta.encode()) {
            let _ = fs::remove_file(dir.join(&name));
            return Err(e.into());
        }
        Ok(name)
    }

    /// Removes now-empty key directories up to (not including) the bucket directory. A
    /// digest-named directory (a long segment, with its `%name` file) is left in place: a
    /// commit of another key may be using it right now, and removing its `%name` under it
    /// would leave a directory whose keys no walk could name.
    fn prune_empty(&self, bucket: &str, key: &str) {
        prune_from(&self.bucket_dir(bucket), self.object_dir(bucket, key));
    }
}

impl Drive for LocalDrive {
    fn label(&self) -> String {
        self.root.display().to_string()
    }

    fn path(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn check_present(&self) -> DriveResult<()> {
        if self.sys().is_dir() {
            Ok(())
        } else {
            Err(DriveError::Offline)
        }
    }

    fn capacity(&self) -> DriveResult<Capacity> {
        statvfs(&self.root).ok_or(DriveError::Offline)
    }

    fn is_healing(&self) -> bool {
        self.healing.load(Ordering::Relaxed)
    }

    fn set_healing(&self, healing: bool) -> DriveResult<()> {
        let marker = self.sys().join(HEALING_FILE);
        if healing {
            write_synced(&marker, &crate::engine::now_ns().to_le_bytes())?;
            crate::fsutil::fsync_dir(&self.sys())?;
        } else {
            match fs::remove_file(&marker) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => crate::fsutil::fsync_dir(&self.sys())?,
            }
        }
        self.healing.store(healing, Ordering::Relaxed);
        Ok(())
    }

    fn sync(&self) -> DriveResult<()> {
        Ok(self.barrier.wait()?)
    }

    // ---- buckets ----

    fn make_bucket(&self, bucket: &str, created_ns: u64) -> DriveResult<()> {
        self.check_present()?; // never recreate a vanished drive directory
        let dir = self.bucket_dir(bucket);
        fs::create_dir_all(&dir)?;
        write_synced(&dir.join(BUCKET_FILE), &created_ns.to_le_bytes())?;
        crate::fsutil::fsync_dir(&dir)?;
        Ok(crate::fsutil::fsync_dir(&self.root)?)
    }

    fn bucket_created(&self, bucket: &str) -> DriveResult<Option<u64>> {
        match fs::read(self.bucket_dir(bucket).join(BUCKET_FILE)) {
            Ok(b) => Ok(Some(created_ns(&b))),
            // "Absent" only from a drive that is there (a vanished drive knows nothing).
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.check_present()?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn list_buckets(&self) -> DriveResult<Vec<(String, u64)>> {
        self.check_present()?;
        let mut out = Vec::new();
        for e in fs::read_dir(&self.root)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Ok(b) = fs::read(e.path().join(BUCKET_FILE)) {
                out.push((name, created_ns(&b)));
            }
        }
        Ok(out)
    }

    fn delete_bucket(&self, bucket: &str) -> DriveResult<()> {
        let _ = fs::remove_dir_all(self.multipart(bucket));
        match fs::remove_dir_all(self.bucket_dir(bucket)) {
            // A drive that is there but never had the bucket agrees it is gone.
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.check_present()?,
            r => r?,
        }
        Ok(crate::fsutil::fsync_dir(&self.root)?)
    }

    // ---- object metadata and data ----

    fn read_meta(&self, bucket: &str, key: &str) -> DriveResult<Option<MetaFile>> {
        let path = self.object_dir(bucket, key).join(META_FILE);
        match fs::read(&path) {
            Ok(bytes) => MetaFile::decode(&bytes)
                .map(Some)
                .map_err(|e| DriveError::Corrupt(e.to_string())),
            // No metadata is "no versions" only while the bucket itself is there.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.bucket_dir(bucket).is_dir() {
                    Ok(None)
                } else if self.check_present().is_err() {
                    Err(DriveError::Offline)
                } else {
                    Err(DriveError::NoBucket)
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    fn commit_meta(
        &self,
        bucket: &str,
        key: &str,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
        next: Option<&MetaFile>,
    ) -> DriveResult<Prepared> {
        self.in_object_dir(bucket, key, data, |dir| {
            if let Some(d) = data {
                self.move_data(dir, d)?;
            }
            let now = self.write_meta_tmp(dir, meta)?;
            let later = match next {
                Some(m) if !m.versions.is_empty() => match self.write_meta_tmp(dir, m) {
                    Ok(name) => Some(name),
                    Err(e) => {
                        let _ = fs::remove_file(dir.join(&now));
                        return Err(e);
                    }
                },
                _ => None,
            };
            // The data, the key's directories and both metadata files durable, then the
            // rename, durable before the caller counts this drive as committed.
            let result = self
                .sync()
                .and_then(|()| Ok(fs::rename(dir.join(&now), dir.join(META_FILE))?))
                .and_then(|()| self.sync());
            if result.is_err() {
                let _ = fs::remove_file(dir.join(&now));
                if let Some(l) = &later {
                    let _ = fs::remove_file(dir.join(l));
                }
            }
            result.map(|()| Prepared(later.clone()))
        })
    }

    fn finish_meta(
        &self,
        bucket: &str,
        key: &str,
        next: &Prepared,
        apply: bool,
    ) -> DriveResult<()> {
        let dir = self.object_dir(bucket, key);
        match (&next.0, apply) {
            (Some(name), true) => Ok(fs::rename(dir.join(name), dir.join(META_FILE))?),
            (Some(name), false) => Ok(fs::remove_file(dir.join(name))?),
            (None, _) => Ok(()),
        }
    }

    fn remove_meta(&self, bucket: &str, key: &str) -> DriveResult<()> {
        match fs::remove_file(self.object_dir(bucket, key).join(META_FILE)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        self.prune_empty(bucket, key);
        Ok(())
    }

    fn write_meta(
        &self,
        bucket: &str,
        key: &str,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
    ) -> DriveResult<()> {
        if meta.versions.is_empty() && data.is_none() {
            let dir = self.object_dir(bucket, key);
            match fs::remove_file(dir.join(META_FILE)) {
                Ok(()) => self.sync()?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            self.prune_empty(bucket, key);
            return Ok(());
        }
        self.in_object_dir(bucket, key, data, |dir| {
            if let Some(d) = data {
                self.move_data(dir, d)?;
            }
            let tmp = self.write_meta_tmp(dir, meta)?;
            let result = self
                .sync()
                .and_then(|()| Ok(fs::rename(dir.join(&tmp), dir.join(META_FILE))?))
                .and_then(|()| self.sync());
            if result.is_err() {
                let _ = fs::remove_file(dir.join(&tmp));
            }
            result
        })
    }

    fn remove_data(&self, bucket: &str, key: &str, data_dir: &str) {
        let path = self
            .object_dir(bucket, key)
            .join(format!("{DATA_PREFIX}{data_dir}"));
        self.leases.remove(path);
        // Removed now unless a reader holds it (then its last reader removes it, and prunes).
        self.prune_empty(bucket, key);
    }

    fn sweep_key(&self, bucket: &str, key: &str) -> DriveResult<usize> {
        let dir = self.object_dir(bucket, key);
        // Unreadable metadata may name data this drive cannot see: touch nothing then (a heal
        // rewrites the metadata first).
        let keep: Vec<String> = match self.read_meta(bucket, key) {
            Ok(m) => m
                .map(|m| m.data_dirs().map(str::to_string).collect())
                .unwrap_or_default(),
            Err(DriveError::NoBucket) | Err(DriveError::NotFound) => return Ok(0),
            Err(e) => return Err(e),
        };
        let entries = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(META_TMP_PREFIX) {
                removed += usize::from(fs::remove_file(e.path()).is_ok());
            } else if let Some(id) = name.strip_prefix(DATA_PREFIX) {
                if !keep.iter().any(|k| k == id) && e.file_type().is_ok_and(|t| t.is_dir()) {
                    self.leases.remove(e.path());
                    removed += 1;
                }
            }
        }
        self.prune_empty(bucket, key);
        Ok(removed)
    }

    fn open_data(
        &self,
        bucket: &str,
        key: &str,
        data_dir: &str,
    ) -> DriveResult<Box<dyn DataReader>> {
        let path = self
            .object_dir(bucket, key)
            .join(format!("{DATA_PREFIX}{data_dir}"));
        self.leases.acquire(&path)?;
        Ok(Box::new(LocalData {
            leases: self.leases.clone(),
            path,
            bucket: self.bucket_dir(bucket),
        }))
    }

    // ---- staging ----

    fn new_staging(&self) -> DriveResult<Staging> {
        // Only the directory itself is created: when the temporary area is gone (the drive
        // directory was deleted, or the drive is unmounted and its mount point is bare) the
        // write fails on this drive instead of recreating the drive's tree elsewhere.
        let name = uuid::Uuid::new_v4().to_string();
        match fs::create_dir(self.tmp().join(&name)) {
            Ok(()) => Ok(Staging(name)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(DriveError::Offline),
            Err(e) => Err(e.into()),
        }
    }

    fn create_file(&self, staging: &Staging, name: &str) -> DriveResult<Box<dyn Sink>> {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.staging_dir(staging).join(name))?;
        Ok(Box::new(FileSink(io::BufWriter::with_capacity(
            256 * 1024,
            f,
        ))))
    }

    fn remove_staging(&self, staging: &Staging) {
        let _ = fs::remove_dir_all(self.staging_dir(staging));
    }

    // ---- multipart uploads ----

    fn put_upload(&self, bucket: &str, upload_id: &str, record: &[u8]) -> DriveResult<()> {
        self.check_present()?; // never recreate a vanished drive directory
        let dir = self.upload_dir(bucket, upload_id);
        fs::create_dir_all(&dir)?;
        write_synced(&dir.join(UPLOAD_FILE), record)?;
        // The record and every directory above it that may have just been made, durable.
        for d in [
            dir.clone(),
            self.multipart(bucket),
            self.sys().join("multipart"),
            self.sys(),
        ] {
            crate::fsutil::fsync_dir(&d)?;
        }
        Ok(())
    }

    fn read_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<u8>> {
        Ok(fs::read(
            self.upload_dir(bucket, upload_id).join(UPLOAD_FILE),
        )?)
    }

    fn list_uploads(&self, bucket: &str) -> DriveResult<Vec<Vec<u8>>> {
        let rd = match fs::read_dir(self.multipart(bucket)) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.check_present()?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(e.into()),
        };
        Ok(rd
            .flatten()
            .filter_map(|e| fs::read(e.path().join(UPLOAD_FILE)).ok())
            .collect())
    }

    fn remove_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<()> {
        match fs::remove_dir_all(self.upload_dir(bucket, upload_id)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => Ok(r?),
        }
    }

    fn commit_part(
        &self,
        bucket: &str,
        upload_id: &str,
        staging: &Staging,
        name: &str,
    ) -> DriveResult<()> {
        let upload = self.upload_dir(bucket, upload_id);
        if !upload.join(UPLOAD_FILE).is_file() {
            return Err(DriveError::NotFound);
        }
        // The staged files durable before the rename that makes the part visible, the rename
        // durable before the part is acknowledged.
        self.sync()?;
        fs::rename(self.staging_dir(staging), upload.join(name))?;
        self.sync()
    }

    fn remove_upload_part(&self, bucket: &str, upload_id: &str, name: &str) -> DriveResult<()> {
        match fs::remove_dir_all(self.upload_dir(bucket, upload_id).join(name)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => Ok(r?),
        }
    }

    fn list_parts(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<Vec<u8>>> {
        let upload = self.upload_dir(bucket, upload_id);
        let mut out = Vec::new();
        for e in fs::read_dir(&upload)?.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if let Ok(b) = fs::read(e.path().join(PART_RECORD)) {
                    out.push(b);
                }
            }
        }
        Ok(out)
    }

    fn link_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        parts: &[(String, u32)],
    ) -> DriveResult<Staging> {
        let staging = self.new_staging()?;
        let dir = self.staging_dir(&staging);
        let upload = self.upload_dir(bucket, upload_id);
        let linked = parts.iter().try_for_each(|(name, n)| {
            let file = format!("part.{n}");
            fs::hard_link(upload.join(name).join(&file), dir.join(&file))
        });
        if let Err(e) = linked {
            self.remove_staging(&staging);
            return Err(e.into());
        }
        Ok(staging)
    }

    // ---- listing ----

    fn walk(&self, bucket: &str, w: &Walk<'_>) -> DriveResult<Vec<WalkItem>> {
        let root = self.bucket_dir(bucket);
        if !root.is_dir() {
            self.check_present()?;
            return Err(DriveError::NoBucket);
        }
        let mut out = Vec::new();
        super::walk::walk_dir(&root, "", w, &mut out)?;
        Ok(out)
    }
}

/// A held data directory: parts are opened by path as they are reached, which works because
/// the directory cannot go while held (`Leases`).
struct LocalData {
    leases: Arc<Leases>,
    path: PathBuf,
    /// The bucket's directory (where pruning stops).
    bucket: PathBuf,
}

impl DataReader for LocalData {
    fn open_part(&self, part: u32) -> DriveResult<Box<dyn ReadAt>> {
        Ok(Box::new(File::open(
            self.path.join(format!("part.{part}")),
        )?))
    }
}

impl Drop for LocalData {
    fn drop(&mut self) {
        if self.leases.release(&self.path) {
            // The version was replaced or deleted while read: its directory went just now,
            // and the key's directories may be empty.
            if let Some(key_dir) = self.path.parent() {
                prune_from(&self.bucket, key_dir.to_path_buf());
            }
        }
    }
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DriveResult<()> {
        Ok(FileExt::read_exact_at(self, buf, offset)?)
    }

    fn size(&self) -> DriveResult<u64> {
        Ok(self.metadata()?.len())
    }
}

struct FileSink(io::BufWriter<File>);

impl Sink for FileSink {
    fn write_all(&mut self, bytes: &[u8]) -> DriveResult<()> {
        Ok(self.0.write_all(bytes)?)
    }

    fn finish(&mut self) -> DriveResult<()> {
        Ok(self.0.flush()?)
    }
}

/// See `LocalDrive::prune_empty`.
fn prune_from(top: &Path, mut dir: PathBuf) {
    while dir != top && dir.starts_with(top) {
        // Only empty directories go (`remove_dir` fails on anything else, atomically).
        if fs::remove_dir(&dir).is_err() {
            return;
        }
        match dir.parent() {
            Some(p) => dir = p.to_path_buf(),
            None => return,
        }
    }
}

/// Makes a digest-named key directory together with its `%name` file: made under a private
/// name and renamed into place, so that it never exists without `%name`. One that exists
/// already (made by another commit, or by an older version that could lose `%name`) gets its
/// `%name` back if it lacks it.
fn create_long_dir(parent: &Path, dir: &Path, name: &str) -> DriveResult<()> {
    if dir.join(LONG_NAME_FILE).is_file() {
        return Ok(());
    }
    if dir.is_dir() {
        let tmp = dir.join(format!(
            "{LONG_NAME_FILE}.tmp-{}",
            uuid::Uuid::new_v4().simple()
        ));
        fs::write(&tmp, name.as_bytes())?;
        return Ok(fs::rename(&tmp, dir.join(LONG_NAME_FILE))?);
    }
    let fresh = parent.join(format!("%new-{}", uuid::Uuid::new_v4().simple()));
    fs::create_dir(&fresh)?;
    let made = fs::write(fresh.join(LONG_NAME_FILE), name.as_bytes())
        .and_then(|()| fs::rename(&fresh, dir));
    match made {
        Ok(()) => Ok(()),
        // Made meanwhile by another commit (renaming onto a non-empty directory fails).
        Err(_) if dir.join(LONG_NAME_FILE).is_file() => {
            let _ = fs::remove_dir_all(&fresh);
            Ok(())
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&fresh);
            Err(e.into())
        }
    }
}

/// Data directories held by readers. Removing one that is held only marks it; the last
/// reader to let go removes it. A marked directory can no longer be taken. One table per drive
/// root in the process, shared by every `LocalDrive` of that root (a drive taken out of
/// service and brought back is a new `LocalDrive`; readers of the old one stay protected).
#[derive(Debug, Default)]
struct Leases {
    held: Mutex<HashMap<PathBuf, Lease>>,
}

#[derive(Debug, Default)]
struct Lease {
    readers: usize,
    /// To be removed (or being removed) once no reader holds it.
    doomed: bool,
}

impl Leases {
    fn of(root: &Path) -> Arc<Leases> {
        static ALL: std::sync::OnceLock<Mutex<HashMap<PathBuf, std::sync::Weak<Leases>>>> =
            std::sync::OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(l) = all.get(root).and_then(std::sync::Weak::upgrade) {
            return l;
        }
        let l = Arc::new(Leases::default());
        all.retain(|_, w| w.strong_count() > 0);
        all.insert(root.to_path_buf(), Arc::downgrade(&l));
        l
    }

    fn acquire(&self, path: &Path) -> DriveResult<()> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.get(path).is_some_and(|l| l.doomed) {
            return Err(DriveError::NotFound);
        }
        if !path.is_dir() {
            return Err(DriveError::NotFound);
        }
        held.entry(path.to_path_buf()).or_default().readers += 1;
        Ok(())
    }

    /// Lets go of a directory; true when this removed it (it was doomed meanwhile).
    fn release(&self, path: &Path) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let Some(l) = held.get_mut(path) else {
            return false;
        };
        l.readers = l.readers.saturating_sub(1);
        if l.readers > 0 {
            return false;
        }
        if !l.doomed {
            held.remove(path);
            return false;
        }
        drop(held);
        self.remove_now(path);
        true
    }

    fn remove(&self, path: PathBuf) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let lease = held.entry(path.clone()).or_default();
        let busy = lease.readers > 0 || lease.doomed;
        lease.doomed = true;
        drop(held);
        if !busy {
            self.remove_now(&path);
        }
    }

    /// Removes a doomed directory (no reader can take it meanwhile), then forgets it.
    fn remove_now(&self, path: &Path) {
        let _ = fs::remove_dir_all(path);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(path);
    }
}

fn created_ns(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.get(..8).and_then(|b| b.try_into().ok()).unwrap_or([0; 8]))
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

/// Capacity of the filesystem holding `path`.
pub fn statvfs(path: &Path) -> Option<Capacity> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain data; zeroed is a valid value for it.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and s a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let frsize = s.f_frsize as u64;
    Some(Capacity {
        total: s.f_blocks as u64 * frsize,
        free: s.f_bavail as u64 * frsize,
    })
}

//! A drive that is a local directory: with the format record (`layout`), the only place the
//! engine touches files, every path below the root through `beneath` (no symlink inside a
//! drive is ever followed: one found where the drive's own file or directory belongs is
//! damage, like a flipped bit, and a write or heal replaces it). Every
//! operation is crash-safe on its own (staging directories, durability barriers, atomic
//! renames); what a crash can leave behind is named below and removed by `sweep_key` under the
//! key's lock, or at start-up (`clean_tmp`). Shard files are written around the page cache
//! (`direct`: `O_DIRECT` where the filesystem takes it) and read through it.
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
//! <root>/…/<name>.tmp-<id>                      `%bucket`, `%name`, `healing`, `format.json`,
//!                                               `upload.json` being replaced (after a crash)
//! ```

use super::barrier::Barrier;
use super::beneath::{is_symlink, Dir, Kind, Root};
use super::direct::DirectSink;
use super::{
    Capacity, DataMove, DataReader, Drive, DriveError, DriveResult, Prepared, ReadAt, Sink,
    Staging, Walk, WalkItem,
};
use crate::meta::MetaFile;
use crate::names::{self, Segment, LONG_NAME_FILE};
use std::collections::HashMap;
use std::fs::File;
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
const TMP_DIR: &str = "tmp";
const MULTIPART_DIR: &str = "multipart";
const UPLOAD_FILE: &str = "upload.json";
const PART_RECORD: &str = "part.json";

#[derive(Debug)]
pub struct LocalDrive {
    /// As given: how the drive is named, and where the drive monitor looks for it.
    root: PathBuf,
    /// The root resolved once; every access below it goes through it.
    fs: Root,
    barrier: Barrier,
    leases: Arc<Leases>,
    healing: AtomicBool,
}

// Paths of the layout, relative to the root.

fn sys(name: &str) -> PathBuf {
    Path::new(SYS_DIR).join(name)
}

fn tmp() -> PathBuf {
    sys(TMP_DIR)
}

fn staging_dir(s: &Staging) -> PathBuf {
    tmp().join(&s.0)
}

fn multipart(bucket: &str) -> PathBuf {
    sys(MULTIPART_DIR).join(bucket)
}

fn upload_dir(bucket: &str, id: &str) -> PathBuf {
    multipart(bucket).join(id)
}

fn object_dir(bucket: &str, key: &str) -> PathBuf {
    Path::new(bucket).join(names::key_dir(key))
}

fn data_dir(bucket: &str, key: &str, id: &str) -> PathBuf {
    object_dir(bucket, key).join(format!("{DATA_PREFIX}{id}"))
}

fn errno(e: &io::Error, code: i32) -> bool {
    e.raw_os_error() == Some(code)
}

impl LocalDrive {
    pub fn new(root: impl Into<PathBuf>) -> LocalDrive {
        let root = root.into();
        let fs = Root::new(&root);
        let healing = fs.exists(sys(HEALING_FILE));
        LocalDrive {
            barrier: Barrier::new(fs.path()),
            leases: Leases::of(&fs),
            healing: AtomicBool::new(healing),
            fs,
            root,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes what interrupted writes left in the temporary area; called when the engine
    /// opens the drive, before any write of this process.
    pub fn clean_tmp(&self) -> io::Result<()> {
        let sys = self.fs.dir(SYS_DIR)?;
        match sys.remove_all(TMP_DIR) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sys.mkdir(TMP_DIR)
    }

    /// The root directory itself (`Offline` when it is gone).
    fn top(&self) -> DriveResult<Dir> {
        match self.fs.dir("") {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(DriveError::Offline),
            r => Ok(r?),
        }
    }

    /// The temporary area. A symlink in its place is damage, replaced by a directory (it only
    /// ever holds writes in progress); a missing one is never made again here (see
    /// `new_staging`).
    fn tmp_dir(&self) -> io::Result<Dir> {
        match self.fs.dir(tmp()) {
            Err(e) if is_symlink(&e) => self.fs.dir(SYS_DIR)?.ensure_dir(TMP_DIR),
            r => r,
        }
    }

    /// Makes the object's directory chain (durable with the commit's first barrier). A symlink
    /// on the way is damage: replaced by a directory (never written through).
    fn create_object_dir(&self, bucket: &str, key: &str) -> DriveResult<Dir> {
        let segments = names::key_segments(key);
        // Digest-named segments take the long way, which also restores a lost `%name`.
        if segments.iter().all(|s| matches!(s, Segment::Plain(_))) {
            if let Some(d) = self.object_dir_quickly(bucket, &segments) {
                return Ok(d);
            }
        }
        let mut cur = match self.fs.dir(bucket) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound || is_symlink(&e) => {
                return Err(DriveError::NoBucket)
            }
            Err(e) => return Err(e.into()),
        };
        for seg in &segments {
            cur = match seg {
                Segment::Plain(name) => cur.ensure_dir(name)?,
                Segment::Long { dir, name } => create_long_dir(&cur, dir, name)?,
            };
        }
        Ok(cur)
    }

    /// The object's directory when it is there (overwrites, heals: one open) or its parent is
    /// (a new key: made in the parent); `None` leaves anything else to the long way.
    fn object_dir_quickly(&self, bucket: &str, segments: &[Segment]) -> Option<Dir> {
        let rel: PathBuf = std::iter::once(bucket)
            .chain(segments.iter().map(Segment::dir_name))
            .collect();
        if let Ok(d) = self.fs.dir(&rel) {
            return Some(d);
        }
        let (parent, last) = (self.fs.dir(rel.parent()?).ok()?, rel.file_name()?);
        match parent.mkdir(last) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => None,
            _ => parent.dir(last).ok(),
        }
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
        f: impl Fn(&Dir) -> DriveResult<T>,
    ) -> DriveResult<T> {
        let mut attempts = 0;
        loop {
            match self.create_object_dir(bucket, key).and_then(|dir| f(&dir)) {
                Err(DriveError::NotFound)
                    if attempts < 8
                        && self.fs.is_dir(bucket)
                        && data.is_none_or(|d| self.fs.exists(staging_dir(d.staging))) =>
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
    fn move_data(&self, dir: &Dir, data: DataMove<'_>) -> DriveResult<()> {
        let tmp = self.tmp_dir()?;
        let staged = &data.staging.0;
        let target = format!("{DATA_PREFIX}{}", data.data_dir);
        match tmp.rename(staged, dir, &target) {
            Ok(()) => return Ok(()),
            // Damage: a symlink where the version's directory goes.
            Err(e) if errno(&e, libc::ENOTDIR) && dir.kind(&target)? == Kind::Symlink => {
                dir.remove_file(&target)?;
                return Ok(tmp.rename(staged, dir, &target)?);
            }
            Err(e) if errno(&e, libc::ENOTEMPTY) || errno(&e, libc::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
        let (from, to) = (tmp.dir(staged)?, dir.dir(&target)?);
        for e in from.list("")? {
            if to.kind(&e.name).is_ok_and(|k| k == Kind::Dir) {
                to.remove_all(&e.name)?; // damage: a directory where the shard file goes
            }
            from.rename(&e.name, &to, &e.name)?;
        }
        let _ = tmp.remove_dir(staged);
        Ok(())
    }

    /// Writes a metadata file beside `%meta` (not yet durable); returns its name.
    fn write_meta_tmp(dir: &Dir, meta: &MetaFile) -> DriveResult<String> {
        let name = format!("{META_TMP_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let written = dir
            .create(&name)
            .and_then(|mut f| f.write_all(&meta.encode()));
        if let Err(e) = written {
            let _ = dir.remove_file(&name);
            return Err(e.into());
        }
        Ok(name)
    }

    /// Writes `meta` beside `%meta` and renames it in, durably (the data moved in first).
    fn replace_meta(
        &self,
        dir: &Dir,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
    ) -> DriveResult<()> {
        if let Some(d) = data {
            self.move_data(dir, d)?;
        }
        let tmp = Self::write_meta_tmp(dir, meta)?;
        let result = self
            .sync()
            .and_then(|()| Ok(dir.rename(&tmp, dir, META_FILE)?))
            .and_then(|()| self.sync());
        if result.is_err() {
            let _ = dir.remove_file(&tmp);
        }
        result
    }

    /// Removes the key's `%meta` on this drive (not durable); true when there was one. A
    /// symlink on the way to it is damage where nothing should be: the chain is made real so
    /// that the link goes, and pruning removes the empty directories again.
    fn remove_meta_file(&self, bucket: &str, key: &str) -> DriveResult<bool> {
        let dir = match self.fs.dir(object_dir(bucket, key)) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) if is_symlink(&e) => match self.create_object_dir(bucket, key) {
                Ok(d) => d,
                Err(DriveError::NoBucket) => return Ok(false),
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e.into()),
        };
        match dir.remove_file(META_FILE) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes now-empty key directories up to (not including) the bucket directory. A
    /// digest-named directory (a long segment, with its `%name` file) is left in place: a
    /// commit of another key may be using it right now, and removing its `%name` under it
    /// would leave a directory whose keys no walk could name.
    fn prune_empty(&self, bucket: &str, key: &str) {
        prune_from(&self.fs, Path::new(bucket), object_dir(bucket, key));
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
        if self.fs.is_dir(SYS_DIR) {
            Ok(())
        } else {
            Err(DriveError::Offline)
        }
    }

    fn capacity(&self) -> DriveResult<Capacity> {
        statvfs(self.fs.path()).ok_or(DriveError::Offline)
    }

    fn is_healing(&self) -> bool {
        self.healing.load(Ordering::Relaxed)
    }

    fn set_healing(&self, healing: bool) -> DriveResult<()> {
        let sys = self.fs.dir(SYS_DIR)?;
        if healing {
            sys.replace(HEALING_FILE, &crate::now_ns().to_le_bytes())?;
        } else {
            match sys.remove_file(HEALING_FILE) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => sys.sync()?,
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
        let top = self.top()?;
        top.ensure_dir(bucket)?
            .replace(BUCKET_FILE, &created_ns.to_le_bytes())?;
        Ok(top.sync()?)
    }

    fn bucket_created(&self, bucket: &str) -> DriveResult<Option<u64>> {
        match self.fs.read(Path::new(bucket).join(BUCKET_FILE)) {
            Ok(b) => Ok(Some(created_ns(&b))),
            // "Absent" only from a drive that is there (a vanished drive knows nothing). A
            // symlink on the way is damage: the drive lacks the bucket, a heal makes it again.
            Err(e) if e.kind() == io::ErrorKind::NotFound || is_symlink(&e) => {
                self.check_present()?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn list_buckets(&self) -> DriveResult<Vec<(String, u64)>> {
        self.check_present()?;
        let top = self.top()?;
        let mut out = Vec::new();
        for e in top.list("")? {
            let Some(name) = e.name().filter(|_| e.kind == Kind::Dir) else {
                continue;
            };
            if let Ok(b) = top.read(Path::new(name).join(BUCKET_FILE)) {
                out.push((name.to_string(), created_ns(&b)));
            }
        }
        Ok(out)
    }

    fn delete_bucket(&self, bucket: &str) -> DriveResult<()> {
        if let Ok(uploads) = self.fs.dir(sys(MULTIPART_DIR)) {
            let _ = uploads.remove_all(bucket);
        }
        let top = self.top()?;
        match top.remove_all(bucket) {
            // A drive that is there but never had the bucket agrees it is gone.
            Err(e) if e.kind() == io::ErrorKind::NotFound => self.check_present()?,
            r => r?,
        }
        Ok(top.sync()?)
    }

    // ---- object metadata and data ----

    fn read_meta(&self, bucket: &str, key: &str) -> DriveResult<Option<MetaFile>> {
        match self.fs.read(object_dir(bucket, key).join(META_FILE)) {
            Ok(bytes) => MetaFile::decode(&bytes)
                .map(Some)
                .map_err(|e| DriveError::Corrupt(e.to_string())),
            // No metadata is "no versions" only while the bucket itself is there; a symlink
            // on the way is a damaged copy (a bucket that is one: no bucket).
            Err(e) if e.kind() == io::ErrorKind::NotFound || is_symlink(&e) => {
                if self.fs.is_dir(bucket) {
                    match is_symlink(&e) {
                        true => Err(e.into()),
                        false => Ok(None),
                    }
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
            let now = Self::write_meta_tmp(dir, meta)?;
            let later = match next {
                Some(m) if !m.versions.is_empty() => match Self::write_meta_tmp(dir, m) {
                    Ok(name) => Some(name),
                    Err(e) => {
                        let _ = dir.remove_file(&now);
                        return Err(e);
                    }
                },
                _ => None,
            };
            // The data, the key's directories and both metadata files durable, then the
            // rename, durable before the caller counts this drive as committed.
            let result = self
                .sync()
                .and_then(|()| Ok(dir.rename(&now, dir, META_FILE)?))
                .and_then(|()| self.sync());
            if result.is_err() {
                let _ = dir.remove_file(&now);
                if let Some(l) = &later {
                    let _ = dir.remove_file(l);
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
        let Some(name) = &next.0 else {
            return Ok(());
        };
        let dir = self.fs.dir(object_dir(bucket, key))?;
        match apply {
            true => Ok(dir.rename(name, &dir, META_FILE)?),
            false => Ok(dir.remove_file(name)?),
        }
    }

    fn remove_meta(&self, bucket: &str, key: &str) -> DriveResult<()> {
        self.remove_meta_file(bucket, key)?;
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
            if self.remove_meta_file(bucket, key)? {
                self.sync()?;
            }
            self.prune_empty(bucket, key);
            return Ok(());
        }
        self.in_object_dir(bucket, key, data, |dir| self.replace_meta(dir, meta, data))
    }

    fn remove_data(&self, bucket: &str, key: &str, data_dir_id: &str) {
        self.leases.remove(data_dir(bucket, key, data_dir_id));
        // Removed now unless a reader holds it (then its last reader removes it, and prunes).
        self.prune_empty(bucket, key);
    }

    fn sweep_key(&self, bucket: &str, key: &str) -> DriveResult<usize> {
        // Unreadable metadata may name data this drive cannot see: touch nothing then (a heal
        // rewrites the metadata first).
        let keep: Vec<String> = match self.read_meta(bucket, key) {
            Ok(m) => m
                .map(|m| m.data_dirs().map(str::to_string).collect())
                .unwrap_or_default(),
            Err(DriveError::NoBucket) | Err(DriveError::NotFound) => return Ok(0),
            Err(e) => return Err(e),
        };
        let rel = object_dir(bucket, key);
        let (dir, entries) = match self.fs.dir(&rel).and_then(|d| Ok((d.list("")?, d))) {
            Ok((entries, d)) => (d, entries),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        for e in entries {
            let Some(name) = e.name() else { continue };
            if name.starts_with(META_TMP_PREFIX) {
                removed += usize::from(dir.remove_file(name).is_ok());
            } else if let Some(id) = name.strip_prefix(DATA_PREFIX) {
                if keep.iter().any(|k| k == id) {
                    continue;
                }
                match e.kind {
                    Kind::Dir => {
                        self.leases.remove(rel.join(name));
                        removed += 1;
                    }
                    Kind::Symlink => removed += usize::from(dir.remove_file(name).is_ok()),
                    _ => {}
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
        data_dir_id: &str,
    ) -> DriveResult<Box<dyn DataReader>> {
        let rel = data_dir(bucket, key, data_dir_id);
        let dir = self.leases.acquire(&rel)?;
        Ok(Box::new(LocalData {
            leases: self.leases.clone(),
            rel,
            dir,
            bucket: PathBuf::from(bucket),
        }))
    }

    // ---- staging ----

    fn new_staging(&self) -> DriveResult<Staging> {
        // Only the directory itself is created: when the temporary area is gone (the drive
        // directory was deleted, or the drive is unmounted and its mount point is bare) the
        // write fails on this drive instead of recreating the drive's tree elsewhere.
        let name = uuid::Uuid::new_v4().to_string();
        match self.tmp_dir().and_then(|tmp| tmp.mkdir(&name)) {
            Ok(()) => Ok(Staging(name)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(DriveError::Offline),
            Err(e) => Err(e.into()),
        }
    }

    fn create_file(&self, staging: &Staging, name: &str) -> DriveResult<Box<dyn Sink>> {
        let f = self.fs.create(staging_dir(staging).join(name))?;
        Ok(Box::new(DirectSink::new(f, true)?))
    }

    fn remove_staging(&self, staging: &Staging) {
        // Usually moved into place already: one failed open says so.
        if !self.fs.exists(staging_dir(staging)) {
            return;
        }
        if let Ok(tmp) = self.fs.dir(tmp()) {
            let _ = tmp.remove_all(&staging.0);
        }
    }

    // ---- multipart uploads ----

    fn put_upload(&self, bucket: &str, upload_id: &str, record: &[u8]) -> DriveResult<()> {
        self.check_present()?; // never recreate a vanished drive directory
        let sys = self.fs.dir(SYS_DIR)?;
        let all = sys.ensure_dir(MULTIPART_DIR)?;
        let uploads = all.ensure_dir(bucket)?;
        // The record durable (`replace` syncs its directory), and every directory above it
        // that may have just been made.
        uploads
            .ensure_dir(upload_id)?
            .replace(UPLOAD_FILE, record)?;
        for d in [&uploads, &all, &sys] {
            d.sync()?;
        }
        Ok(())
    }

    fn read_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<u8>> {
        Ok(self
            .fs
            .read(upload_dir(bucket, upload_id).join(UPLOAD_FILE))?)
    }

    fn list_uploads(&self, bucket: &str) -> DriveResult<Vec<Vec<u8>>> {
        let uploads = match self.fs.dir(multipart(bucket)) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.check_present()?;
                return Ok(Vec::new());
            }
            Err(e) => return Err(e.into()),
        };
        Ok(records(&uploads, UPLOAD_FILE)?)
    }

    fn remove_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<()> {
        match self
            .fs
            .dir(multipart(bucket))
            .and_then(|d| d.remove_all(upload_id))
        {
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
        let upload = self.fs.dir(upload_dir(bucket, upload_id))?;
        if !upload.kind(UPLOAD_FILE).is_ok_and(|k| k == Kind::File) {
            return Err(DriveError::NotFound);
        }
        // The staged files durable before the rename that makes the part visible, the rename
        // durable before the part is acknowledged.
        self.sync()?;
        self.tmp_dir()?.rename(&staging.0, &upload, name)?;
        self.sync()
    }

    fn remove_upload_part(&self, bucket: &str, upload_id: &str, name: &str) -> DriveResult<()> {
        match self
            .fs
            .dir(upload_dir(bucket, upload_id))
            .and_then(|d| d.remove_all(name))
        {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => Ok(r?),
        }
    }

    fn list_parts(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<Vec<u8>>> {
        let upload = self.fs.dir(upload_dir(bucket, upload_id))?;
        Ok(records(&upload, PART_RECORD)?)
    }

    fn link_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        parts: &[(String, u32)],
    ) -> DriveResult<Staging> {
        let staging = self.new_staging()?;
        let linked = (|| -> io::Result<()> {
            let to = self.fs.dir(staging_dir(&staging))?;
            let upload = self.fs.dir(upload_dir(bucket, upload_id))?;
            for (name, n) in parts {
                let file = format!("part.{n}");
                upload.dir(name)?.link(&file, &to, &file)?;
            }
            Ok(())
        })();
        if let Err(e) = linked {
            self.remove_staging(&staging);
            return Err(e.into());
        }
        Ok(staging)
    }

    // ---- listing ----

    fn walk(&self, bucket: &str, w: &Walk<'_>) -> DriveResult<Vec<WalkItem>> {
        let dir = match self.fs.dir(bucket) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound || is_symlink(&e) => {
                self.check_present()?;
                return Err(DriveError::NoBucket);
            }
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        super::walk::walk_dir(&dir, Path::new(""), "", w, &mut out)?;
        Ok(out)
    }
}

/// The `record` file of every directory in `dir` (upload or part records); unreadable ones
/// and anything that is not a directory are skipped.
fn records(dir: &Dir, record: &str) -> io::Result<Vec<Vec<u8>>> {
    Ok(dir
        .list("")?
        .into_iter()
        .filter(|e| e.kind == Kind::Dir)
        .filter_map(|e| dir.read(Path::new(&e.name).join(record)).ok())
        .collect())
}

/// A held data directory, open: parts are opened in it as they are reached, which works
/// because the directory cannot go while held (`Leases`).
struct LocalData {
    leases: Arc<Leases>,
    /// Where it is, relative to the drive's root.
    rel: PathBuf,
    dir: Dir,
    /// The bucket's directory (where pruning stops).
    bucket: PathBuf,
}

impl DataReader for LocalData {
    fn open_part(&self, part: u32) -> DriveResult<Box<dyn ReadAt>> {
        Ok(Box::new(self.dir.file(format!("part.{part}"))?))
    }
}

impl Drop for LocalData {
    fn drop(&mut self) {
        if self.leases.release(&self.rel) {
            // The version was replaced or deleted while read: its directory went just now,
            // and the key's directories may be empty.
            if let Some(key_dir) = self.rel.parent() {
                prune_from(&self.leases.fs, &self.bucket, key_dir.to_path_buf());
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

/// See `LocalDrive::prune_empty` (paths relative to the drive's root).
fn prune_from(fs: &Root, top: &Path, mut dir: PathBuf) {
    while dir != top && dir.starts_with(top) {
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            return;
        };
        // Only empty directories go (`remove_dir` fails on anything else, atomically).
        if fs.dir(parent).and_then(|p| p.remove_dir(name)).is_err() {
            return;
        }
        dir = parent.to_path_buf();
    }
}

/// Makes a digest-named key directory together with its `%name` file: made under a private
/// name and renamed into place, so that it never exists without `%name`. One that exists
/// already (made by another commit, or by an older version that could lose `%name`) gets its
/// `%name` back if it lacks it. A symlink in its place is damage, replaced.
fn create_long_dir(parent: &Dir, dir: &str, name: &str) -> DriveResult<Dir> {
    match parent.dir(dir) {
        Ok(d) => {
            if !d.kind(LONG_NAME_FILE).is_ok_and(|k| k == Kind::File) {
                d.replace(LONG_NAME_FILE, name.as_bytes())?;
            }
            return Ok(d);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) if is_symlink(&e) => parent.remove_file(dir)?,
        Err(e) => return Err(e.into()),
    }
    let fresh = format!("%new-{}", uuid::Uuid::new_v4().simple());
    parent.mkdir(&fresh)?;
    let made = parent
        .dir(&fresh)
        .and_then(|d| d.create(LONG_NAME_FILE)?.write_all(name.as_bytes()))
        .and_then(|()| parent.rename(&fresh, parent, dir));
    let named = || {
        parent
            .dir(dir)
            .and_then(|d| Ok((d.kind(LONG_NAME_FILE)? == Kind::File).then_some(d)))
    };
    match made {
        Ok(()) => Ok(parent.dir(dir)?),
        // Made meanwhile by another commit (renaming onto a non-empty directory fails).
        Err(e) => {
            let _ = parent.remove_all(&fresh);
            match named() {
                Ok(Some(d)) => Ok(d),
                _ => Err(e.into()),
            }
        }
    }
}

/// Data directories held by readers. Removing one that is held only marks it; the last
/// reader to let go removes it. A marked directory can no longer be taken. One table per drive
/// root in the process, shared by every `LocalDrive` of that root (a drive taken out of
/// service and brought back is a new `LocalDrive`; readers of the old one stay protected).
/// Paths are relative to the root.
#[derive(Debug)]
struct Leases {
    fs: Root,
    held: Mutex<HashMap<PathBuf, Lease>>,
}

#[derive(Debug, Default)]
struct Lease {
    readers: usize,
    /// To be removed (or being removed) once no reader holds it.
    doomed: bool,
}

impl Leases {
    fn of(fs: &Root) -> Arc<Leases> {
        static ALL: std::sync::OnceLock<Mutex<HashMap<PathBuf, std::sync::Weak<Leases>>>> =
            std::sync::OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(l) = all.get(fs.path()).and_then(std::sync::Weak::upgrade) {
            return l;
        }
        let l = Arc::new(Leases {
            fs: fs.clone(),
            held: Mutex::default(),
        });
        all.retain(|_, w| w.strong_count() > 0);
        all.insert(fs.path().to_path_buf(), Arc::downgrade(&l));
        l
    }

    /// Takes the directory `rel`, open (`NotFound` when it is gone or going; a symlink in its
    /// place or on the way to it is damage).
    fn acquire(&self, rel: &Path) -> DriveResult<Dir> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.get(rel).is_some_and(|l| l.doomed) {
            return Err(DriveError::NotFound);
        }
        let dir = match self.fs.dir(rel) {
            Ok(d) => d,
            Err(e) if is_symlink(&e) => return Err(e.into()),
            Err(_) => return Err(DriveError::NotFound),
        };
        held.entry(rel.to_path_buf()).or_default().readers += 1;
        Ok(dir)
    }

    /// Lets go of a directory; true when this removed it (it was doomed meanwhile).
    fn release(&self, rel: &Path) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let Some(l) = held.get_mut(rel) else {
            return false;
        };
        l.readers = l.readers.saturating_sub(1);
        if l.readers > 0 {
            return false;
        }
        if !l.doomed {
            held.remove(rel);
            return false;
        }
        drop(held);
        self.remove_now(rel);
        true
    }

    fn remove(&self, rel: PathBuf) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let lease = held.entry(rel.clone()).or_default();
        let busy = lease.readers > 0 || lease.doomed;
        lease.doomed = true;
        drop(held);
        if !busy {
            self.remove_now(&rel);
        }
    }

    /// Removes a doomed directory (no reader can take it meanwhile), then forgets it.
    fn remove_now(&self, rel: &Path) {
        if let (Some(parent), Some(name)) = (rel.parent(), rel.file_name()) {
            if let Ok(p) = self.fs.dir(parent) {
                let _ = p.remove_all(name);
            }
        }
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(rel);
    }
}

fn created_ns(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.get(..8).and_then(|b| b.try_into().ok()).unwrap_or([0; 8]))
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

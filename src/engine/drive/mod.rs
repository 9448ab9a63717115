//! A drive, as the engine sees it: the only way the engine touches storage. `LocalDrive`
//! (a directory: a mounted drive, a CSI volume or a development folder) is today's one
//! implementation; a remote drive served by another node is meant to be another, so the trait
//! deals in keys, versions and streams of shard bytes, never in paths or whole files.
//!
//! Errors are typed (`DriveError`) so that quorum logic counts answers by kind — a drive that
//! is offline or whose copy is corrupt knows nothing, one that says "not there" is a vote for
//! absence — and never by message text.

mod barrier;
pub(crate) mod beneath;
pub(crate) mod bounded;
pub(crate) mod direct;
pub mod faulty;
mod local;
mod walk;

pub use local::{statvfs, LocalDrive, SYS_DIR};

use super::meta::MetaFile;
use std::io;
use std::path::Path;

pub type DriveResult<T> = Result<T, DriveError>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriveError {
    /// Not in service: removed, unmounted, or its directory is gone.
    #[error("drive offline")]
    Offline,
    /// The thing asked for is not on this drive.
    #[error("not found")]
    NotFound,
    /// The bucket's directory is missing on this drive (it missed the bucket's creation, or
    /// lost it): the drive knows nothing of the bucket's keys.
    #[error("bucket missing on drive")]
    NoBucket,
    /// Present but unreadable as what it should be (checksum, format, length).
    #[error("corrupt: {0}")]
    Corrupt(String),
    #[error("No space left on device (drive full)")]
    Full,
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Io(String),
}

impl From<io::Error> for DriveError {
    fn from(e: io::Error) -> DriveError {
        match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => return DriveError::Full,
            // `beneath` refused to follow a symlink where the drive's own file or directory
            // belongs: that copy is damaged (the other drives' copies serve, heal replaces it).
            Some(libc::ELOOP) => {
                return DriveError::Corrupt("a symlink inside the drive (not followed)".into())
            }
            _ => {}
        }
        match e.kind() {
            io::ErrorKind::NotFound => DriveError::NotFound,
            io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
                DriveError::Corrupt(e.to_string())
            }
            io::ErrorKind::TimedOut => DriveError::Timeout,
            _ => DriveError::Io(e.to_string()),
        }
    }
}

/// Something shard bytes can be read from at an offset: a shard file, or inline bytes.
pub trait ReadAt: Send + Sync {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DriveResult<()>;
    /// Total bytes.
    fn size(&self) -> DriveResult<u64>;
}

/// Where a file being written goes; durable only after the drive's `sync`.
pub trait Sink: Send {
    fn write_all(&mut self, bytes: &[u8]) -> DriveResult<()>;
    /// Flushes what is buffered (errors show here, not later).
    fn finish(&mut self) -> DriveResult<()>;
}

impl Sink for Vec<u8> {
    fn write_all(&mut self, bytes: &[u8]) -> DriveResult<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(&mut self) -> DriveResult<()> {
        Ok(())
    }
}

/// The data directory of one version, held open for reading: while any reader holds it, a
/// commit that replaces the version (or a delete) defers removing it, so a GET reads one
/// version from start to end.
pub trait DataReader: Send + Sync {
    fn open_part(&self, part: u32) -> DriveResult<Box<dyn ReadAt>>;
}

/// A private directory on the drive for a write in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staging(pub(crate) String);

/// A staged data directory to move into the object's directory as `%d<data_dir>`.
#[derive(Debug, Clone, Copy)]
pub struct DataMove<'a> {
    pub staging: &'a Staging,
    pub data_dir: &'a str,
}

/// Metadata prepared by `commit_meta` to replace the committed one once the commit reached its
/// quorum (written and durable already, so applying it is one rename).
#[derive(Debug, Clone)]
pub struct Prepared(pub(crate) Option<String>);

/// What to walk in a bucket, in key order.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    pub prefix: &'a str,
    /// Only names strictly after this.
    pub after: &'a str,
    /// Roll directories below the prefix level up into prefixes (delimiter `/`).
    pub collapse: bool,
    pub limit: usize,
    /// Also report key directories holding leftovers but no metadata (for the scanner).
    pub debris: bool,
}

/// One entry of a drive's walk, in key order.
#[derive(Debug, Clone)]
pub enum WalkItem {
    /// A key with metadata on this drive; `None` when it is there but unreadable.
    Object(String, Option<Box<MetaFile>>),
    /// A key directory with leftovers of an interrupted write and no metadata.
    Debris(String),
    /// A common prefix (ends with the delimiter).
    Prefix(String),
}

impl WalkItem {
    pub fn name(&self) -> &str {
        match self {
            WalkItem::Object(k, _) | WalkItem::Debris(k) | WalkItem::Prefix(k) => k,
        }
    }
}

/// Capacity of a drive's filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub total: u64,
    pub free: u64,
}

pub trait Drive: Send + Sync + std::fmt::Debug {
    /// How the drive is named in messages (its path, or node and path).
    fn label(&self) -> String;
    /// Its directory, when local.
    fn path(&self) -> Option<&Path>;
    /// Fails unless the drive is there: mounted and formatted.
    fn check_present(&self) -> DriveResult<()>;
    fn capacity(&self) -> DriveResult<Capacity>;
    /// Being rebuilt after a replacement: what it lacks may exist elsewhere, so its "not
    /// there" answers count as no answer.
    fn is_healing(&self) -> bool;
    fn set_healing(&self, healing: bool) -> DriveResult<()>;
    /// Waits until everything written on the drive so far is durable.
    fn sync(&self) -> DriveResult<()>;

    // ---- buckets ----
    fn make_bucket(&self, bucket: &str, created_ns: u64) -> DriveResult<()>;
    /// When the bucket was created, or `None` when the drive does not have it.
    fn bucket_created(&self, bucket: &str) -> DriveResult<Option<u64>>;
    fn list_buckets(&self) -> DriveResult<Vec<(String, u64)>>;
    /// Removes the bucket with everything in it (a drive without it agrees).
    fn delete_bucket(&self, bucket: &str) -> DriveResult<()>;

    // ---- object metadata and data ----
    /// The key's versions on this drive; `None` when it has none (`NoBucket` when it lacks
    /// the bucket itself).
    fn read_meta(&self, bucket: &str, key: &str) -> DriveResult<Option<MetaFile>>;
    /// Phase one of a commit: moves `data` into the object's directory, makes `meta` the key's
    /// metadata, and writes `next` (when given) ready to replace it; durable on return.
    fn commit_meta(
        &self,
        bucket: &str,
        key: &str,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
        next: Option<&MetaFile>,
    ) -> DriveResult<Prepared>;
    /// Phase two: puts the prepared metadata in place (`apply`) or discards it.
    fn finish_meta(&self, bucket: &str, key: &str, next: &Prepared, apply: bool)
        -> DriveResult<()>;
    /// Removes the key's metadata (not durable: used where it coming back is harmless).
    fn remove_meta(&self, bucket: &str, key: &str) -> DriveResult<()>;
    /// Replaces the key's metadata durably (an empty list removes it); `data` as for
    /// `commit_meta`, replacing files of a data directory that is already there.
    fn write_meta(
        &self,
        bucket: &str,
        key: &str,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
    ) -> DriveResult<()>;
    /// Removes a data directory, once no reader holds it.
    fn remove_data(&self, bucket: &str, key: &str, data_dir: &str);
    /// Removes what no metadata on this drive refers to in the key's directory: data
    /// directories and metadata files of interrupted writes. Only under the key's lock (a
    /// commit in progress has such files too). Returns how many were removed.
    fn sweep_key(&self, bucket: &str, key: &str) -> DriveResult<usize>;
    /// Holds a version's data directory for reading (`NotFound` when it is gone).
    fn open_data(
        &self,
        bucket: &str,
        key: &str,
        data_dir: &str,
    ) -> DriveResult<Box<dyn DataReader>>;

    // ---- staging ----
    fn new_staging(&self) -> DriveResult<Staging>;
    fn create_file(&self, staging: &Staging, name: &str) -> DriveResult<Box<dyn Sink>>;
    fn remove_staging(&self, staging: &Staging);

    // ---- multipart uploads ----
    fn put_upload(&self, bucket: &str, upload_id: &str, record: &[u8]) -> DriveResult<()>;
    fn read_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<u8>>;
    fn list_uploads(&self, bucket: &str) -> DriveResult<Vec<Vec<u8>>>;
    fn remove_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<()>;
    /// Moves a staged part directory (its shard file and record) into the upload as `name`,
    /// in one rename; durable on return.
    fn commit_part(
        &self,
        bucket: &str,
        upload_id: &str,
        staging: &Staging,
        name: &str,
    ) -> DriveResult<()>;
    /// Removes one part directory of the upload (an attempt that missed its quorum).
    fn remove_upload_part(&self, bucket: &str, upload_id: &str, name: &str) -> DriveResult<()>;
    /// The records of every part directory of the upload.
    fn list_parts(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<Vec<u8>>>;
    /// A new staging directory holding `part.<n>` hard links to the shard files of the named
    /// part directories (`(name, n)`): a completed upload's data directory, with no copying.
    fn link_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        parts: &[(String, u32)],
    ) -> DriveResult<Staging>;

    // ---- listing ----
    fn walk(&self, bucket: &str, w: &Walk<'_>) -> DriveResult<Vec<WalkItem>>;
}

//! The node plugin's privileged work (bind mounts, the mount table, XFS project quotas)
//! behind one trait, as the AWS EBS CSI driver puts its mounts behind `pkg/mounter`: the
//! node logic (idempotent stage and publish, single writers, read-only, mount options) then
//! runs against [`HostMounter`] in the plugin and against an in-memory table in unit tests,
//! which need no root. The loop-device tests keep the real one honest.

use super::mount::{self, MountInfo};
use super::mount_options::BindOptions;
use super::quota::{self, Usage};
use std::io;
use std::path::Path;

pub trait Mounter: Send + Sync {
    /// The top-most mount at exactly `path`, or None when it is not a mount point.
    fn mount_at(&self, path: &Path) -> io::Result<Option<MountInfo>>;
    /// Whether `path` is the root of a mount (a drive still mounted where it was).
    fn is_mount_root(&self, path: &Path) -> io::Result<bool>;
    /// Whether two paths show the same directory, through any bind mount.
    fn same_file(&self, a: &Path, b: &Path) -> io::Result<bool>;
    /// Bind-mounts `source` on `target` (both exist) with the options applied.
    fn bind(&self, source: &Path, target: &Path, options: &BindOptions) -> io::Result<()>;
    /// Unmounts the top-most mount at `target`: false when there was none.
    fn unmount_if_mounted(&self, target: &Path) -> io::Result<bool>;
    /// Every mount (other than the drive's own) showing `subtree` of the filesystem mounted
    /// at `drive_mount`, or something inside it (a pod's subPath), sorted.
    fn mounts_showing(&self, drive_mount: &Path, subtree: &str) -> Vec<String>;

    /// Whether the filesystem at `mount_point` enforces project quotas.
    fn quota_enforced(&self, mount_point: &Path) -> io::Result<bool>;
    /// Charges `dir` (and what is created in it) to `project_id`.
    fn assign_project(&self, dir: &Path, project_id: u32) -> io::Result<()>;
    fn project_of(&self, dir: &Path) -> io::Result<u32>;
    /// Sets the project's hard limit; 0 removes it.
    fn set_quota(&self, mount_point: &Path, project_id: u32, bytes: u64) -> io::Result<()>;
    fn quota_usage(&self, mount_point: &Path, project_id: u32) -> io::Result<Usage>;
}

/// The host's mounts and quotas: `mount.rs` and `quota.rs`.
pub struct HostMounter;

impl Mounter for HostMounter {
    fn mount_at(&self, path: &Path) -> io::Result<Option<MountInfo>> {
        mount::mount_at(path)
    }

    fn is_mount_root(&self, path: &Path) -> io::Result<bool> {
        mount::is_mount_root(path)
    }

    fn same_file(&self, a: &Path, b: &Path) -> io::Result<bool> {
        mount::same_file(a, b)
    }

    fn bind(&self, source: &Path, target: &Path, options: &BindOptions) -> io::Result<()> {
        mount::bind(source, target, options)
    }

    fn unmount_if_mounted(&self, target: &Path) -> io::Result<bool> {
        mount::unmount_if_mounted(target)
    }

    fn mounts_showing(&self, drive_mount: &Path, subtree: &str) -> Vec<String> {
        mount::mounts_showing(drive_mount, subtree)
    }

    fn quota_enforced(&self, mount_point: &Path) -> io::Result<bool> {
        quota::enforced(mount_point)
    }

    fn assign_project(&self, dir: &Path, project_id: u32) -> io::Result<()> {
        quota::assign_project(dir, project_id)
    }

    fn project_of(&self, dir: &Path) -> io::Result<u32> {
        quota::project_of(dir)
    }

    fn set_quota(&self, mount_point: &Path, project_id: u32, bytes: u64) -> io::Result<()> {
        quota::set_limit(mount_point, project_id, bytes)
    }

    fn quota_usage(&self, mount_point: &Path, project_id: u32) -> io::Result<Usage> {
        quota::usage(mount_point, project_id)
    }
}

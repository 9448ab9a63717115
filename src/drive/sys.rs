//! The few host operations that change state: mkfs, mount, unmount, wiping a signature.
//! Thin wrappers over syscalls and `mkfs.xfs`, so the logic around them stays testable.

use super::probe::STRATA_LABEL;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::process::Command;

/// Bytes zeroed by `wipe_signature`: covers every signature discovery probes for.
const WIPE_LEN: usize = 1024 * 1024;

fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Checks that `path` is a block device.
pub fn require_block_device(path: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.file_type().is_block_device() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a block device",
        ))
    }
}

/// Opens the device exclusively and closes it again: the kernel refuses (EBUSY) while the
/// device is mounted, held by dm/md, or opened exclusively by anyone else. The last guard
/// against formatting something in use that discovery could not see (e.g. in a container).
pub fn check_not_busy(dev: &Path) -> io::Result<()> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL)
        .open(dev)
        .map(drop)
}

/// `mkfs.xfs` with Strata's label and the given filesystem UUID.
pub fn mkfs_xfs(dev: &Path, uuid: &str, force: bool) -> Result<(), String> {
    let mut cmd = Command::new("mkfs.xfs");
    cmd.arg("-q")
        .arg("-L")
        .arg(STRATA_LABEL)
        .arg("-m")
        .arg(format!("uuid={uuid}"));
    if force {
        cmd.arg("-f");
    }
    let out = cmd
        .arg(dev)
        .output()
        .map_err(|e| format!("cannot run mkfs.xfs (is xfsprogs installed?): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mkfs.xfs failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Mounts an XFS filesystem, with project quotas when asked.
pub fn mount_xfs(dev: &Path, target: &Path, project_quota: bool) -> io::Result<()> {
    let data = if project_quota { "prjquota" } else { "" };
    mount(dev, target, libc::MS_NOATIME, data)
}

/// Mounts an XFS filesystem read-only (to look at a drive without changing it; a dirty log
/// is still replayed, as by any mount, so what is read is the filesystem's true state).
pub fn mount_xfs_read_only(dev: &Path, target: &Path) -> io::Result<()> {
    mount(dev, target, libc::MS_NOATIME | libc::MS_RDONLY, "")
}

fn mount(dev: &Path, target: &Path, flags: libc::c_ulong, data: &str) -> io::Result<()> {
    let source = cstring(dev)?;
    let target = cstring(target)?;
    let fstype = c"xfs";
    let data = CString::new(data).map_err(io::Error::other)?;
    // SAFETY: all pointers are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub fn unmount(target: &Path) -> io::Result<()> {
    let target = cstring(target)?;
    // SAFETY: target is a valid NUL-terminated string.
    if unsafe { libc::umount2(target.as_ptr(), 0) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Zeroes the start of the device (where every signature we know lives) and syncs it, so that
/// neither Strata nor blkid recognises a filesystem there any more.
pub fn wipe_signature(dev: &Path) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_EXCL)
        .open(dev)?;
    f.write_all(&vec![0u8; WIPE_LEN])?;
    f.sync_all()
}

/// Whether this kernel can mount XFS with quotas, when the kernel's config says so
/// (`/proc/config.gz` or `/boot/config-<release>`); `None` when nothing says.
pub fn kernel_xfs_quota_support() -> Option<bool> {
    let config = read_kernel_config()?;
    Some(
        config
            .lines()
            .any(|l| l == "CONFIG_XFS_QUOTA=y" || l == "CONFIG_XFS_QUOTA=m"),
    )
}

fn read_kernel_config() -> Option<String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    if let Ok(text) = std::fs::read_to_string(format!("/boot/config-{}", release.trim())) {
        return Some(text);
    }
    // /proc/config.gz is gzip; zcat keeps us free of a decompression dependency.
    let out = Command::new("zcat").arg("/proc/config.gz").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The node name: `$NODE_NAME` (set from the downward API in Kubernetes), else the hostname.
pub fn node_name() -> String {
    std::env::var("NODE_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            let mut s = String::new();
            File::open("/proc/sys/kernel/hostname")
                .and_then(|mut f| f.read_to_string(&mut s))
                .ok()?;
            Some(s.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".to_string())
}

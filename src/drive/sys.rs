//! The few host operations that change state: mkfs, mount, unmount, wiping a signature.
//! Thin wrappers over syscalls and `mkfs.xfs`, so the logic around them stays testable.

use super::probe::STRATA_LABEL;
use super::HostRoot;
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

/// Whether this kernel can mount XFS with quotas, when the kernel says so; `None` when
/// nothing says (a caller must then not touch a device on the strength of a guess).
pub fn kernel_xfs_quota_support() -> Option<bool> {
    xfs_quota_support(&HostRoot::default())
}

/// [`kernel_xfs_quota_support`] with the host's `/proc` and `/boot` below `host`. Asked in
/// this order, touching no device: `/proc/fs/xfs/xqm`, which the kernel has exactly when its
/// XFS has quota support (CONFIG_XFS_QUOTA), once XFS is loaded; the kernel's config
/// (`/boot/config-<release>`, `/proc/config.gz`); `/proc/fs/xfs` again after asking the
/// kernel for the XFS filesystem type, which loads the module when XFS is one.
pub fn xfs_quota_support(host: &HostRoot) -> Option<bool> {
    xfs_proc_says(host)
        .or_else(|| kernel_config(host).map(|c| config_has_xfs_quota(&c)))
        .or_else(|| {
            load_xfs();
            xfs_proc_says(host)
        })
}

/// What `/proc/fs/xfs` says: nothing while XFS is not loaded (its `stat` is always there).
fn xfs_proc_says(host: &HostRoot) -> Option<bool> {
    let dir = host.proc().join("fs/xfs");
    dir.join("stat").exists().then(|| dir.join("xqm").exists())
}

fn config_has_xfs_quota(config: &str) -> bool {
    config
        .lines()
        .any(|l| l == "CONFIG_XFS_QUOTA=y" || l == "CONFIG_XFS_QUOTA=m")
}

fn kernel_config(host: &HostRoot) -> Option<String> {
    let release = std::fs::read_to_string(host.proc().join("sys/kernel/osrelease")).ok()?;
    let boot = host.boot().join(format!("config-{}", release.trim()));
    if let Ok(text) = std::fs::read_to_string(boot) {
        return Some(text);
    }
    // /proc/config.gz is gzip; zcat keeps us free of a decompression dependency.
    let out = Command::new("zcat")
        .arg(host.proc().join("config.gz"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Asks the kernel for the XFS filesystem type with fsopen(2) and lets it go: the kernel
/// loads the xfs module if it is one, and nothing is mounted.
fn load_xfs() {
    // SAFETY: fsopen takes a NUL-terminated name and flags; the descriptor it returns is
    // ours and closed at once.
    let fd = unsafe { libc::syscall(libc::SYS_fsopen, c"xfs".as_ptr(), libc::FSOPEN_CLOEXEC) };
    if let Ok(fd) = libc::c_int::try_from(fd) {
        if fd >= 0 {
            // SAFETY: fd is an open descriptor owned here.
            unsafe { libc::close(fd) };
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_support_is_read_from_proc_then_the_config_and_unknown_otherwise() {
        let root = tempfile::tempdir().unwrap();
        let host = HostRoot::new(root.path());
        let proc_xfs = root.path().join("proc/fs/xfs");
        assert_eq!(xfs_quota_support(&host), None, "nothing tells");
        std::fs::create_dir_all(root.path().join("proc/sys/kernel")).unwrap();
        std::fs::write(root.path().join("proc/sys/kernel/osrelease"), "6.1.0-t\n").unwrap();
        std::fs::create_dir_all(root.path().join("boot")).unwrap();
        let config = root.path().join("boot/config-6.1.0-t");
        std::fs::write(&config, "CONFIG_XFS_FS=m\n# CONFIG_XFS_QUOTA is not set\n").unwrap();
        assert_eq!(xfs_quota_support(&host), Some(false));
        std::fs::write(&config, "CONFIG_XFS_FS=m\nCONFIG_XFS_QUOTA=y\n").unwrap();
        assert_eq!(xfs_quota_support(&host), Some(true));
        // The running kernel's XFS wins over a config file.
        std::fs::create_dir_all(&proc_xfs).unwrap();
        std::fs::write(proc_xfs.join("stat"), "").unwrap();
        assert_eq!(xfs_quota_support(&host), Some(false));
        std::fs::write(proc_xfs.join("xqm"), "").unwrap();
        assert_eq!(xfs_quota_support(&host), Some(true));
    }
}

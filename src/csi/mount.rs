//! Bind mounts for staging and publishing volumes, and what `/proc/self/mountinfo` says is
//! mounted at a path, so that stage/publish can check (and repeat) their work idempotently.

use super::mount_options::BindOptions;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::ptr;
use strata_drive::mounts::{parse_mountinfo, read_mountinfo, MountEntry};

/// The mount at a path, as mountinfo shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub mount_point: PathBuf,
    /// The subtree of the filesystem shown here, relative to the filesystem's root: `/` for
    /// a whole filesystem, the source directory for a bind mount of one.
    pub root: PathBuf,
    pub major_minor: String,
    pub fs_type: String,
    pub source: String,
    /// Per-mount read-only flag (a read-only bind of a writable filesystem says so).
    pub read_only: bool,
    /// Per-mount options, comma-separated as the kernel prints them.
    pub options: String,
}

fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Bind-mounts `source` on `target` (both must exist) with the given options. Options need
/// a second step (the kernel ignores them on the first); if that step fails the bind is
/// undone, so a mount without them (a writable one where a read-only one was asked) is never
/// left behind.
pub fn bind(source: &Path, target: &Path, options: &BindOptions) -> io::Result<()> {
    let src = cstring(source)?;
    let tgt = cstring(target)?;
    // SAFETY: src and tgt are valid NUL-terminated strings that outlive the call; fstype
    // and data may be NULL for a bind mount.
    check(unsafe {
        libc::mount(
            src.as_ptr(),
            tgt.as_ptr(),
            ptr::null(),
            libc::MS_BIND,
            ptr::null(),
        )
    })
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot bind-mount {} on {}: {e}",
                source.display(),
                target.display()
            ),
        )
    })?;
    if options.needs_remount() {
        if let Err(e) = remount(&tgt, options) {
            // SAFETY: tgt is a valid NUL-terminated string.
            unsafe { libc::umount2(tgt.as_ptr(), libc::MNT_DETACH) };
            return Err(io::Error::new(
                e.kind(),
                format!("cannot set the mount options of {}: {e}", target.display()),
            ));
        }
    }
    Ok(())
}

fn remount(target: &CString, options: &BindOptions) -> io::Result<()> {
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: target is a valid NUL-terminated string and st a writable statvfs.
    check(unsafe { libc::statvfs(target.as_ptr(), &mut st) })?;
    let flags = options.remount_flags(st.f_flag);
    // SAFETY: target is a valid NUL-terminated string; source, fstype and data may be NULL
    // for a bind remount.
    check(unsafe {
        libc::mount(
            ptr::null(),
            target.as_ptr(),
            ptr::null(),
            flags,
            ptr::null(),
        )
    })
}

/// umount2 without following a symlink at the target (a path inside a pod's volume could
/// be replaced by one); the error keeps its errno.
fn umount_nofollow(target: &Path) -> io::Result<()> {
    let tgt = cstring(target)?;
    // SAFETY: tgt is a valid NUL-terminated string.
    check(unsafe { libc::umount2(tgt.as_ptr(), libc::UMOUNT_NOFOLLOW) })
}

/// Unmounts the top-most mount at `target`; not a mount point is an error (EINVAL).
pub fn unmount(target: &Path) -> io::Result<()> {
    umount_nofollow(target).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot unmount {}: {e}", target.display()),
        )
    })
}

/// Unmounts the top-most mount at `target` if there is one: `Ok(true)` when it unmounted,
/// `Ok(false)` when `target` is not a mount point or does not exist, so that unstage and
/// unpublish can be repeated.
pub fn unmount_if_mounted(target: &Path) -> io::Result<bool> {
    match umount_nofollow(target) {
        Ok(()) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOENT)) => Ok(false),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot unmount {}: {e}", target.display()),
        )),
    }
}

/// The top-most mount at exactly `target` (symlinks resolved), or `None` when `target` is
/// not a mount point.
pub fn mount_at(target: &Path) -> io::Result<Option<MountInfo>> {
    // mountinfo shows resolved paths; a target that cannot be resolved is compared as is.
    let path = fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf());
    // The kernel prints mountinfo in chunks: a read racing other mounts and unmounts can
    // miss a line. The path's own mount-root flag tells whether a miss is real.
    for _ in 0..20 {
        let text = fs::read_to_string("/proc/self/mountinfo")?;
        if let Some(m) = top_mount_at(&parse_mountinfo(&text), &path.to_string_lossy()) {
            return Ok(Some(m));
        }
        if !is_mount_root(&path)? {
            return Ok(None);
        }
    }
    Err(io::Error::other(format!(
        "{} is a mount point but /proc/self/mountinfo does not list it",
        path.display()
    )))
}

/// Whether a path is the root of a mount (statx's STATX_ATTR_MOUNT_ROOT; bind mounts of a
/// directory of the same filesystem included). A missing path is not.
pub fn is_mount_root(path: &Path) -> io::Result<bool> {
    let c = cstring(path)?;
    // SAFETY: statx is plain data, for which all zeros is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: statx fills the zeroed struct; c is a valid NUL-terminated path.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            0,
            &mut stx,
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::NotFound {
            Ok(false)
        } else {
            Err(e)
        };
    }
    let flag = libc::STATX_ATTR_MOUNT_ROOT as u64;
    Ok(stx.stx_attributes_mask & flag != 0 && stx.stx_attributes & flag != 0)
}

fn top_mount_at(entries: &[MountEntry], path: &str) -> Option<MountInfo> {
    let here: Vec<&MountEntry> = entries.iter().filter(|m| m.mount_point == path).collect();
    let top = here
        .iter()
        .rev()
        .find(|m| !here.iter().any(|o| o.parent_id == m.mount_id))?;
    Some(MountInfo {
        mount_point: PathBuf::from(&top.mount_point),
        root: PathBuf::from(&top.root),
        major_minor: top.major_minor.clone(),
        fs_type: top.fs_type.clone(),
        source: top.source.clone(),
        read_only: top.options.split(',').any(|o| o == "ro"),
        options: top.options.clone(),
    })
}

/// Every mount (other than the drive's own) showing `subtree` of the drive's filesystem or
/// something inside it (a pod's subPath).
pub fn mounts_showing(drive_mount: &Path, subtree: &str) -> Vec<String> {
    // Two reads: one read racing other mounts can miss a line (see mount_at).
    let mut entries = read_mountinfo(Path::new("/proc/self/mountinfo"));
    entries.extend(read_mountinfo(Path::new("/proc/self/mountinfo")));
    let here = drive_mount.to_string_lossy();
    let Some(dev) = entries
        .iter()
        .rev()
        .find(|e| e.mount_point == here)
        .map(|e| e.major_minor.clone())
    else {
        return Vec::new();
    };
    let mut points: Vec<String> = entries
        .into_iter()
        .filter(|e| {
            e.major_minor == dev
                && (e.root == subtree
                    || e.root
                        .strip_prefix(subtree)
                        .is_some_and(|rest| rest.starts_with('/')))
        })
        .map(|e| e.mount_point)
        .collect();
    points.sort();
    points.dedup();
    points
}

/// Whether two paths are the same file or directory (device and inode, symlinks followed),
/// e.g. whether a staging path shows the volume's directory.
pub fn same_file(a: &Path, b: &Path) -> io::Result<bool> {
    let (ma, mb) = (fs::metadata(a)?, fs::metadata(b)?);
    Ok(ma.dev() == mb.dev() && ma.ino() == mb.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACKED: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
30 1 259:1 / /var/lib/strata/mnt/abc rw,noatime shared:9 - xfs /dev/nvme0n1 rw,prjquota
41 25 259:1 /vols/pvc-1 /var/lib/kubelet/plugins/staging/pv\\040one rw,noatime shared:9 - xfs /dev/nvme0n1 rw,prjquota
52 41 259:1 /vols/pvc-2 /var/lib/kubelet/plugins/staging/pv\\040one ro,noatime shared:9 - xfs /dev/nvme0n1 rw,prjquota
60 25 0:50 / /var/lib/kubelet/plugins/staging/pv\\040one/sub rw - tmpfs tmpfs rw
";

    #[test]
    fn finds_the_top_most_mount_at_an_escaped_path() {
        let entries = parse_mountinfo(STACKED);
        let m = top_mount_at(&entries, "/var/lib/kubelet/plugins/staging/pv one").unwrap();
        assert_eq!(m.root, Path::new("/vols/pvc-2"));
        assert_eq!(m.major_minor, "259:1");
        assert_eq!(m.fs_type, "xfs");
        assert_eq!(m.source, "/dev/nvme0n1");
        assert!(m.read_only);
        assert_eq!(m.options, "ro,noatime");

        let below: Vec<MountEntry> = entries.into_iter().filter(|e| e.mount_id != 52).collect();
        let m = top_mount_at(&below, "/var/lib/kubelet/plugins/staging/pv one").unwrap();
        assert_eq!(m.root, Path::new("/vols/pvc-1"));
        assert!(!m.read_only);
    }

    #[test]
    fn only_exact_paths_match() {
        let entries = parse_mountinfo(STACKED);
        assert!(top_mount_at(&entries, "/var/lib/kubelet/plugins/staging").is_none());
        assert!(top_mount_at(&entries, "/var/lib/kubelet/plugins/staging/pv\\040one").is_none());
        assert!(top_mount_at(&entries, "/var/lib/strata/mnt/abc/").is_none());
        let m = top_mount_at(&entries, "/proc").unwrap();
        assert_eq!(m.root, Path::new("/"));
        assert!(!m.read_only, "noexec is not ro");
    }

    #[test]
    fn same_file_compares_device_and_inode() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::create_dir(&a).unwrap();
        fs::create_dir(dir.path().join("b")).unwrap();
        std::os::unix::fs::symlink(&a, dir.path().join("link")).unwrap();
        assert!(same_file(&a, &dir.path().join("link")).unwrap());
        assert!(same_file(&a, &dir.path().join("b/../a")).unwrap());
        assert!(!same_file(&a, &dir.path().join("b")).unwrap());
        assert!(same_file(&a, &dir.path().join("missing")).is_err());
    }
}

//! XFS project quotas and bind mounts on real loop devices (root). Where the kernel lacks
//! XFS quota support (as on the usual build hosts) the quota test checks that this is
//! reported cleanly; run it in the VM lab with STRATA_REQUIRE_QUOTA=1 for enforcement.

use crate::common;

use common::{quota_supported, LoopDevice, MIB};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::csi::mount::{bind, mount_at, same_file, unmount, unmount_if_mounted};
use strata::csi::mount_options::BindOptions;
use strata::csi::quota::{self, assign_project, enforced, project_of, set_limit, usage};
use strata::drive::sys;

const SIZE: u64 = 600 * MIB;

/// Unmounts (lazily) on drop, so a failing test leaves no mount behind. Declared after what
/// it mounts (a loop device, a directory), it is dropped before it.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        use std::os::unix::ffi::OsStrExt;
        if let Ok(path) = std::ffi::CString::new(self.0.as_os_str().as_bytes()) {
            // SAFETY: path is a valid NUL-terminated string. EINVAL (already unmounted by
            // the test) is expected and ignored.
            unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// A fresh XFS filesystem on a loop device, and an empty directory to mount it on.
fn xfs_disk() -> (LoopDevice, tempfile::TempDir) {
    let disk = LoopDevice::new(SIZE);
    let out = Command::new("mkfs.xfs")
        .args(["-q", "-f", &disk.dev])
        .output()
        .expect("run mkfs.xfs");
    assert!(
        out.status.success(),
        "mkfs.xfs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (disk, tempfile::tempdir().expect("tempdir"))
}

/// Writes 64 KiB chunks (fsyncing each file) until `limit` bytes or an error; returns the
/// bytes written and the error.
fn fill(path: &Path, limit: u64) -> (u64, Option<io::Error>) {
    let chunk = vec![0xa5u8; 64 * 1024];
    let mut f = match OpenOptions::new().create(true).append(true).open(path) {
        Ok(f) => f,
        Err(e) => return (0, Some(e)),
    };
    let mut written = 0;
    while written < limit {
        match f.write_all(&chunk) {
            Ok(()) => written += chunk.len() as u64,
            Err(e) => return (written, Some(e)),
        }
    }
    (written, f.sync_all().err())
}

fn is_quota_full(e: &io::Error) -> bool {
    // XFS reports a full project quota as ENOSPC; EDQUOT is what user/group quotas give.
    matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

fn check_project_ids(mnt: &Path) {
    let vol = mnt.join("vol");
    fs::create_dir(&vol).unwrap();
    assert_eq!(project_of(&vol).unwrap(), 0);
    assign_project(&vol, 7).unwrap();
    assign_project(&vol, 7).unwrap();
    assert_eq!(project_of(&vol).unwrap(), 7);
    fs::create_dir(vol.join("sub")).unwrap();
    File::create(vol.join("sub/file")).unwrap();
    assert_eq!(project_of(&vol.join("sub")).unwrap(), 7, "not inherited");
    assert_eq!(
        project_of(&vol.join("sub/file")).unwrap(),
        7,
        "not inherited"
    );
    assert!(project_of(&mnt.join("missing")).is_err());
}

/// Unmounts `mnt`, waiting out EBUSY for a few seconds. Seen once in the VM lab right after the
/// writes above; probably a process the other test of this binary started at that moment,
/// holding copies of our descriptors between its fork and its exec (a long window on the lab's
/// emulated CPU).
fn unmount_when_idle(mnt: &Path) {
    for _ in 0..50 {
        match unmount(mnt) {
            Err(e) if e.kind() == io::ErrorKind::ResourceBusy => {
                std::thread::sleep(std::time::Duration::from_millis(100))
            }
            r => return r.unwrap(),
        }
    }
    unmount(mnt).unwrap();
}

#[test]
fn project_quota_limits_writes_or_is_reported_unavailable() {
    let (disk, dir) = xfs_disk();
    let mnt = dir.path();
    if !quota_supported() {
        let err = sys::mount_xfs(Path::new(&disk.dev), mnt, true)
            .expect_err("prjquota mount succeeded on a kernel said to lack XFS quotas");
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        sys::mount_xfs(Path::new(&disk.dev), mnt, false).unwrap();
        let _mounted = Mounted(mnt.to_path_buf());
        check_no_quota(mnt, false);
        // Project ids live in the inode and work without quotas.
        check_project_ids(mnt);
        return;
    }

    sys::mount_xfs(Path::new(&disk.dev), mnt, true).unwrap();
    let mounted = Mounted(mnt.to_path_buf());
    assert!(enforced(mnt).unwrap(), "prjquota mount does not enforce");
    check_project_ids(mnt);
    let vol = mnt.join("vol");

    // An id with no usage and no limits has no quota record: zeros.
    assert_eq!(usage(mnt, 4242).unwrap(), quota::Usage::default());

    set_limit(mnt, 7, 4 * MIB).unwrap();
    let u = usage(mnt, 7).unwrap();
    assert_eq!(u.bytes_limit, 4 * MIB);
    assert_eq!(u.inodes_used, 3, "vol, sub and sub/file: {u:?}");

    let (written, err) = fill(&vol.join("a"), 16 * MIB);
    let err = err.expect("a write past the 4 MiB limit succeeded");
    assert!(is_quota_full(&err), "unexpected error: {err}");
    assert!(
        (3 * MIB..=4 * MIB).contains(&written),
        "wrote {written} bytes"
    );
    let u = usage(mnt, 7).unwrap();
    assert!(
        (4 * MIB - 256 * 1024..=4 * MIB).contains(&u.bytes_used),
        "{u:?}"
    );
    assert_eq!(u.bytes_limit, 4 * MIB);
    assert_eq!(u.inodes_used, 4, "{u:?}");
    // Outside the project, the filesystem still has room.
    assert!(fill(&mnt.join("outside"), MIB).1.is_none());

    set_limit(mnt, 7, 8 * MIB).unwrap();
    assert_eq!(usage(mnt, 7).unwrap().bytes_limit, 8 * MIB);
    let (more, err) = fill(&vol.join("b"), 2 * MIB);
    assert!(err.is_none(), "after raising the limit: {err:?}");
    assert_eq!(more, 2 * MIB);
    let (_, err) = fill(&vol.join("c"), 16 * MIB);
    assert!(err.as_ref().is_some_and(is_quota_full), "{err:?}");
    let used = usage(mnt, 7).unwrap().bytes_used;
    assert!((8 * MIB - 256 * 1024..=8 * MIB).contains(&used), "{used}");

    // 0 removes the limit.
    set_limit(mnt, 7, 0).unwrap();
    assert_eq!(usage(mnt, 7).unwrap().bytes_limit, 0);
    let (_, err) = fill(&vol.join("d"), 4 * MIB);
    assert!(err.is_none(), "without a limit: {err:?}");
    assert!(usage(mnt, 7).unwrap().bytes_used > 8 * MIB);

    // The same filesystem mounted without quotas: reported, never silently ignored.
    unmount_when_idle(mnt);
    drop(mounted);
    sys::mount_xfs(Path::new(&disk.dev), mnt, false).unwrap();
    let _mounted = Mounted(mnt.to_path_buf());
    check_no_quota(mnt, true);
}

/// On a filesystem without project quotas, `enforced` says no and limits cannot be set or
/// read. Only a kernel without quotactl_fd(2) may leave `enforced` unable to tell.
fn check_no_quota(mnt: &Path, kernel_has_quota: bool) {
    let not_enabled = |e: io::Error| {
        assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
        assert!(
            e.to_string().contains("project quotas are not enabled on"),
            "{e}"
        );
    };
    match enforced(mnt) {
        Ok(on) => assert!(!on, "quotas enforced on a plain mount"),
        Err(e) if !kernel_has_quota => not_enabled(e),
        Err(e) => panic!("enforced() on a plain mount: {e}"),
    }
    not_enabled(set_limit(mnt, 7, 4 * MIB).unwrap_err());
    not_enabled(usage(mnt, 7).unwrap_err());
}

#[test]
fn bind_mounts_read_only_and_read_write() {
    let (disk, dir) = xfs_disk();
    let mnt = dir.path();
    sys::mount_xfs(Path::new(&disk.dev), mnt, false).unwrap();
    let _xfs = Mounted(mnt.to_path_buf());
    let vol = mnt.join("vol");
    fs::create_dir(&vol).unwrap();
    fs::write(vol.join("hello"), b"hi").unwrap();
    let other = mnt.join("other");
    fs::create_dir(&other).unwrap();

    // Targets with a space and a backslash, which mountinfo escapes.
    let targets = tempfile::tempdir().unwrap();
    let rw = targets.path().join("read write");
    let ro = targets.path().join("read\\only");
    fs::create_dir(&rw).unwrap();
    fs::create_dir(&ro).unwrap();
    assert_eq!(mount_at(&rw).unwrap(), None);

    bind(&vol, &rw, &BindOptions::read_only(false)).unwrap();
    let _rw = Mounted(rw.clone());
    bind(&vol, &ro, &BindOptions::read_only(true)).unwrap();
    let _ro = Mounted(ro.clone());

    let xfs = mount_at(mnt).unwrap().expect("xfs mount");
    let m = mount_at(&rw).unwrap().expect("rw bind");
    assert_eq!(m.root, Path::new("/vol"));
    assert_eq!(m.mount_point, fs::canonicalize(&rw).unwrap());
    assert_eq!(m.fs_type, "xfs");
    assert_eq!(m.source, disk.dev);
    assert_eq!(m.major_minor, xfs.major_minor);
    assert!(!m.read_only, "{m:?}");
    let m = mount_at(&ro).unwrap().expect("ro bind");
    assert_eq!(m.root, Path::new("/vol"));
    assert!(m.read_only, "{m:?}");
    assert!(
        m.options.split(',').any(|o| o == "noatime"),
        "read-only remount lost noatime: {m:?}"
    );

    assert!(same_file(&rw, &vol).unwrap());
    assert!(same_file(&ro, &vol).unwrap());
    assert!(!same_file(&ro, &other).unwrap());
    fs::write(rw.join("new"), b"x").unwrap();
    assert_eq!(fs::read(vol.join("new")).unwrap(), b"x");
    assert_eq!(fs::read(ro.join("hello")).unwrap(), b"hi");
    let err = fs::write(ro.join("nope"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");

    // A mount stacked on the rw target is the one reported, and the first one unmounted.
    bind(&other, &rw, &BindOptions::read_only(true)).unwrap();
    let _stacked = Mounted(rw.clone());
    let m = mount_at(&rw).unwrap().expect("stacked bind");
    assert_eq!((m.root.as_path(), m.read_only), (Path::new("/other"), true));
    assert!(unmount_if_mounted(&rw).unwrap());
    assert_eq!(mount_at(&rw).unwrap().map(|m| m.root), Some("/vol".into()));
    assert!(same_file(&rw, &vol).unwrap());

    unmount(&rw).unwrap();
    assert_eq!(mount_at(&rw).unwrap(), None);
    assert!(!same_file(&rw, &vol).unwrap());
    let err = unmount(&rw).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("cannot unmount"), "{err}");
    assert!(!unmount_if_mounted(&rw).unwrap());
    assert!(!unmount_if_mounted(&targets.path().join("missing")).unwrap());
    assert!(unmount_if_mounted(&ro).unwrap());
    assert_eq!(mount_at(&ro).unwrap(), None);

    // Binding a missing source fails and mounts nothing.
    let err = bind(&mnt.join("missing"), &ro, &BindOptions::read_only(true)).unwrap_err();
    assert!(err.to_string().contains("cannot bind-mount"), "{err}");
    assert_eq!(mount_at(&ro).unwrap(), None);
}

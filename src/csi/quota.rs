//! XFS project quotas through syscalls: a volume is a directory whose project id carries the
//! volume's size as a block hard limit.
//!
//! Quota commands go through `quotactl_fd(2)` (Linux ≥ 5.14) on a descriptor of the mount
//! point, so they never need the block device path, which may be stale after a rename.

use std::fs::File;
use std::io;
use std::mem::size_of;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Quota units of the XFS interface: 512-byte "basic blocks".
const BASIC_BLOCK: u64 = 512;

// linux/quota.h
const PRJQUOTA: u32 = 2;
const SUBCMDSHIFT: u32 = 8;
const SUBCMDMASK: u32 = 0xff;

// linux/dqblk_xfs.h
const fn xqm_cmd(x: u32) -> u32 {
    ((b'X' as u32) << 8) + x
}
const Q_XGETQUOTA: u32 = xqm_cmd(3);
const Q_XSETQLIM: u32 = xqm_cmd(4);
const Q_XGETQSTATV: u32 = xqm_cmd(8);
const FS_DQUOT_VERSION: i8 = 1;
const FS_QSTATV_VERSION1: i8 = 1;
const FS_PROJ_QUOTA: i8 = 1 << 1;
const FS_DQ_BSOFT: u16 = 1 << 2;
const FS_DQ_BHARD: u16 = 1 << 3;
const FS_QUOTA_PDQ_ACCT: u16 = 1 << 4;
const FS_QUOTA_PDQ_ENFD: u16 = 1 << 5;

// linux/fs.h
const FS_XFLAG_PROJINHERIT: u32 = 0x0000_0200;
const FS_IOC_FSGETXATTR: libc::Ioctl = libc::_IOR::<FsXattr>(b'X' as u32, 31);
const FS_IOC_FSSETXATTR: libc::Ioctl = libc::_IOW::<FsXattr>(b'X' as u32, 32);

/// `struct fsxattr` from linux/fs.h.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct FsXattr {
    fsx_xflags: u32,
    fsx_extsize: u32,
    fsx_nextents: u32,
    fsx_projid: u32,
    fsx_cowextsize: u32,
    fsx_pad: [u8; 8],
}

/// `struct fs_disk_quota` from linux/dqblk_xfs.h. Block counts are in basic blocks.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct FsDiskQuota {
    d_version: i8,
    d_flags: i8,
    d_fieldmask: u16,
    d_id: u32,
    d_blk_hardlimit: u64,
    d_blk_softlimit: u64,
    d_ino_hardlimit: u64,
    d_ino_softlimit: u64,
    d_bcount: u64,
    d_icount: u64,
    d_itimer: i32,
    d_btimer: i32,
    d_iwarns: u16,
    d_bwarns: u16,
    d_itimer_hi: i8,
    d_btimer_hi: i8,
    d_rtbtimer_hi: i8,
    d_padding2: i8,
    d_rtb_hardlimit: u64,
    d_rtb_softlimit: u64,
    d_rtbcount: u64,
    d_rtbtimer: i32,
    d_rtbwarns: u16,
    d_padding3: i16,
    d_padding4: [u8; 8],
}

/// `struct fs_qfilestatv` from linux/dqblk_xfs.h.
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct FsQfilestatv {
    qfs_ino: u64,
    qfs_nblks: u64,
    qfs_nextents: u32,
    qfs_pad: u32,
}

/// `struct fs_quota_statv` from linux/dqblk_xfs.h (Q_XGETQSTATV: unlike the older
/// `fs_quota_stat`, its layout has no architecture-dependent padding).
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
struct FsQuotaStatv {
    qs_version: i8,
    qs_pad1: u8,
    qs_flags: u16,
    qs_incoredqs: u32,
    qs_uquota: FsQfilestatv,
    qs_gquota: FsQfilestatv,
    qs_pquota: FsQfilestatv,
    qs_btimelimit: i32,
    qs_itimelimit: i32,
    qs_rtbtimelimit: i32,
    qs_bwarnlimit: u16,
    qs_iwarnlimit: u16,
    qs_rtbwarnlimit: u16,
    qs_pad3: u16,
    qs_pad4: u32,
    qs_pad2: [u64; 7],
}

/// What a project uses and may use; a limit of 0 means none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub bytes_used: u64,
    pub bytes_limit: u64,
    pub inodes_used: u64,
    pub inodes_limit: u64,
}

const fn qcmd(cmd: u32, kind: u32) -> u32 {
    (cmd << SUBCMDSHIFT) | (kind & SUBCMDMASK)
}

/// Bytes to basic blocks, rounded up so a volume never gets less than it asked for; capped
/// where the kernel's conversion back to bytes would overflow (and wrap to "no limit").
fn to_basic_blocks(bytes: u64) -> u64 {
    bytes.div_ceil(BASIC_BLOCK).min(u64::MAX / BASIC_BLOCK)
}

fn with_path(err: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(err.kind(), format!("{what} {}: {err}", path.display()))
}

fn get_xattr(dir: &File) -> io::Result<FsXattr> {
    let mut attr = FsXattr::default();
    // SAFETY: the fd is open for the call and `attr` is a writable fsxattr, the size the
    // ioctl number encodes.
    let rc = unsafe { libc::ioctl(dir.as_raw_fd(), FS_IOC_FSGETXATTR, &mut attr) };
    if rc == 0 {
        Ok(attr)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn open_dir(dir: &Path) -> io::Result<File> {
    File::open(dir).map_err(|e| with_path(e, "cannot open", dir))
}

/// Gives `dir` the project id and the inherit flag, so that everything created below it is
/// charged to the same project. Idempotent. Files already inside keep their own project id.
pub fn assign_project(dir: &Path, project_id: u32) -> io::Result<()> {
    let f = open_dir(dir)?;
    let mut attr = get_xattr(&f).map_err(|e| with_path(e, "cannot read project id of", dir))?;
    if attr.fsx_projid == project_id && attr.fsx_xflags & FS_XFLAG_PROJINHERIT != 0 {
        return Ok(());
    }
    attr.fsx_projid = project_id;
    attr.fsx_xflags |= FS_XFLAG_PROJINHERIT;
    // SAFETY: the fd is open for the call and `attr` is a valid fsxattr, the size the ioctl
    // number encodes; the kernel only reads it.
    let rc = unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_FSSETXATTR, &attr) };
    if rc == 0 {
        Ok(())
    } else {
        Err(with_path(
            io::Error::last_os_error(),
            &format!("cannot set project id {project_id} on"),
            dir,
        ))
    }
}

/// The project id of a file or directory (0 when none was ever set).
pub fn project_of(dir: &Path) -> io::Result<u32> {
    let f = open_dir(dir)?;
    get_xattr(&f)
        .map(|a| a.fsx_projid)
        .map_err(|e| with_path(e, "cannot read project id of", dir))
}

/// `quotactl_fd(2)` with a project-quota command on the filesystem of `mount_point`.
fn quotactl(mount_point: &Path, cmd: u32, id: u32, data: *mut libc::c_void) -> io::Result<()> {
    let f = open_dir(mount_point)?;
    // SAFETY: the fd is open for the call; `data` points to the structure `cmd` expects,
    // valid and writable for its whole size (the callers pass their own locals).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_quotactl_fd,
            f.as_raw_fd(),
            qcmd(cmd, PRJQUOTA),
            id,
            data,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether the kernel has `quotactl_fd(2)` at all (Linux ≥ 5.14 built with quota support):
/// given no valid descriptor it then fails with EBADF rather than ENOSYS.
fn have_quotactl_fd() -> bool {
    // SAFETY: the kernel rejects descriptor -1 before it looks at any other argument; no
    // memory is passed.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_quotactl_fd,
            -1,
            qcmd(Q_XGETQSTATV, PRJQUOTA),
            0,
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    !(rc == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS))
}

/// The errors by which the kernel says "no project quotas here": ENOSYS (no quota support
/// in the kernel or the filesystem, or quotas off), ESRCH (project quotas off), EINVAL (the
/// filesystem does not know project quotas).
fn is_not_enabled(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOSYS | libc::ESRCH | libc::EINVAL)
    )
}

/// Turns "no project quotas here" into one clear error, saying so when it is the kernel
/// that lacks `quotactl_fd(2)`.
fn quota_error(err: io::Error, mount_point: &Path) -> io::Error {
    if !is_not_enabled(&err) {
        return with_path(err, "quotactl failed on", mount_point);
    }
    let why = if err.raw_os_error() == Some(libc::ENOSYS) && !have_quotactl_fd() {
        "this kernel has no quotactl_fd(2): Linux 5.14 or later with quota support is needed"
            .to_string()
    } else {
        err.to_string()
    };
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "project quotas are not enabled on {} ({why})",
            mount_point.display()
        ),
    )
}

/// Whether the filesystem of `mount_point` both accounts and enforces project quotas; a
/// filesystem without them (or with them off) gives `Ok(false)`. Errs when it cannot tell,
/// e.g. when the kernel lacks `quotactl_fd(2)`.
pub fn enforced(mount_point: &Path) -> io::Result<bool> {
    let mut stat = FsQuotaStatv {
        qs_version: FS_QSTATV_VERSION1,
        ..Default::default()
    };
    match quotactl(mount_point, Q_XGETQSTATV, 0, (&raw mut stat).cast()) {
        Ok(()) => {
            let want = FS_QUOTA_PDQ_ACCT | FS_QUOTA_PDQ_ENFD;
            Ok(stat.qs_flags & want == want)
        }
        Err(e) if is_not_enabled(&e) && have_quotactl_fd() => Ok(false),
        Err(e) => Err(quota_error(e, mount_point)),
    }
}

/// Sets the project's block hard limit to `bytes` (rounded up to 512 bytes; XFS then rounds
/// up to its block size); 0 removes the limit. The soft limit is cleared: a volume's size is
/// a hard contract, and a soft limit would only start grace timers that nobody acts on (and
/// `df` would report it instead of the hard limit).
pub fn set_limit(mount_point: &Path, project_id: u32, bytes: u64) -> io::Result<()> {
    let mut q = FsDiskQuota {
        d_version: FS_DQUOT_VERSION,
        d_flags: FS_PROJ_QUOTA,
        d_fieldmask: FS_DQ_BHARD | FS_DQ_BSOFT,
        d_id: project_id,
        d_blk_hardlimit: to_basic_blocks(bytes),
        d_blk_softlimit: 0,
        ..Default::default()
    };
    quotactl(mount_point, Q_XSETQLIM, project_id, (&raw mut q).cast())
        .map_err(|e| quota_error(e, mount_point))
}

/// What the project uses now (including delayed allocations) and its limits. A project with
/// neither usage nor limits has no quota record yet: that is all zeros, not an error.
pub fn usage(mount_point: &Path, project_id: u32) -> io::Result<Usage> {
    let mut q = FsDiskQuota::default();
    match quotactl(mount_point, Q_XGETQUOTA, project_id, (&raw mut q).cast()) {
        Ok(()) => Ok(Usage {
            bytes_used: q.d_bcount.saturating_mul(BASIC_BLOCK),
            bytes_limit: q.d_blk_hardlimit.saturating_mul(BASIC_BLOCK),
            inodes_used: q.d_icount,
            inodes_limit: q.d_ino_hardlimit,
        }),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(Usage::default()),
        Err(e) => Err(quota_error(e, mount_point)),
    }
}

// The kernel copies exactly these sizes; a wrong layout would corrupt memory or limits.
const _: () = assert!(size_of::<FsXattr>() == 28);
const _: () = assert!(size_of::<FsDiskQuota>() == 112);
const _: () = assert!(size_of::<FsQuotaStatv>() == 160);

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn structs_match_the_kernel_headers() {
        assert_eq!(size_of::<FsXattr>(), 28);
        assert_eq!(offset_of!(FsXattr, fsx_projid), 12);
        assert_eq!(size_of::<FsDiskQuota>(), 112);
        assert_eq!(offset_of!(FsDiskQuota, d_blk_hardlimit), 8);
        assert_eq!(offset_of!(FsDiskQuota, d_bcount), 40);
        assert_eq!(offset_of!(FsDiskQuota, d_icount), 48);
        assert_eq!(offset_of!(FsDiskQuota, d_rtb_hardlimit), 72);
        assert_eq!(offset_of!(FsDiskQuota, d_padding4), 104);
        assert_eq!(size_of::<FsQfilestatv>(), 24);
        assert_eq!(size_of::<FsQuotaStatv>(), 160);
        assert_eq!(offset_of!(FsQuotaStatv, qs_pquota), 56);
        assert_eq!(offset_of!(FsQuotaStatv, qs_pad2), 104);
    }

    #[test]
    fn command_numbers_match_the_kernel_headers() {
        assert_eq!(Q_XSETQLIM, 0x5804);
        assert_eq!(qcmd(Q_XGETQUOTA, PRJQUOTA), 0x0058_0302);
        assert_eq!(qcmd(Q_XGETQSTATV, PRJQUOTA), 0x0058_0802);
        // The asm-generic encoding, with glibc's unsigned long request type.
        #[cfg(all(
            target_env = "gnu",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ))]
        {
            assert_eq!(FS_IOC_FSGETXATTR, 0x801c_581f);
            assert_eq!(FS_IOC_FSSETXATTR, 0x401c_5820);
        }
    }

    #[test]
    fn limits_round_up_to_basic_blocks() {
        assert_eq!(to_basic_blocks(0), 0);
        assert_eq!(to_basic_blocks(1), 1);
        assert_eq!(to_basic_blocks(512), 1);
        assert_eq!(to_basic_blocks(513), 2);
        assert_eq!(to_basic_blocks(4 << 20), 8192);
        assert_eq!(to_basic_blocks(u64::MAX), u64::MAX / 512);
    }

    #[test]
    fn no_quota_errors_say_so() {
        let e = quota_error(
            io::Error::from_raw_os_error(libc::ESRCH),
            Path::new("/mnt/d"),
        );
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert!(e
            .to_string()
            .starts_with("project quotas are not enabled on /mnt/d"));
        let e = quota_error(
            io::Error::from_raw_os_error(libc::EPERM),
            Path::new("/mnt/d"),
        );
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn project_ids_on_a_filesystem_without_them_fail_cleanly() {
        // tmpfs has no project ids: reading may work (0) or fail, setting must not succeed
        // silently with a different id.
        let dir = tempfile::tempdir().unwrap();
        if assign_project(dir.path(), 7).is_ok() {
            assert_eq!(project_of(dir.path()).unwrap(), 7);
        }
    }
}

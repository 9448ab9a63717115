//! Test helpers shared by the test binaries of several crates (a dev-dependency only):
//! real-device helpers — loop devices on sparse files and per-test state directories, always
//! cleaned up (mounts first, then loop devices) even when a test fails — and `trap`, a
//! directory that notices any access.

pub mod trap;

use std::fs;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const MIB: u64 = 1024 * 1024;

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every process's open file, working directory or root on the filesystem of block device
/// `dev` (found by device number, so a lazily unmounted filesystem is found too), as
/// `pid comm -> path`: what keeps a detached loop device alive.
pub fn holders(dev: &str) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(rdev) = fs::metadata(dev).map(|m| m.rdev()) else {
        return vec![];
    };
    let mut found = Vec::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return found;
    };
    for p in procs.flatten() {
        let pid = p.path();
        let comm = fs::read_to_string(pid.join("comm")).unwrap_or_default();
        let fds = fs::read_dir(pid.join("fd")).into_iter().flatten().flatten();
        let links = fds
            .map(|e| e.path())
            .chain([pid.join("cwd"), pid.join("root")]);
        for link in links {
            let on_dev = fs::metadata(&link).is_ok_and(|m| m.dev() == rdev || m.rdev() == rdev);
            if on_dev {
                let target = fs::read_link(&link).unwrap_or_default();
                found.push(format!(
                    "{} {} -> {}",
                    pid.display(),
                    comm.trim(),
                    target.display()
                ));
            }
        }
    }
    found
}

/// A loop device over a sparse file in its own temporary directory.
pub struct LoopDevice {
    pub dev: String,
    pub image: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopDevice {
    pub fn new(size: u64) -> LoopDevice {
        Self::with_flags(size, &[])
    }

    pub fn read_only(size: u64) -> LoopDevice {
        Self::with_flags(size, &["--read-only"])
    }

    fn with_flags(size: u64, flags: &[&str]) -> LoopDevice {
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("disk.img");
        fs::File::create(&image)
            .and_then(|f| f.set_len(size))
            .expect("create image");
        let dev = attach(&image, flags);
        LoopDevice {
            dev,
            image,
            _dir: dir,
        }
    }

    /// Detaches the device now, as a drive that vanished: retried while a concurrent probe
    /// (another test's discovery) holds it open, until the kernel has let it go.
    /// Only while the device still shows our image: once detached, its number may already
    /// belong to another test's device, which must not be touched.
    pub fn detach_and_wait(&self) {
        for _ in 0..100 {
            if !self.attached() {
                return;
            }
            detach(&self.dev);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "{} is still attached after 10 s; open on it: {:?}",
            self.dev,
            holders(&self.dev)
        );
    }

    /// Attaches the image again after [`detach_and_wait`](Self::detach_and_wait), as a drive
    /// put back: under whatever name the kernel gives it now.
    pub fn reattach(&mut self) {
        assert!(!self.attached(), "{} is still attached", self.dev);
        self.dev = attach(&self.image, &[]);
    }

    /// Whether the device still carries this image.
    pub fn attached(&self) -> bool {
        let backing = format!("/sys/block/{}/loop/backing_file", self.name());
        fs::read_to_string(backing).is_ok_and(|b| Path::new(b.trim()) == self.image)
    }

    /// `loop7` for `/dev/loop7`.
    pub fn name(&self) -> String {
        self.dev.trim_start_matches("/dev/").to_string()
    }

    /// Detaches and re-attaches the image, first occupying the old number so the device
    /// comes back under another name, as after a reboot that renamed the disks.
    pub fn reattach_renamed(&mut self) -> LoopDevice {
        let old = self.dev.clone();
        self.detach_and_wait();
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("blocker.img");
        fs::File::create(&image)
            .and_then(|f| f.set_len(MIB))
            .expect("create image");
        // Take the old number ourselves; if another test took it first, the name changes anyway.
        let taken = Command::new("losetup")
            .arg(&old)
            .arg(&image)
            .status()
            .is_ok_and(|s| s.success());
        let blocker_dev = if taken { old } else { attach(&image, &[]) };
        self.dev = attach(&self.image, &[]);
        LoopDevice {
            dev: blocker_dev,
            image,
            _dir: dir,
        }
    }

    /// A fingerprint of every byte of the image: the layout of its data extents and their
    /// bytes (holes read as zeros, so hashing only the data keeps this exact and fast).
    pub fn fingerprint(&self) -> u64 {
        use std::io::{Seek, SeekFrom};
        use std::os::fd::AsRawFd;
        let mut f = fs::File::open(&self.image).expect("open image");
        let len = f.metadata().expect("stat image").len() as i64;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        let mut pos: i64 = 0;
        let mut buf = vec![0u8; MIB as usize];
        while pos < len {
            // SAFETY: plain lseek on an open descriptor.
            let data = unsafe { libc::lseek(f.as_raw_fd(), pos, libc::SEEK_DATA) };
            if data < 0 {
                break; // only a hole remains
            }
            // SAFETY: as above.
            let hole = unsafe { libc::lseek(f.as_raw_fd(), data, libc::SEEK_HOLE) };
            h.write_i64(data);
            h.write_i64(hole);
            f.seek(SeekFrom::Start(data as u64)).expect("seek");
            let mut left = (hole - data) as usize;
            while left > 0 {
                let n = f
                    .read(&mut buf[..left.min(MIB as usize)])
                    .expect("read image");
                assert!(n > 0, "short read");
                h.write(&buf[..n]);
                left -= n;
            }
            pos = hole;
        }
        h.finish()
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        if !self.attached() {
            return; // already gone; the number may be another test's device now
        }
        // Partitions added with BLKPG outlive the loop device unless removed.
        let name = self.name();
        if let Ok(entries) = fs::read_dir(format!("/sys/class/block/{name}")) {
            for e in entries.flatten() {
                if let Ok(n) = fs::read_to_string(e.path().join("partition")) {
                    let _ = Command::new("delpart").args([&self.dev, n.trim()]).status();
                }
            }
        }
        // Unmount whatever still uses the device (lazily), then detach it.
        if let Ok(mounts) = fs::read_to_string("/proc/self/mountinfo") {
            for line in mounts.lines() {
                let fields: Vec<&str> = line.split(' ').collect();
                let source = line.split(" - ").nth(1).and_then(|r| r.split(' ').nth(1));
                if source == Some(self.dev.as_str()) {
                    let _ = Command::new("umount").arg("-l").arg(fields[4]).status();
                }
            }
        }
        detach(&self.dev);
    }
}

fn attach(image: &Path, flags: &[&str]) -> String {
    let out = run(Command::new("losetup")
        .args(["--find", "--show"])
        .args(flags)
        .arg(image));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn detach(dev: &str) {
    let _ = Command::new("losetup").arg("-d").arg(dev).status();
}

/// A loop device with a fresh XFS filesystem mounted on a temporary directory: a real drive
/// for tests where the filesystem matters (freezing, filling, syncs). Thawed and unmounted
/// when dropped, whatever happened.
pub struct XfsDrive {
    pub path: PathBuf,
    _mnt: tempfile::TempDir,
    _dev: LoopDevice,
}

impl XfsDrive {
    /// `mib` MiB (mkfs.xfs wants at least 300).
    pub fn new(mib: u64) -> XfsDrive {
        let dev = LoopDevice::new(mib * MIB);
        let mnt = tempfile::tempdir().unwrap();
        let path = mnt.path().join("drive");
        fs::create_dir(&path).unwrap();
        run(Command::new("mkfs.xfs").args(["-q", "-f"]).arg(&dev.dev));
        run(Command::new("mount").arg(&dev.dev).arg(&path));
        XfsDrive {
            path,
            _mnt: mnt,
            _dev: dev,
        }
    }

    /// Unmounts it (the mount point stays, bare), as a drive pulled or its mount lost.
    pub fn unmount(&self) {
        run(Command::new("umount").arg(&self.path));
    }

    /// Mounts it again at its place.
    pub fn mount(&self) {
        run(Command::new("mount").arg(&self._dev.dev).arg(&self.path));
    }

    /// Freezes the filesystem (`fsfreeze`): every write to it blocks until `thaw`.
    pub fn freeze(&self) {
        run(Command::new("fsfreeze").arg("--freeze").arg(&self.path));
    }

    pub fn thaw(&self) {
        let _ = Command::new("fsfreeze")
            .arg("--unfreeze")
            .arg(&self.path)
            .status();
    }
}

impl Drop for XfsDrive {
    fn drop(&mut self) {
        self.thaw();
        let clean = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !clean {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Whether formatting here can enable project quotas. In the VM lab (a kernel with XFS quota)
/// STRATA_REQUIRE_QUOTA=1 makes a kernel without them fail the tests instead.
pub fn quota_supported() -> bool {
    if std::env::var("STRATA_REQUIRE_QUOTA").as_deref() == Ok("1") {
        return true;
    }
    strata_drive::sys::kernel_xfs_quota_support() == Some(true)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

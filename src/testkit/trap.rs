//! A directory outside every drive, for symlinks planted inside a drive to point at: a test
//! checks that nothing in it was opened, read, written, created, renamed or removed (inotify
//! sees every access, `stat` every change) while the server or engine worked on the drive.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::{self, File};
use std::io::Read;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub struct Trap {
    pub dir: PathBuf,
    events: File,
    /// Watch descriptor → the directory it watches.
    watched: BTreeMap<i32, PathBuf>,
    /// Every file and directory in the trap, as `stat` saw it when armed.
    before: BTreeMap<PathBuf, Stat>,
}

#[derive(Debug, PartialEq)]
struct Stat {
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

const EVENT_NAMES: [(u32, &str); 12] = [
    (libc::IN_ACCESS, "read"),
    (libc::IN_MODIFY, "written"),
    (libc::IN_ATTRIB, "attributes changed"),
    (libc::IN_CLOSE_WRITE, "closed after writing"),
    (libc::IN_CLOSE_NOWRITE, "closed"),
    (libc::IN_OPEN, "opened"),
    (libc::IN_MOVED_FROM, "moved away"),
    (libc::IN_MOVED_TO, "moved in"),
    (libc::IN_CREATE, "created"),
    (libc::IN_DELETE, "removed"),
    (libc::IN_DELETE_SELF, "itself removed"),
    (libc::IN_MOVE_SELF, "itself moved"),
];

impl Trap {
    /// Makes `dir` (keeping whatever a test moved there already) with files like a system
    /// directory's (`/etc`), and starts watching it.
    pub fn new(dir: &Path) -> Trap {
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        fs::write(dir.join("sub").join("keep"), "precious").unwrap();
        // SAFETY: plain syscall; the descriptor is owned by `events` from here on.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0, "inotify: {}", std::io::Error::last_os_error());
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let events = unsafe { File::from_raw_fd(fd) };
        let mut before = BTreeMap::new();
        let mut watched = BTreeMap::new();
        for path in tree(dir) {
            let m = fs::symlink_metadata(&path).unwrap();
            if m.is_dir() {
                let c = CString::new(path.as_os_str().as_bytes()).unwrap();
                // SAFETY: fd is our inotify descriptor and c a NUL-terminated path.
                let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_ALL_EVENTS) };
                assert!(
                    wd >= 0,
                    "inotify watch: {}",
                    std::io::Error::last_os_error()
                );
                watched.insert(wd, path.clone());
            }
            before.insert(path, stat(&m));
        }
        Trap {
            dir: dir.to_path_buf(),
            events,
            watched,
            before,
        }
    }

    /// Panics naming every access to the trap since it was made (or last checked).
    #[track_caller]
    pub fn assert_untouched(&mut self, during: &str) {
        let seen = self.events();
        assert!(
            seen.is_empty(),
            "{during}: something outside the drives was touched through a symlink: {seen:#?}"
        );
        for (path, was) in &self.before {
            let now = fs::symlink_metadata(path).map(|m| stat(&m));
            assert!(
                now.as_ref().is_ok_and(|s| s == was),
                "{during}: {} changed outside the drives: {was:?} -> {now:?}",
                path.display()
            );
        }
    }

    fn events(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 16384];
        // A read either fails with WouldBlock (nothing pending) or returns whole events.
        while let Ok(n) = self.events.read(&mut buf) {
            let mut at = 0;
            while at + 16 <= n {
                let word =
                    |i: usize| u32::from_ne_bytes(buf[at + i..at + i + 4].try_into().unwrap());
                let (wd, mask, len) = (word(0) as i32, word(4), word(12) as usize);
                let name = &buf[at + 16..at + 16 + len];
                let name = String::from_utf8_lossy(name)
                    .trim_end_matches('\0')
                    .to_string();
                let what: Vec<&str> = EVENT_NAMES
                    .iter()
                    .filter(|(bit, _)| mask & bit != 0)
                    .map(|(_, s)| *s)
                    .collect();
                let dir = self.watched.get(&wd).cloned().unwrap_or_default();
                out.push(format!("{}: {}", dir.join(name).display(), what.join(", ")));
                at += 16 + len;
            }
        }
        out
    }
}

fn stat(m: &fs::Metadata) -> Stat {
    Stat {
        ino: m.ino(),
        len: m.len(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    }
}

/// `dir` and everything below it (symlinks as themselves).
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            out.extend(tree(&e.path()));
        }
    }
    out
}

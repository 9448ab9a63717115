//! Durability barriers with group commit. Where a write must be on stable storage before it
//! goes on (shard data before the metadata that names it; the metadata before the client
//! hears "done"), it waits for a barrier of its drive: a `syncfs(2)` of the drive's
//! filesystem that *started after* the wait began, so everything the writer did before is
//! covered. Parallel writes share one `syncfs`: the first waiter runs it while the others
//! wait; those that arrive meanwhile are covered by the next one. A small PUT used to pay
//! about three fsyncs per drive in sequence (file, new directory, renamed entry), each a
//! journal commit of its own; under 32 parallel PUTs the drive now commits once for many.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};

/// A drive's barrier: its root, and the filesystem it is on now.
#[derive(Debug)]
pub struct Barrier {
    root: PathBuf,
    device: Mutex<Option<(u64, Arc<DeviceSync>)>>,
}

/// The group commit of one filesystem (by device number). Drives that are folders of one
/// filesystem (a development set) share it: concurrent syncfs calls of one filesystem only
/// queue behind each other's journal commits. It keeps no descriptor open: a pulled drive's
/// filesystem must not stay pinned by Strata.
#[derive(Debug)]
struct DeviceSync {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Syncs started so far; a waiter needs one numbered higher than this at its arrival.
    started: u64,
    /// The newest sync that has finished.
    completed: u64,
    running: bool,
    /// The newest sync that failed, with its error.
    failed: Option<(u64, io::ErrorKind, String)>,
}

impl Barrier {
    pub fn new(root: impl Into<PathBuf>) -> Barrier {
        Barrier {
            root: root.into(),
            device: Mutex::new(None),
        }
    }

    /// Returns once everything written on the drive before the call is durable. Fails when
    /// the drive's root is gone or the filesystem reports an error.
    pub fn wait(&self) -> io::Result<()> {
        let dev = std::fs::metadata(&self.root)?.dev();
        let sync = {
            let mut cur = self.device.lock().unwrap_or_else(|p| p.into_inner());
            match &*cur {
                Some((d, s)) if *d == dev => s.clone(),
                _ => {
                    let s = DeviceSync::of(dev);
                    *cur = Some((dev, s.clone()));
                    s
                }
            }
        };
        sync.wait(&self.root, dev)
    }
}

impl DeviceSync {
    /// The filesystem's group commit, shared by every drive on it.
    fn of(dev: u64) -> Arc<DeviceSync> {
        static ALL: OnceLock<Mutex<HashMap<u64, Weak<DeviceSync>>>> = OnceLock::new();
        let mut all = ALL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(s) = all.get(&dev).and_then(Weak::upgrade) {
            return s;
        }
        let s = Arc::new(DeviceSync {
            state: Mutex::new(State::default()),
            done: Condvar::new(),
        });
        all.retain(|_, w| w.strong_count() > 0);
        all.insert(dev, Arc::downgrade(&s));
        s
    }

    /// Waits for a sync of the filesystem that starts after now; a waiter that finds none
    /// running runs it, through its own drive root (`root`, on device `dev`).
    fn wait(&self, root: &Path, dev: u64) -> io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let target = st.started + 1;
        loop {
            if st.completed >= target {
                return match &st.failed {
                    Some((seq, kind, msg)) if *seq >= target => {
                        Err(io::Error::new(*kind, msg.clone()))
                    }
                    _ => Ok(()),
                };
            }
            if st.running {
                st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            st.running = true;
            st.started += 1;
            let seq = st.started;
            drop(st);
            let opened = File::open(root).and_then(|f| match f.metadata()?.dev() == dev {
                true => Ok(f),
                false => Err(io::Error::other("drive changed filesystem meanwhile")),
            });
            let result = opened.as_ref().map_err(clone_err).and_then(syncfs);
            st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.running = false;
            match opened {
                // This drive's root is gone: its own write fails, the other drives of the
                // filesystem are not its business; one of them runs the sync instead.
                Err(e) => {
                    self.done.notify_all();
                    return Err(e);
                }
                Ok(_) => {
                    st.completed = seq;
                    if let Err(e) = result {
                        st.failed = Some((seq, e.kind(), e.to_string()));
                    }
                }
            }
            self.done.notify_all();
        }
    }
}

fn clone_err(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

fn syncfs(f: &File) -> io::Result<()> {
    // SAFETY: the descriptor is open for the duration of the call.
    if unsafe { libc::syncfs(f.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_waiters_share_syncs_and_all_return() {
        let dir = tempfile::tempdir().unwrap();
        let b = Barrier::new(dir.path());
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    for _ in 0..20 {
                        b.wait().unwrap();
                    }
                });
            }
        });
        let sync = b.device.lock().unwrap().as_ref().unwrap().1.clone();
        let st = sync.state.lock().unwrap();
        assert!(
            st.completed >= 20,
            "every waiter needs a sync of its own time"
        );
        assert!(
            st.completed < 16 * 20,
            "waiters arriving together share a sync"
        );
    }

    #[test]
    fn drives_of_one_filesystem_share_its_syncs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        let (a, b) = (
            Barrier::new(dir.path().join("a")),
            Barrier::new(dir.path().join("b")),
        );
        a.wait().unwrap();
        b.wait().unwrap();
        let sa = a.device.lock().unwrap().as_ref().unwrap().1.clone();
        let sb = b.device.lock().unwrap().as_ref().unwrap().1.clone();
        assert!(Arc::ptr_eq(&sa, &sb));
    }

    #[test]
    fn a_missing_drive_fails_the_barrier() {
        let dir = tempfile::tempdir().unwrap();
        let b = Barrier::new(dir.path().join("gone"));
        assert_eq!(b.wait().unwrap_err().kind(), io::ErrorKind::NotFound);
        // A later barrier tries again and succeeds once the drive is back.
        std::fs::create_dir(dir.path().join("gone")).unwrap();
        b.wait().unwrap();
    }
}

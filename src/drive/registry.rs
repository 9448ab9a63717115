//! The node-local registry of Strata drives under the state directory. It is a cache of what
//! the drives' identity records say plus where each was last seen; `drivectl mount --rebuild`
//! recreates it from the drives.

use super::model::Tier;
use crate::fsutil::{self, FileLock};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Layout of a state directory (`/var/lib/strata` by default).
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a drive is mounted: `<state-dir>/mnt/<fs-uuid>`.
    pub fn mount_point(&self, drive_id: &str) -> PathBuf {
        self.root.join("mnt").join(drive_id)
    }

    /// Where `release` mounts a drive that is not at its place, read-only, to count its
    /// volumes: `<state-dir>/mnt/.release-<fs-uuid>` (only for the time of the count).
    pub fn release_mount_point(&self, drive_id: &str) -> PathBuf {
        self.root.join("mnt").join(format!(".release-{drive_id}"))
    }

    fn registry_path(&self) -> PathBuf {
        self.root.join("drives.json")
    }

    fn lock_path(&self) -> PathBuf {
        self.root.join("drives.lock")
    }

    /// Held for the whole of `mount` and `release`, which mount and unmount drives: the CSI
    /// node plugin mounts the registry's drives at every pass, and must never mount one back
    /// between release's unmount and its wipe.
    pub fn mounts_lock_path(&self) -> PathBuf {
        self.root.join("mounts.lock")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriveState {
    /// Found and mounted.
    Ready,
    /// Known, but not found among the node's devices at the last `mount`.
    Missing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriveRecord {
    pub drive_id: String,
    pub node: String,
    pub tier: Tier,
    pub tier_overridden: bool,
    /// Device path where the drive was last seen (changes across reboots).
    pub device: String,
    pub mount_point: PathBuf,
    pub size: u64,
    pub project_quota: bool,
    pub state: DriveState,
    pub formatted_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub version: u32,
    pub drives: Vec<DriveRecord>,
}

impl Registry {
    /// Reads the registry; a missing file is an empty registry.
    pub fn load(state: &StateDir) -> io::Result<Registry> {
        match fs::read(state.registry_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", state.registry_path().display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Registry {
                version: 1,
                drives: Vec::new(),
            }),
            Err(e) => Err(e),
        }
    }

    /// Read-modify-write under the state directory's lock, so that parallel formats and
    /// concurrent `drivectl` processes never lose each other's updates. An unchanged registry
    /// is not written again (the node plugin's pass mounts every few seconds).
    pub fn update<T>(state: &StateDir, change: impl FnOnce(&mut Registry) -> T) -> io::Result<T> {
        fs::create_dir_all(state.root())?;
        let _lock = FileLock::acquire(&state.lock_path())?;
        let before = Registry::load(state)?;
        let mut reg = before.clone();
        let out = change(&mut reg);
        reg.version = 1;
        if reg != before || !state.registry_path().exists() {
            let bytes = serde_json::to_vec_pretty(&reg).map_err(io::Error::other)?;
            fsutil::atomic_write(&state.registry_path(), &bytes)?;
        }
        Ok(out)
    }

    pub fn upsert(&mut self, record: DriveRecord) {
        match self
            .drives
            .iter_mut()
            .find(|d| d.drive_id == record.drive_id)
        {
            Some(d) => *d = record,
            None => self.drives.push(record),
        }
    }

    /// Finds a drive by id, device path or name, or mount point.
    pub fn find(&self, key: &str) -> Option<&DriveRecord> {
        let as_dev = if key.starts_with('/') {
            key.to_string()
        } else {
            format!("/dev/{key}")
        };
        self.drives
            .iter()
            .find(|d| d.drive_id == key)
            .or_else(|| self.drives.iter().find(|d| d.device == as_dev))
            .or_else(|| self.drives.iter().find(|d| d.mount_point == Path::new(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, dev: &str) -> DriveRecord {
        DriveRecord {
            drive_id: id.into(),
            node: "n".into(),
            tier: Tier::Hot,
            tier_overridden: false,
            device: dev.into(),
            mount_point: PathBuf::from("/s/mnt").join(id),
            size: 1,
            project_quota: true,
            state: DriveState::Ready,
            formatted_at: String::new(),
        }
    }

    #[test]
    fn concurrent_updates_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::thread::scope(|s| {
            for i in 0..8 {
                let state = &state;
                s.spawn(move || {
                    Registry::update(state, |r| r.upsert(record(&format!("id{i}"), "/dev/x")))
                        .unwrap()
                });
            }
        });
        assert_eq!(Registry::load(&state).unwrap().drives.len(), 8);
    }

    #[test]
    fn an_unchanged_registry_is_not_written_again() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        let inode = || fs::metadata(state.registry_path()).unwrap().ino();
        Registry::update(&state, |_| ()).unwrap();
        let first = inode();
        Registry::update(&state, |r| r.upsert(record("a", "/dev/x"))).unwrap();
        let second = inode();
        assert_ne!(first, second, "a change replaces the file");
        Registry::update(&state, |r| r.upsert(record("a", "/dev/x"))).unwrap();
        assert_eq!(inode(), second, "the same record again writes nothing");
    }

    #[test]
    fn find_by_id_device_or_name() {
        let mut r = Registry::default();
        r.upsert(record("abc", "/dev/loop3"));
        assert!(r.find("abc").is_some());
        assert!(r.find("loop3").is_some());
        assert!(r.find("/dev/loop3").is_some());
        assert!(r.find("/s/mnt/abc").is_some());
        assert!(r.find("loop4").is_none());
    }

    #[test]
    fn corrupt_registry_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        fs::write(dir.path().join("drives.json"), b"[oops").unwrap();
        let err = Registry::load(&state).unwrap_err();
        assert!(err.to_string().contains("drives.json"), "{err}");
    }
}

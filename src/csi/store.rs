//! Where the CSI driver keeps its [`State`]: a local JSON file (bare metal, Nomad, tests) or
//! the Kubernetes API (`Drive` and `Volume` custom resources). Every change is a transaction
//! over one consistent state, so that parallel CreateVolume calls can never reserve the same
//! bytes twice.

use super::kube_store::{KubeError, KubeStore};
use super::model::{State, VolumeEntry};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use strata_drive::fsutil::{self, FileLock};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("state {path} is not valid: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("--state {0:?}: expected `file:PATH` or `kube`")]
    BadSpec(String),
    #[error("state in Kubernetes: {0}")]
    Kube(#[from] KubeError),
}

/// Where `--state` says the state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    File(PathBuf),
    Kube,
}

impl StoreSpec {
    /// Parses `--state`: `file:PATH` or `kube`.
    pub fn parse(spec: &str) -> Result<StoreSpec, StoreError> {
        match spec {
            "kube" => Ok(StoreSpec::Kube),
            _ => match spec.strip_prefix("file:") {
                Some(path) if !path.is_empty() => Ok(StoreSpec::File(PathBuf::from(path))),
                _ => Err(StoreError::BadSpec(spec.to_string())),
            },
        }
    }
}

/// The state backend chosen with `--state`.
#[derive(Debug, Clone)]
pub enum Store {
    File(FileStore),
    Kube(Box<KubeStore>),
}

impl Store {
    pub async fn connect(spec: &StoreSpec) -> Result<Store, StoreError> {
        Ok(match spec {
            StoreSpec::File(path) => Store::File(FileStore::new(path)),
            StoreSpec::Kube => Store::Kube(Box::new(KubeStore::connect().await?)),
        })
    }

    pub fn load(&self) -> Result<State, StoreError> {
        match self {
            Store::File(f) => f.load(),
            Store::Kube(k) => Ok(k.load()?),
        }
    }

    /// One volume's record (a cached store asks the API server for one it does not hold).
    pub fn volume(&self, id: &str) -> Result<Option<VolumeEntry>, StoreError> {
        match self {
            Store::File(f) => Ok(f.load()?.volumes.remove(id)),
            Store::Kube(k) => Ok(k.volume(id)?),
        }
    }

    /// Runs `change` on the current state and stores the result when it returns `Ok`; an
    /// `Err` from `change` leaves the stored state untouched. `change` may run more than once
    /// (a Kubernetes write conflict re-runs it on fresh state), so it must only change state.
    /// Drives' allocated bytes are recounted from their reservations before anything is written.
    pub fn transact<T, E>(
        &self,
        mut change: impl FnMut(&mut State) -> Result<T, E>,
    ) -> Result<Result<T, E>, StoreError> {
        let counted = move |st: &mut State| {
            let out = change(st);
            st.recount();
            out
        };
        match self {
            Store::File(f) => f.transact(counted),
            Store::Kube(k) => Ok(k.transact(counted)?),
        }
    }
}

/// State in one JSON file, changed under an exclusive lock and replaced atomically.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        FileStore { path: path.into() }
    }

    fn io(&self, source: io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Reads the state; a missing file is an empty state.
    pub fn load(&self) -> Result<State, StoreError> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(self.io(e)),
        }
    }

    fn transact<T, E>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, E>,
    ) -> Result<Result<T, E>, StoreError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        // flock excludes other processes and, through separate opens, other threads.
        let _lock = FileLock::acquire(&self.lock_path()).map_err(|e| self.io(e))?;
        let before = self.load()?;
        let mut after = before.clone();
        let out = match change(&mut after) {
            Ok(out) => out,
            Err(e) => return Ok(Err(e)),
        };
        if after != before {
            self.store(&after)?;
        }
        Ok(Ok(out))
    }

    fn store(&self, state: &State) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| self.io(io::Error::other(e)))?;
        fsutil::atomic_write(&self.path, &bytes).map_err(|e| self.io(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DriveEntry, DriveSpec, DriveState, DriveStatus};
    use strata_drive::Tier;

    fn drive(node: &str) -> DriveEntry {
        DriveEntry {
            spec: DriveSpec {
                node: node.into(),
                tier: Tier::Hot,
                capacity_bytes: 1 << 30,
                reservations: Default::default(),
                next_project_id: 1,
                project_quota: true,
            },
            status: DriveStatus {
                state: DriveState::Ready,
                message: None,
                allocated_bytes: 0,
                free_bytes: 1 << 30,
            },
        }
    }

    #[test]
    fn parses_the_state_option() {
        assert_eq!(
            StoreSpec::parse("file:/x/y.json").unwrap(),
            StoreSpec::File("/x/y.json".into())
        );
        assert!(matches!(
            StoreSpec::parse("file:"),
            Err(StoreError::BadSpec(_))
        ));
        assert!(matches!(
            StoreSpec::parse("etcd"),
            Err(StoreError::BadSpec(_))
        ));
        assert_eq!(StoreSpec::parse("kube").unwrap(), StoreSpec::Kube);
    }

    #[test]
    fn transactions_from_many_threads_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::File(FileStore::new(dir.path().join("s/state.json")));
        std::thread::scope(|s| {
            for i in 0..16 {
                let store = &store;
                s.spawn(move || {
                    store
                        .transact(|st| {
                            st.drives.insert(format!("d{i}"), drive("n"));
                            Ok::<_, ()>(())
                        })
                        .unwrap()
                        .unwrap()
                });
            }
        });
        assert_eq!(store.load().unwrap().drives.len(), 16);
    }

    #[test]
    fn a_failed_change_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::File(FileStore::new(dir.path().join("state.json")));
        let out = store
            .transact(|st| {
                st.drives.insert("d".into(), drive("n"));
                Err::<(), _>("no")
            })
            .unwrap();
        assert_eq!(out, Err("no"));
        assert!(store.load().unwrap().drives.is_empty());
        assert!(!dir.path().join("state.json").exists());
    }

    #[test]
    fn state_files_keep_spec_and_status_side_by_side() {
        // A file written before the custom resources split spec and status still reads.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let old = r#"{"drives": {"d": {"node": "n", "tier": "hot", "capacityBytes": 10,
            "allocatedBytes": 4, "state": "Lost", "message": "gone", "nextProjectId": 3,
            "projectQuota": true}},
          "volumes": {"v": {"name": "v", "node": "n", "driveId": "d", "tier": "hot",
            "capacityBytes": 4, "projectId": 2, "phase": "Deleting", "createdAt": "t",
            "onDrive": true, "stagedAt": ["/s"]}}}"#;
        fs::write(&path, old).unwrap();
        let store = Store::File(FileStore::new(&path));
        let st = store.load().unwrap();
        assert_eq!(st.drives["d"].status.state, DriveState::Lost);
        assert_eq!(st.drives["d"].spec.next_project_id, 3);
        let v = &st.volumes["v"];
        assert_eq!((v.spec.project_id, v.status.on_drive), (2, true));
        assert_eq!(v.status.staged_at, ["/s"]);
        store.transact(|_| Ok::<_, ()>(())).unwrap().unwrap();
        let written: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(written["drives"]["d"]["state"], "Lost");
        assert_eq!(
            written["drives"]["d"]["freeBytes"], 10,
            "recounted: no reservations"
        );
        assert_eq!(written["volumes"]["v"]["phase"], "Deleting");
    }

    #[test]
    fn a_corrupt_file_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, b"{nope").unwrap();
        let err = FileStore::new(&path).load().unwrap_err();
        assert!(err.to_string().contains("state.json"), "{err}");
    }
}

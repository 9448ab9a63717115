//! The state in the Kubernetes API: one `Drive` and one `Volume` custom resource per drive
//! and volume. A transaction reads them all, applies the change, and writes back only what
//! changed, each write conditional on the resourceVersion it read (optimistic concurrency):
//! when another writer got there first the API server answers 409 and the transaction runs
//! again on fresh objects. Every reservation changes its drive's `allocatedBytes`, so two
//! reservations on one drive can never both succeed against the same drive version.

use super::model::{Drive, DriveSpec, State, Volume, VolumeSpec};
use kube::api::{DeleteParams, ListParams, PostParams, Preconditions};
use kube::{Api, Client, Resource};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::debug;

/// How often a transaction is retried after conflicts before giving up.
const ATTEMPTS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("Kubernetes API: {0}")]
    Api(#[from] kube::Error),
    #[error("Kubernetes client configuration: {0}")]
    Config(String),
    #[error("still conflicting with other writers after {ATTEMPTS} attempts")]
    Contended,
    #[error("the Kubernetes state needs the async runtime: {0}")]
    NoRuntime(String),
}

/// resourceVersions of the objects a transaction read, by name.
#[derive(Default)]
struct Versions {
    drives: BTreeMap<String, String>,
    volumes: BTreeMap<String, String>,
}

enum Apply {
    Conflict,
    Failed(kube::Error),
}

#[derive(Clone)]
pub struct KubeStore {
    drives: Api<Drive>,
    volumes: Api<Volume>,
}

impl std::fmt::Debug for KubeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KubeStore")
    }
}

/// Runs a future from synchronous code that is itself on a runtime thread (inside
/// `block_in_place` or `spawn_blocking`, where the CSI services call the store).
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, KubeError> {
    let handle =
        tokio::runtime::Handle::try_current().map_err(|e| KubeError::NoRuntime(e.to_string()))?;
    Ok(handle.block_on(f))
}

fn is_conflict(e: &kube::Error) -> bool {
    // 409: changed or created meanwhile; 404: deleted meanwhile.
    matches!(e, kube::Error::Api(s) if s.code == 409 || s.code == 404)
}

impl KubeStore {
    /// Connects with the usual configuration: $KUBECONFIG or ~/.kube/config, else the
    /// pod's service account.
    pub async fn connect() -> Result<KubeStore, KubeError> {
        let client = Client::try_default()
            .await
            .map_err(|e| KubeError::Config(e.to_string()))?;
        Ok(KubeStore {
            drives: Api::all(client.clone()),
            volumes: Api::all(client),
        })
    }

    pub fn load(&self) -> Result<State, KubeError> {
        block_on(self.read())?.map(|(state, _)| state)
    }

    async fn read(&self) -> Result<(State, Versions), KubeError> {
        let lp = ListParams::default();
        let (drives, volumes) = tokio::try_join!(self.drives.list(&lp), self.volumes.list(&lp))?;
        let mut state = State::default();
        let mut versions = Versions::default();
        for d in drives.items {
            let name = d.meta().name.clone().unwrap_or_default();
            if let Some(rv) = d.meta().resource_version.clone() {
                versions.drives.insert(name.clone(), rv);
            }
            state.drives.insert(name, d.spec);
        }
        for v in volumes.items {
            let name = v.meta().name.clone().unwrap_or_default();
            if let Some(rv) = v.meta().resource_version.clone() {
                versions.volumes.insert(name.clone(), rv);
            }
            state.volumes.insert(name, v.spec);
        }
        Ok((state, versions))
    }

    pub fn transact<T, E>(
        &self,
        mut change: impl FnMut(&mut State) -> Result<T, E>,
    ) -> Result<Result<T, E>, KubeError> {
        block_on(async {
            for attempt in 0..ATTEMPTS {
                let (before, versions) = self.read().await?;
                let mut after = before.clone();
                let out = match change(&mut after) {
                    Ok(out) => out,
                    Err(e) => return Ok(Err(e)),
                };
                match self.write(&before, &after, &versions).await {
                    Ok(()) => return Ok(Ok(out)),
                    Err(Apply::Failed(e)) => return Err(e.into()),
                    Err(Apply::Conflict) => {
                        debug!(attempt, "state conflict, retrying");
                        // A little jitter keeps parallel writers from colliding in lockstep.
                        let pause = 5 + (attempt as u64 * 7 + u64::from(std::process::id())) % 20;
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                }
            }
            Err(KubeError::Contended)
        })?
    }

    /// Writes what changed: drives first (the reservation point), then volumes.
    async fn write(&self, before: &State, after: &State, v: &Versions) -> Result<(), Apply> {
        for (name, spec) in &after.drives {
            if before.drives.get(name) != Some(spec) {
                let obj = drive_object(name, spec, v.drives.get(name));
                self.put(&self.drives, name, obj, v.drives.contains_key(name))
                    .await?;
            }
        }
        for (name, spec) in &after.volumes {
            if before.volumes.get(name) != Some(spec) {
                let obj = volume_object(name, spec, v.volumes.get(name));
                self.put(&self.volumes, name, obj, v.volumes.contains_key(name))
                    .await?;
            }
        }
        for name in before.volumes.keys() {
            if !after.volumes.contains_key(name) {
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        resource_version: v.volumes.get(name).cloned(),
                        uid: None,
                    }),
                    ..DeleteParams::default()
                };
                match self.volumes.delete(name, &dp).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) if is_conflict(&e) => return Err(Apply::Conflict),
                    Err(e) => return Err(Apply::Failed(e)),
                }
            }
        }
        Ok(())
    }

    /// Creates the object, or replaces it conditionally on the version read.
    async fn put<K>(&self, api: &Api<K>, name: &str, obj: K, exists: bool) -> Result<(), Apply>
    where
        K: Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let pp = PostParams::default();
        let res = if exists {
            api.replace(name, &pp, &obj).await
        } else {
            api.create(&pp, &obj).await
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Err(Apply::Conflict),
            Err(e) => Err(Apply::Failed(e)),
        }
    }
}

fn drive_object(name: &str, spec: &DriveSpec, version: Option<&String>) -> Drive {
    let mut d = Drive::new(name, spec.clone());
    d.metadata.resource_version = version.cloned();
    d
}

fn volume_object(name: &str, spec: &VolumeSpec, version: Option<&String>) -> Volume {
    let mut v = Volume::new(name, spec.clone());
    v.metadata.resource_version = version.cloned();
    v
}

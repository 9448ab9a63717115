//! The state in the Kubernetes API: one `Drive` and one `Volume` custom resource per drive
//! and volume, what was observed of them in their status subresource.
//!
//! Reads come from a watch cache ([`super::kube_cache`]): each kind is listed once, then
//! watched, and listed again only when the watch breaks; until the first list has landed (and
//! while the API server cannot be listed) reads go to the API server, so that an unreachable
//! one is an error, not an empty state. A lookup of one volume the cache does not hold (created
//! a moment ago by the controller) asks the API server for it.
//!
//! A transaction reads the cache, applies the change, and writes back only what changed, each
//! write conditional on the resourceVersion it read (optimistic concurrency): when another
//! writer got there first the API server answers 409, the object is fetched afresh and the
//! transaction runs again. Every reservation changes its drive's spec, so two reservations on
//! one drive can never both succeed against the same drive version. An object's spec is
//! written to the object, its status through the status subresource (which the API server
//! requires: it ignores the status sent with the object, and the spec sent with the status).

use super::kube_cache::{Cache, Cached, Event};
use super::model::{Drive, DriveEntry, State, Volume, VolumeEntry};
use futures_util::TryStreamExt;
use kube::api::{DeleteParams, ListParams, PostParams, Preconditions, WatchEvent, WatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{debug, warn};

/// How often a transaction is retried after conflicts before giving up.
const ATTEMPTS: usize = 32;
/// How long one watch request lasts before the API server ends it and it is renewed.
const WATCH_SECONDS: u32 = 290;
/// The pause before listing again after the list or the watch failed.
const RELIST_PAUSE: Duration = Duration::from_secs(2);

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

/// An object another writer changed first.
#[derive(Debug)]
enum Stale {
    Drive(String),
    Volume(String),
}

enum Apply {
    Conflict(Stale),
    Failed(kube::Error),
}

/// A write that failed: a conflict (the object is stale) or an error.
enum Refused {
    Conflict,
    Failed(kube::Error),
}

impl Refused {
    fn of(e: kube::Error) -> Refused {
        if is_conflict(&e) {
            Refused::Conflict
        } else {
            Refused::Failed(e)
        }
    }

    fn on(self, stale: Stale) -> Apply {
        match self {
            Refused::Conflict => Apply::Conflict(stale),
            Refused::Failed(e) => Apply::Failed(e),
        }
    }
}

#[derive(Debug, Default)]
struct Caches {
    drives: Cache<DriveEntry>,
    volumes: Cache<VolumeEntry>,
}

/// What the store does the same way for drives and volumes.
trait Kind:
    Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + Debug + Send + Sync + 'static
{
    type Entry: Clone + PartialEq + Send + 'static;
    /// The object for an entry, with its status.
    fn object(name: &str, entry: &Self::Entry) -> Self;
    /// The entry an object makes (the default status when it has none yet).
    fn entry(&self) -> Self::Entry;
    fn same_spec(a: &Self::Entry, b: &Self::Entry) -> bool;
    fn has_status(&self, entry: &Self::Entry) -> bool;
    fn cache(caches: &mut Caches) -> &mut Cache<Self::Entry>;
}

impl Kind for Drive {
    type Entry = DriveEntry;

    fn object(name: &str, e: &DriveEntry) -> Drive {
        let mut d = Drive::new(name, e.spec.clone());
        d.status = Some(e.status.clone());
        d
    }

    fn entry(&self) -> DriveEntry {
        DriveEntry {
            spec: self.spec.clone(),
            status: self.status.clone().unwrap_or_default(),
        }
    }

    fn same_spec(a: &DriveEntry, b: &DriveEntry) -> bool {
        a.spec == b.spec
    }

    fn has_status(&self, e: &DriveEntry) -> bool {
        self.status.as_ref() == Some(&e.status)
    }

    fn cache(caches: &mut Caches) -> &mut Cache<DriveEntry> {
        &mut caches.drives
    }
}

impl Kind for Volume {
    type Entry = VolumeEntry;

    fn object(name: &str, e: &VolumeEntry) -> Volume {
        let mut v = Volume::new(name, e.spec.clone());
        v.status = Some(e.status.clone());
        v
    }

    fn entry(&self) -> VolumeEntry {
        VolumeEntry {
            spec: self.spec.clone(),
            status: self.status.clone().unwrap_or_default(),
        }
    }

    fn same_spec(a: &VolumeEntry, b: &VolumeEntry) -> bool {
        a.spec == b.spec
    }

    fn has_status(&self, e: &VolumeEntry) -> bool {
        self.status.as_ref() == Some(&e.status)
    }

    fn cache(caches: &mut Caches) -> &mut Cache<VolumeEntry> {
        &mut caches.volumes
    }
}

/// An object as the cache holds it, by name.
fn cached<K: Kind>(obj: &K) -> (String, Cached<K::Entry>) {
    let version = obj.resource_version().unwrap_or_default();
    (
        obj.name_any(),
        Cached {
            version,
            value: obj.entry(),
        },
    )
}

#[derive(Clone)]
pub struct KubeStore {
    drives: Api<Drive>,
    volumes: Api<Volume>,
    caches: Arc<Mutex<Caches>>,
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
    /// Connects with the usual configuration ($KUBECONFIG or ~/.kube/config, else the pod's
    /// service account) and starts watching drives and volumes.
    pub async fn connect() -> Result<KubeStore, KubeError> {
        let client = Client::try_default()
            .await
            .map_err(|e| KubeError::Config(e.to_string()))?;
        let store = KubeStore {
            drives: Api::all(client.clone()),
            volumes: Api::all(client),
            caches: Arc::default(),
        };
        tokio::spawn(keep_watching(store.drives.clone(), store.caches.clone()));
        tokio::spawn(keep_watching(store.volumes.clone(), store.caches.clone()));
        Ok(store)
    }

    fn caches(&self) -> std::sync::MutexGuard<'_, Caches> {
        self.caches.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn load(&self) -> Result<State, KubeError> {
        block_on(self.read())?.map(|(state, _)| state)
    }

    /// One volume: from the cache, else from the API server.
    pub fn volume(&self, id: &str) -> Result<Option<VolumeEntry>, KubeError> {
        if let Some(v) = self.caches().volumes.get(id) {
            return Ok(Some(v.value.clone()));
        }
        Ok(block_on(self.fetch(&self.volumes, id))??)
    }

    /// Gets an object afresh into the cache (or out of it, when it is gone).
    async fn fetch<K: Kind>(
        &self,
        api: &Api<K>,
        name: &str,
    ) -> Result<Option<K::Entry>, kube::Error> {
        let found = api.get_opt(name).await?;
        let mut caches = self.caches();
        match found {
            Some(obj) => {
                let (name, c) = cached(&obj);
                let entry = c.value.clone();
                K::cache(&mut caches).put(name, c);
                Ok(Some(entry))
            }
            None => {
                K::cache(&mut caches).remove(name);
                Ok(None)
            }
        }
    }

    /// The state from the cache when it is synced, else listed from the API server.
    async fn read(&self) -> Result<(State, Versions), KubeError> {
        if let Some(snapshot) = self.snapshot() {
            return Ok(snapshot);
        }
        let lp = ListParams::default();
        let (drives, volumes) = tokio::try_join!(self.drives.list(&lp), self.volumes.list(&lp))?;
        let mut state = State::default();
        let mut versions = Versions::default();
        for (name, c) in drives.items.iter().map(cached) {
            versions.drives.insert(name.clone(), c.version);
            state.drives.insert(name, c.value);
        }
        for (name, c) in volumes.items.iter().map(cached) {
            versions.volumes.insert(name.clone(), c.version);
            state.volumes.insert(name, c.value);
        }
        Ok((state, versions))
    }

    fn snapshot(&self) -> Option<(State, Versions)> {
        let caches = self.caches();
        if !(caches.drives.synced() && caches.volumes.synced()) {
            return None;
        }
        let mut state = State::default();
        let mut versions = Versions::default();
        for (name, c) in caches.drives.iter() {
            versions.drives.insert(name.clone(), c.version.clone());
            state.drives.insert(name.clone(), c.value.clone());
        }
        for (name, c) in caches.volumes.iter() {
            versions.volumes.insert(name.clone(), c.version.clone());
            state.volumes.insert(name.clone(), c.value.clone());
        }
        Some((state, versions))
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
                    Err(Apply::Conflict(stale)) => {
                        debug!(attempt, ?stale, "state conflict, retrying");
                        self.refresh(&stale).await;
                        // A little jitter keeps parallel writers from colliding in lockstep.
                        let pause = 5 + (attempt as u64 * 7 + u64::from(std::process::id())) % 20;
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                }
            }
            Err(KubeError::Contended)
        })?
    }

    /// Fetches what a conflict showed stale, so that the next attempt does not wait for the
    /// watch to bring it (an error leaves it to the watch).
    async fn refresh(&self, stale: &Stale) {
        let fetched = match stale {
            Stale::Drive(name) => self.fetch(&self.drives, name).await.map(drop),
            Stale::Volume(name) => self.fetch(&self.volumes, name).await.map(drop),
        };
        if let Err(e) = fetched {
            debug!(?stale, "refetching after a conflict: {e}");
        }
    }

    /// Writes what changed: drives first (the reservation point), then volumes.
    async fn write(&self, before: &State, after: &State, v: &Versions) -> Result<(), Apply> {
        for (name, entry) in &after.drives {
            let old = before.drives.get(name);
            if old != Some(entry) {
                self.save(&self.drives, name, old, entry, v.drives.get(name))
                    .await
                    .map_err(|r| r.on(Stale::Drive(name.clone())))?;
            }
        }
        for (name, entry) in &after.volumes {
            let old = before.volumes.get(name);
            if old != Some(entry) {
                self.save(&self.volumes, name, old, entry, v.volumes.get(name))
                    .await
                    .map_err(|r| r.on(Stale::Volume(name.clone())))?;
            }
        }
        for name in before.volumes.keys() {
            if !after.volumes.contains_key(name) {
                self.delete_volume(name, v.volumes.get(name))
                    .await
                    .map_err(|r| r.on(Stale::Volume(name.clone())))?;
            }
        }
        Ok(())
    }

    /// Writes one object: itself when it is new or its spec changed, then its status through
    /// the status subresource when the API server does not hold that status yet; each step
    /// conditional on the version the one before left. The result goes into the cache.
    async fn save<K: Kind>(
        &self,
        api: &Api<K>,
        name: &str,
        old: Option<&K::Entry>,
        new: &K::Entry,
        version: Option<&String>,
    ) -> Result<(), Refused> {
        let pp = PostParams::default();
        let mut obj = K::object(name, new);
        obj.meta_mut().resource_version = version.cloned();
        let stored = match (version, old) {
            (Some(_), Some(old)) if K::same_spec(old, new) => None,
            (Some(_), _) => Some(api.replace(name, &pp, &obj).await),
            (None, _) => Some(api.create(&pp, &obj).await),
        };
        let stored = match stored.transpose().map_err(Refused::of)? {
            Some(s) if s.has_status(new) => s,
            Some(s) => {
                obj.meta_mut().resource_version = s.resource_version();
                api.replace_status(name, &pp, &obj)
                    .await
                    .map_err(Refused::of)?
            }
            None => api
                .replace_status(name, &pp, &obj)
                .await
                .map_err(Refused::of)?,
        };
        let (name, c) = cached(&stored);
        K::cache(&mut self.caches()).put(name, c);
        Ok(())
    }

    async fn delete_volume(&self, name: &str, version: Option<&String>) -> Result<(), Refused> {
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: version.cloned(),
                uid: None,
            }),
            ..DeleteParams::default()
        };
        match self.volumes.delete(name, &dp).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(Refused::of(e)),
        }
        self.caches().volumes.remove(name);
        Ok(())
    }
}

/// Lists and watches one kind for as long as the plugin runs.
async fn keep_watching<K: Kind>(api: Api<K>, caches: Arc<Mutex<Caches>>) {
    loop {
        if let Err(e) = follow(&api, &caches).await {
            warn!(
                kind = %K::plural(&()),
                "watching the state failed, listing again: {e}"
            );
        }
        tokio::time::sleep(RELIST_PAUSE).await;
    }
}

fn apply<K: Kind>(caches: &Mutex<Caches>, event: Event<K::Entry>) {
    let mut caches = caches.lock().unwrap_or_else(|p| p.into_inner());
    K::cache(&mut caches).apply(event);
}

/// One list, then watches from its version for as long as they last. A list that fails
/// sends reads to the API server until one succeeds.
async fn follow<K: Kind>(api: &Api<K>, caches: &Mutex<Caches>) -> Result<(), kube::Error> {
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(e) => {
            let mut c = caches.lock().unwrap_or_else(|p| p.into_inner());
            K::cache(&mut c).invalidate();
            return Err(e);
        }
    };
    let version = list.metadata.resource_version.clone().unwrap_or_default();
    let items = list.items.iter().map(cached).collect();
    apply::<K>(caches, Event::Listed { items, version });
    loop {
        let from = {
            let mut c = caches.lock().unwrap_or_else(|p| p.into_inner());
            K::cache(&mut c)
                .resume_from()
                .unwrap_or_default()
                .to_string()
        };
        let wp = WatchParams::default().timeout(WATCH_SECONDS);
        let events = api.watch(&wp, &from).await?;
        futures_util::pin_mut!(events);
        while let Some(event) = events.try_next().await? {
            let event = match event {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                    let (name, object) = cached(&o);
                    Event::Applied { name, object }
                }
                WatchEvent::Deleted(o) => Event::Deleted {
                    name: o.name_any(),
                    version: o.resource_version().unwrap_or_default(),
                },
                WatchEvent::Bookmark(b) => Event::Bookmark {
                    version: b.metadata.resource_version,
                },
                // 410 Gone (the version is too old) among others: list again.
                WatchEvent::Error(s) => return Err(kube::Error::Api(s)),
            };
            apply::<K>(caches, event);
        }
    }
}

//! The IAM state: users, groups, named policies, service accounts and temporary (STS)
//! credentials, kept in memory by [`Iam`] and persisted through a [`Backend`], one document
//! per entity; and the lookup of an access key into an [`Identity`] that can be authorised.
//!
//! **Stored documents** (JSON; the shapes are the types of `model.rs`):
//! `users/<access key>.json` (sealed secret, status, attached policies),
//! `groups/<name>.json` (status, members, attached policies), `policies/<name>.json`,
//! `service-accounts/<access key>.json` (parent, sealed secret, inline policy, expiry, …),
//! `sts/<access key>.json` (parent, sealed secret and session token, session policy,
//! expiry; for a federated subject, its issuer, subject and the names of its policies). What is attached to an entity is inside its own document, so two changes to
//! different entities never touch the same document, and a distributed mode can change one
//! entity under one lock. A document whose name differs from its key is refused at load.
//!
//! **Secrets** are sealed (`seal.rs`): no secret key or session token is ever stored in the
//! clear, and changing the root credentials makes the stored ones unreadable.
//!
//! **Changes** are serialised (one writer at a time) and each writes the backend before
//! memory: a change whose write fails leaves memory as it was, so what is in memory is
//! always what [`Iam::load`] would read back. A change of several documents (removing a
//! user, purging expired credentials) writes them one at a time, in an order where every
//! intermediate state is safe, and stops at the first failure, keeping in memory the writes
//! that succeeded (retrying finishes it). Removing a user deletes its service accounts and
//! temporary credentials first, then takes it out of its groups, then deletes the user; a
//! crash part-way leaves a user with fewer derived credentials, never a credential or a group
//! membership that outlives it (and a service account or temporary credential whose parent
//! is gone does not authenticate anyway). A write that fails may still have reached storage;
//! memory keeps the old value until the next load.
//!
//! **MinIO's behaviours kept** (from `cmd/iam-store.go`, `cmd/iam.go` and the admin handlers):
//! adding a user that exists replaces its secret and status and keeps its policies and
//! groups; group members must be users; removing members with none named removes the group
//! only when it is empty (`GroupNotEmpty` otherwise); a disabled group contributes no
//! policies and refuses attach and detach; attaching only already-attached policies (or
//! detaching only unattached ones) is an error ("no net effect"); a policy attached to a
//! user or group cannot be removed (`PolicyInUse`); a service account's expiry is 15 minutes
//! to 365 days away; its inline policy is at most 4096 bytes of JSON, a session policy at
//! most 2048; a service account cannot be another one's parent, nor take its parent's access
//! key; a policy needs a `Version`.
//!
//! **Canned policies** (`readwrite`, `readonly`, …) exist from the start and cannot be
//! removed. They can be replaced, as MinIO's `add-canned-policy` overwrites them: the
//! replacement is stored like any policy, and removing it brings the built-in back (as
//! MinIO's default reappears once the stored one is deleted).
//!
//! **Federated subjects** (`AssumeRoleWithWebIdentity`): their temporary credentials have no
//! parent user; their parent is the subject's id ([`federated_parent`], MinIO's: a hash of
//! issuer and subject) and their permissions are the policies the provider's token named,
//! looked up by name at each use (those that exist when they are created; none, and they are
//! refused). Removing a user never touches them.
//!
//! Strata's own choices: only root may create a service account whose parent is root (one
//! without an inline policy is root); temporary credentials' session tokens are opaque
//! random strings looked up here, not JWTs; expired temporary credentials stay until
//! [`Iam::purge_expired`], expired service accounts until deleted (neither authenticates).

mod backend;
mod error;
mod generate;
mod groups;
mod identity;
mod info;
mod model;
mod policies;
mod reseal;
mod seal;
mod service_accounts;
mod temporary;
mod users;

#[cfg(test)]
mod tests;

pub use backend::{Backend, BackendError, BackendErrorKind, FaultyBackend, MemoryBackend};
pub use error::{IamError, LookupError};
pub use identity::{Identity, IdentityKind};
pub use info::{
    Credentials, FederatedInfo, GroupInfo, PolicyEntities, PolicyInfo, PolicyOrigin,
    ServiceAccountInfo, TemporaryInfo, UserInfo,
};
pub use model::{Status, ACCESS_KEY_MAX, ACCESS_KEY_MIN, SECRET_KEY_MAX, SECRET_KEY_MIN};
pub use policies::PolicyTarget;
pub use reseal::Resealed;
pub use seal::{Sealer, Secret};
pub use service_accounts::{NewServiceAccount, PolicyUpdate, ServiceAccountUpdate};
pub use temporary::{
    federated_parent, NewFederated, NewTemporary, MAX_SESSION_POLICY, MAX_TEMPORARY_PER_PARENT,
};

use crate::canned::CANNED;
use crate::document::Policy;
use model::{
    Group, PolicyDoc, ServiceAccount, Temporary, User, GROUPS, POLICIES, SERVICE_ACCOUNTS, SUFFIX,
    TEMPORARY, USERS,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Everything stored, as loaded.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct State {
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
    /// User-defined policies, replacements of canned ones included.
    policies: BTreeMap<String, PolicyDoc>,
    service_accounts: BTreeMap<String, ServiceAccount>,
    temporary: BTreeMap<String, Temporary>,
}

impl State {
    fn user(&self, name: &str) -> Result<&User, IamError> {
        self.users
            .get(name)
            .ok_or_else(|| IamError::NoSuchUser(name.to_string()))
    }

    fn group(&self, name: &str) -> Result<&Group, IamError> {
        self.groups
            .get(name)
            .ok_or_else(|| IamError::NoSuchGroup(name.to_string()))
    }

    /// The groups `user` is a member of.
    fn groups_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a Group> + 'a {
        self.groups
            .values()
            .filter(move |g| g.members.contains(user))
    }

    /// Whether a user, service account or temporary credential has this access key.
    fn holds_access_key(&self, key: &str) -> bool {
        self.users.contains_key(key)
            || self.service_accounts.contains_key(key)
            || self.temporary.contains_key(key)
    }
}

/// One document written or deleted, then applied to memory.
#[derive(Debug)]
enum Step {
    PutUser(User),
    DeleteUser(String),
    PutGroup(Group),
    DeleteGroup(String),
    PutPolicy(PolicyDoc),
    DeletePolicy(String),
    PutServiceAccount(ServiceAccount),
    DeleteServiceAccount(String),
    PutTemporary(Temporary),
    DeleteTemporary(String),
}

impl Step {
    fn write(&self, backend: &dyn Backend) -> Result<(), IamError> {
        fn put<T: Serialize>(
            b: &dyn Backend,
            prefix: &str,
            name: &str,
            doc: &T,
        ) -> Result<(), IamError> {
            // Cannot fail (every map key is a string); named as a document that cannot be
            // written if it ever did.
            let bytes = serde_json::to_vec(doc).map_err(|e| IamError::Corrupt {
                key: model::key(prefix, name),
                reason: e.to_string(),
            })?;
            Ok(b.save(&model::key(prefix, name), &bytes)?)
        }
        let delete = |prefix: &str, name: &str| -> Result<(), IamError> {
            Ok(backend.delete(&model::key(prefix, name))?)
        };
        match self {
            Step::PutUser(u) => put(backend, USERS, &u.access_key, u),
            Step::DeleteUser(name) => delete(USERS, name),
            Step::PutGroup(g) => put(backend, GROUPS, &g.name, g),
            Step::DeleteGroup(name) => delete(GROUPS, name),
            Step::PutPolicy(p) => put(backend, POLICIES, &p.name, p),
            Step::DeletePolicy(name) => delete(POLICIES, name),
            Step::PutServiceAccount(sa) => put(backend, SERVICE_ACCOUNTS, &sa.access_key, sa),
            Step::DeleteServiceAccount(key) => delete(SERVICE_ACCOUNTS, key),
            Step::PutTemporary(t) => put(backend, TEMPORARY, &t.access_key, t),
            Step::DeleteTemporary(key) => delete(TEMPORARY, key),
        }
    }

    fn apply(self, state: &mut State) {
        match self {
            Step::PutUser(u) => drop(state.users.insert(u.access_key.clone(), u)),
            Step::DeleteUser(name) => drop(state.users.remove(&name)),
            Step::PutGroup(g) => drop(state.groups.insert(g.name.clone(), g)),
            Step::DeleteGroup(name) => drop(state.groups.remove(&name)),
            Step::PutPolicy(p) => drop(state.policies.insert(p.name.clone(), p)),
            Step::DeletePolicy(name) => drop(state.policies.remove(&name)),
            Step::PutServiceAccount(sa) => {
                drop(state.service_accounts.insert(sa.access_key.clone(), sa))
            }
            Step::DeleteServiceAccount(key) => drop(state.service_accounts.remove(&key)),
            Step::PutTemporary(t) => drop(state.temporary.insert(t.access_key.clone(), t)),
            Step::DeleteTemporary(key) => drop(state.temporary.remove(&key)),
        }
    }
}

/// The IAM store: the state in memory, the backend it is persisted to, and the root
/// credentials (through the [`Sealer`]). Shared between threads (`Arc<Iam>`).
pub struct Iam {
    backend: Arc<dyn Backend>,
    sealer: Sealer,
    /// The canned policies, parsed once.
    canned: BTreeMap<&'static str, Arc<Policy>>,
    state: RwLock<State>,
    /// Held by the change being made: changes are planned on the state they will change.
    writer: Mutex<()>,
}

impl fmt::Debug for Iam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.read();
        f.debug_struct("Iam")
            .field("root", &self.sealer.root_access_key())
            .field("users", &s.users.len())
            .field("groups", &s.groups.len())
            .field("policies", &s.policies.len())
            .field("service_accounts", &s.service_accounts.len())
            .field("temporary", &s.temporary.len())
            .finish()
    }
}

impl Iam {
    /// Reads every stored document through `backend`. A document that cannot be read, or
    /// whose name is not its key's, fails the load ([`IamError::Corrupt`]): the state is
    /// never silently partial.
    pub fn load(backend: Arc<dyn Backend>, sealer: Sealer) -> Result<Iam, IamError> {
        let state = State {
            users: load_all(&*backend, USERS, |u: &User| &u.access_key)?,
            groups: load_all(&*backend, GROUPS, |g: &Group| &g.name)?,
            policies: load_all(&*backend, POLICIES, |p: &PolicyDoc| &p.name)?,
            service_accounts: load_all(&*backend, SERVICE_ACCOUNTS, |s: &ServiceAccount| {
                &s.access_key
            })?,
            temporary: load_all(&*backend, TEMPORARY, |t: &Temporary| &t.access_key)?,
        };
        for doc in state.policies.values() {
            doc.policy
                .validate_identity()
                .map_err(|e| IamError::Corrupt {
                    key: model::key(POLICIES, &doc.name),
                    reason: e.to_string(),
                })?;
        }
        let canned = CANNED
            .iter()
            .filter_map(|(name, _)| Some((*name, Arc::new(crate::canned::canned(name)?))))
            .collect();
        Ok(Iam {
            backend,
            sealer,
            canned,
            state: RwLock::new(state),
            writer: Mutex::new(()),
        })
    }

    /// The root user's access key.
    pub fn root_access_key(&self) -> &str {
        self.sealer.root_access_key()
    }

    fn is_root(&self, access_key: &str) -> bool {
        access_key == self.sealer.root_access_key()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes one change: `plan` looks at the state and says which documents to write (or
    /// refuses), then each is written and, once written, applied to memory.
    fn change<R>(
        &self,
        plan: impl FnOnce(&State) -> Result<(Vec<Step>, R), IamError>,
    ) -> Result<R, IamError> {
        let _writer = self.lock_writer();
        let (steps, out) = plan(&self.read())?;
        for step in steps {
            step.write(&*self.backend)?;
            step.apply(&mut self.write());
        }
        Ok(out)
    }

    /// The policy called `name`: a stored one, else a canned one.
    fn policy_named(&self, state: &State, name: &str) -> Option<Arc<Policy>> {
        match state.policies.get(name) {
            Some(doc) => Some(doc.policy.clone()),
            None => self.canned.get(name).cloned(),
        }
    }

    /// Whether a policy called `name` exists.
    fn has_policy(&self, state: &State, name: &str) -> bool {
        state.policies.contains_key(name) || self.canned.contains_key(name)
    }

    /// A copy of the state, for tests comparing it with a reload.
    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> State {
        self.read().clone()
    }
}

/// Every document under `prefix`, by name; `name` says which name a document claims.
fn load_all<T: DeserializeOwned>(
    backend: &dyn Backend,
    prefix: &str,
    name: impl Fn(&T) -> &String,
) -> Result<BTreeMap<String, T>, IamError> {
    let mut out = BTreeMap::new();
    for key in backend.list(prefix)? {
        // Deleted since it was listed: nothing to load.
        let Some(bytes) = backend.load(&key)? else {
            continue;
        };
        let corrupt = |reason: String| IamError::Corrupt {
            key: key.clone(),
            reason,
        };
        let doc: T = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let claimed = name(&doc).clone();
        let expected = key
            .strip_prefix(prefix)
            .and_then(|k| k.strip_suffix(SUFFIX));
        if expected != Some(claimed.as_str()) {
            return Err(corrupt(format!("it names {claimed:?}, not its key")));
        }
        out.insert(claimed, doc);
    }
    Ok(out)
}

//! Tests of the store: each operation's effects and errors, reloading, failing backends,
//! sealed secrets, and authorisation through looked-up identities.

mod auth;
mod failures;
mod groups;
mod policies;
mod secrets;
mod service_accounts;
mod temporary;
mod users;

use super::{
    Backend, FaultyBackend, Iam, IamError, MemoryBackend, NewFederated, NewServiceAccount,
    NewTemporary, PolicyTarget, Sealer, Secret, State, Status,
};
use crate::document::Policy;
use std::sync::Arc;

pub(super) const ROOT: &str = "rootadmin";
pub(super) const ROOT_SECRET: &str = "rootsecret-123";
/// "Now" in the tests, unix seconds.
pub(super) const NOW: u64 = 1_700_000_000;
pub(super) const HOUR: u64 = 3600;

pub(super) fn sealer() -> Sealer {
    Sealer::from_root(ROOT, ROOT_SECRET).expect("valid root credentials")
}

/// A store over a counting, failing backend over memory.
pub(super) struct Fixture {
    pub iam: Iam,
    pub mem: Arc<MemoryBackend>,
    pub faulty: Arc<FaultyBackend>,
}

impl Fixture {
    pub fn new() -> Fixture {
        let mem = Arc::new(MemoryBackend::new());
        let faulty = Arc::new(FaultyBackend::new(mem.clone()));
        let iam = Iam::load(faulty.clone(), sealer()).expect("empty store loads");
        Fixture { iam, mem, faulty }
    }

    /// The store read back from what the backend holds.
    pub fn reload(&self) -> Iam {
        Iam::load(self.mem.clone() as Arc<dyn Backend>, sealer()).expect("store reloads")
    }

    pub fn snapshot(&self) -> State {
        self.iam.snapshot()
    }

    /// Memory is what the backend holds.
    pub fn assert_reloads(&self) {
        assert_eq!(self.reload().snapshot(), self.snapshot());
    }

    pub fn user(&self, name: &str, secret: &str) -> &Self {
        self.iam
            .add_user(name, secret, Status::Enabled, NOW)
            .unwrap_or_else(|e| panic!("add user {name}: {e}"));
        self
    }

    pub fn policy(&self, name: &str, json: &str) -> &Self {
        self.iam
            .add_policy(name, json, NOW)
            .unwrap_or_else(|e| panic!("add policy {name}: {e}"));
        self
    }

    pub fn attach_user(&self, user: &str, policies: &[&str]) -> &Self {
        self.iam
            .attach_policies(PolicyTarget::User(user), policies, NOW)
            .unwrap_or_else(|e| panic!("attach to {user}: {e}"));
        self
    }

    pub fn attach_group(&self, group: &str, policies: &[&str]) -> &Self {
        self.iam
            .attach_policies(PolicyTarget::Group(group), policies, NOW)
            .unwrap_or_else(|e| panic!("attach to {group}: {e}"));
        self
    }

    pub fn group(&self, group: &str, members: &[&str]) -> &Self {
        self.iam
            .update_group_members(group, members, false, NOW)
            .unwrap_or_else(|e| panic!("group {group}: {e}"));
        self
    }

    /// A service account of `parent` with these keys and inline policy.
    pub fn service_account(&self, parent: &str, key: &str, policy: Option<&str>) -> &Self {
        self.iam
            .add_service_account(sa_request(parent, key, policy), NOW)
            .unwrap_or_else(|e| panic!("service account {key}: {e}"));
        self
    }

    /// Temporary credentials of `parent`, expiring in an hour; their access key.
    pub fn temporary(&self, parent: &str, policy: Option<&str>) -> String {
        self.iam
            .add_temporary(
                NewTemporary {
                    parent: parent.to_string(),
                    policy: policy.map(parse),
                    expiry: NOW + HOUR,
                },
                NOW,
            )
            .unwrap_or_else(|e| panic!("temporary of {parent}: {e}"))
            .access_key
    }
}

/// A request for a service account `key` of `parent` (secret `<key>-secret`), asked by
/// `parent`.
pub(super) fn sa_request(parent: &str, key: &str, policy: Option<&str>) -> NewServiceAccount {
    NewServiceAccount {
        parent: parent.to_string(),
        requested_by: parent.to_string(),
        access_key: Some(key.to_string()),
        secret_key: Some(Secret::new(format!("{key}-secret"))),
        policy: policy.map(parse),
        ..Default::default()
    }
}

pub(super) fn parse(json: &str) -> Policy {
    Policy::parse_identity(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// An identity policy of one statement.
pub(super) fn statement(effect: &str, actions: &[&str], resources: &[&str]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":{},"Resource":{}}}]}}"#,
        serde_json::to_string(actions).unwrap_or_default(),
        serde_json::to_string(resources).unwrap_or_default(),
    )
}

pub(super) fn allow(actions: &[&str], resources: &[&str]) -> String {
    statement("Allow", actions, resources)
}

/// Whether an error is the one expected (in tables of cases).
pub(super) type Check = fn(&IamError) -> bool;

/// Shows which error came, for `matches!` failures.
pub(super) fn err<T: std::fmt::Debug>(r: Result<T, IamError>) -> IamError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// The store and identities are shared between request threads.
#[test]
fn store_and_identities_are_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Iam>();
    shared::<crate::store::Identity>();
    shared::<FaultyBackend>();
}

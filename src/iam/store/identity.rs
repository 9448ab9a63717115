//! From an access key to who is asking and what they may do: the S3 front looks the key up
//! ([`Iam::identity`]), checks the request's signature with [`Identity::secret`] (and a
//! temporary credential's session token), then asks [`Identity::is_allowed`].
//!
//! A service account and a temporary credential act as their parent user (as MinIO's do):
//! `${aws:username}` is the parent's name, a bucket policy may name the parent, and their
//! permissions are the parent's, narrowed by their inline or session policy. The parent's
//! permissions are its own policies and those of its enabled groups; root's are everything.
//! A federated subject's temporary credentials have no parent user: their permissions are the
//! policies its token named (those that still exist), narrowed by the session policy.

use super::error::LookupError;
use super::model::{Federated, Status, User};
use super::seal::{SealKind, Secret};
use super::{Iam, State};
use crate::document::Policy;
use crate::evaluate::{Decision, PolicySet};
use crate::request::{keys, Context, Principal, Request};
use std::collections::BTreeSet;
use std::sync::Arc;

/// What kind of credential authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityKind {
    Root,
    User,
    ServiceAccount {
        parent: String,
        /// Unix seconds from which it no longer authenticates; `None`: never.
        expiry: Option<u64>,
    },
    Temporary {
        parent: String,
        /// Must come with the request (`X-Amz-Security-Token`).
        session_token: Secret,
        expiry: u64,
    },
}

/// An authenticated access key: its secret, who it acts as, and its policies. Its `Debug`
/// shows no secret.
#[derive(Clone, Debug)]
pub struct Identity {
    access_key: String,
    secret: Secret,
    kind: IdentityKind,
    /// The user it acts as: itself, or its parent.
    user: String,
    /// The enabled groups of that user.
    groups: Vec<String>,
    /// The identity policies of that user and of its enabled groups.
    policies: Vec<Arc<Policy>>,
    /// An inline (service account) or session (temporary) policy narrowing them.
    session: Option<Arc<Policy>>,
    /// Root, or derived from root: every permission, narrowed only by `session`.
    root: bool,
}

impl Identity {
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The secret key, for checking the request's signature.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    pub fn kind(&self) -> &IdentityKind {
        &self.kind
    }

    /// The user it acts as, the value of `${aws:username}`: its own name for root and a
    /// user, its parent's for a service account or a temporary credential.
    pub fn username(&self) -> &str {
        &self.user
    }

    /// The enabled groups whose policies it has.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The identity policies it has (its user's and its user's enabled groups').
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.policies
    }

    /// The inline or session policy that narrows them.
    pub fn session_policy(&self) -> Option<&Policy> {
        self.session.as_deref()
    }

    /// Whether it has root's permissions (narrowed by a session policy, if any).
    pub fn acts_as_root(&self) -> bool {
        self.root
    }

    /// How a bucket policy's `Principal` sees it: its access key, its user's name and that
    /// user's ARN (`arn:aws:iam:::user/alice`).
    pub fn principal(&self) -> Principal {
        let mut names = vec![self.access_key.clone()];
        if self.user != self.access_key {
            names.push(self.user.clone());
        }
        names.push(format!("arn:aws:iam:::user/{}", self.user));
        Principal::Authenticated(names)
    }

    /// Sets the condition keys that come from the identity, over any the caller set (they
    /// must not be spoofable), as MinIO sets them: `aws:username` and `aws:userid` (the user
    /// it acts as), `aws:principaltype` (`Account` for root, `AssumedRole` for a temporary
    /// credential, else `User`).
    pub fn fill_context(&self, context: &mut Context) {
        context.set(keys::USERNAME, self.user.clone());
        context.set(keys::USERID, self.user.clone());
        let kind = match (&self.kind, self.root) {
            (IdentityKind::Temporary { .. }, _) => "AssumedRole",
            (_, true) => "Account",
            _ => "User",
        };
        context.set(keys::PRINCIPAL_TYPE, kind);
    }

    /// The decision on `action` on `resource` (see [`Request`]), in `context` (the keys of
    /// [`Identity::fill_context`] are set here), under the bucket's policy if it has one.
    pub fn decide(
        &self,
        action: &str,
        resource: Option<&str>,
        context: &Context,
        bucket_policy: Option<&Policy>,
    ) -> Decision {
        let mut cx = context.clone();
        self.fill_context(&mut cx);
        let principal = self.principal();
        let req = Request {
            action,
            resource,
            principal: &principal,
            context: &cx,
        };
        if self.root {
            return self
                .session
                .as_ref()
                .map_or(Decision::Allow, |s| s.evaluate(&req));
        }
        let mut set = PolicySet::new();
        for p in &self.policies {
            set = set.identity(p);
        }
        if let Some(b) = bucket_policy {
            set = set.bucket(b);
        }
        if let Some(s) = &self.session {
            set = set.session(s);
        }
        set.is_allowed(&req)
    }

    /// Whether [`Identity::decide`] allows it.
    pub fn is_allowed(
        &self,
        action: &str,
        resource: Option<&str>,
        context: &Context,
        bucket_policy: Option<&Policy>,
    ) -> bool {
        self.decide(action, resource, context, bucket_policy)
            .is_allowed()
    }
}

/// The permissions a user (or root) lends to itself and to its derived credentials.
struct Grants {
    root: bool,
    groups: Vec<String>,
    policies: Vec<Arc<Policy>>,
}

impl Iam {
    /// The identity of `access_key` at time `now` (unix seconds), or why it does not
    /// authenticate.
    pub fn identity(&self, access_key: &str, now: u64) -> Result<Identity, LookupError> {
        if self.is_root(access_key) {
            let grants = Grants {
                root: true,
                groups: Vec::new(),
                policies: Vec::new(),
            };
            let secret = self.sealer.root_secret().clone();
            return Ok(identity(
                access_key,
                secret,
                IdentityKind::Root,
                access_key,
                grants,
                None,
            ));
        }
        let s = self.read();
        if let Some(u) = s.users.get(access_key) {
            if !u.status.is_enabled() {
                return Err(LookupError::UserDisabled(access_key.to_string()));
            }
            let secret = self.open(SealKind::User, access_key, &u.secret)?;
            let grants = self.user_grants(&s, u);
            return Ok(identity(
                access_key,
                secret,
                IdentityKind::User,
                access_key,
                grants,
                None,
            ));
        }
        if let Some(sa) = s.service_accounts.get(access_key) {
            if sa.status != Status::Enabled {
                return Err(LookupError::ServiceAccountDisabled);
            }
            if sa.expiry.is_some_and(|e| now >= e) {
                return Err(LookupError::ServiceAccountExpired);
            }
            let grants = self.parent_grants(&s, &sa.parent)?;
            let secret = self.open(SealKind::ServiceAccount, access_key, &sa.secret)?;
            let kind = IdentityKind::ServiceAccount {
                parent: sa.parent.clone(),
                expiry: sa.expiry,
            };
            let session = sa.policy.clone();
            return Ok(identity(
                access_key, secret, kind, &sa.parent, grants, session,
            ));
        }
        if let Some(t) = s.temporary.get(access_key) {
            if now >= t.expiry {
                return Err(LookupError::TemporaryExpired);
            }
            let grants = match &t.federated {
                Some(f) => self.federated_grants(&s, f),
                None => self.parent_grants(&s, &t.parent)?,
            };
            let secret = self.open(SealKind::TemporarySecret, access_key, &t.secret)?;
            let kind = IdentityKind::Temporary {
                parent: t.parent.clone(),
                session_token: self.open(SealKind::TemporaryToken, access_key, &t.session_token)?,
                expiry: t.expiry,
            };
            let session = t.policy.clone();
            return Ok(identity(
                access_key, secret, kind, &t.parent, grants, session,
            ));
        }
        Err(LookupError::UnknownAccessKey)
    }

    fn open(
        &self,
        kind: SealKind,
        access_key: &str,
        sealed: &super::seal::Sealed,
    ) -> Result<Secret, LookupError> {
        self.sealer
            .open(kind, access_key, sealed)
            .ok_or(LookupError::Unsealable)
    }

    /// What a derived credential's parent grants: root's everything, or an enabled user's
    /// policies.
    fn parent_grants(&self, s: &State, parent: &str) -> Result<Grants, LookupError> {
        if self.is_root(parent) {
            return Ok(Grants {
                root: true,
                groups: Vec::new(),
                policies: Vec::new(),
            });
        }
        let u = s
            .users
            .get(parent)
            .ok_or_else(|| LookupError::ParentMissing(parent.to_string()))?;
        if !u.status.is_enabled() {
            return Err(LookupError::ParentDisabled(parent.to_string()));
        }
        Ok(self.user_grants(s, u))
    }

    /// What a federated subject's token granted: the named policies that exist now.
    fn federated_grants(&self, s: &State, f: &Federated) -> Grants {
        Grants {
            root: false,
            groups: Vec::new(),
            policies: f
                .policies
                .iter()
                .filter_map(|n| self.policy_named(s, n))
                .collect(),
        }
    }

    /// A user's own policies and those of its enabled groups (a policy named but missing is
    /// skipped, as MinIO skips it).
    fn user_grants(&self, s: &State, u: &User) -> Grants {
        let groups: Vec<_> = s
            .groups_of(&u.access_key)
            .filter(|g| g.status.is_enabled())
            .collect();
        let names: BTreeSet<&String> = u
            .policies
            .iter()
            .chain(groups.iter().flat_map(|g| &g.policies))
            .collect();
        Grants {
            root: false,
            groups: groups.iter().map(|g| g.name.clone()).collect(),
            policies: names
                .into_iter()
                .filter_map(|n| self.policy_named(s, n))
                .collect(),
        }
    }
}

fn identity(
    access_key: &str,
    secret: Secret,
    kind: IdentityKind,
    user: &str,
    grants: Grants,
    session: Option<Arc<Policy>>,
) -> Identity {
    Identity {
        access_key: access_key.to_string(),
        secret,
        kind,
        user: user.to_string(),
        groups: grants.groups,
        policies: grants.policies,
        session,
        root: grants.root,
    }
}

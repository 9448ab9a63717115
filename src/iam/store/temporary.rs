//! Temporary (STS) credentials: what `AssumeRole` hands out for a user (or root), what
//! `AssumeRoleWithWebIdentity` hands out for a federated subject, and their expiry.

use super::error::IamError;
use super::generate;
use super::info::{Credentials, FederatedInfo, TemporaryInfo};
use super::model::{Federated, Temporary};
use super::seal::{SealKind, Secret};
use super::service_accounts::checked_policy;
use super::{Iam, State, Step};
use crate::document::Policy;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;

/// MinIO's (and AWS's) bound on an STS session policy's JSON.
/// Unexpired temporary credentials one parent (a user, root, a federated subject) may hold:
/// each is a stored document, and one valid login must not grow the store without end.
pub const MAX_TEMPORARY_PER_PARENT: usize = 1000;

/// A session policy's largest size in bytes (AWS: 2048 characters of plaintext).
pub const MAX_SESSION_POLICY: usize = 2048;

/// Temporary credentials to create (the STS front has checked the request and computed the
/// expiry from `DurationSeconds`).
#[derive(Clone, Debug)]
pub struct NewTemporary {
    /// The user they act for (a user's access key, or root's).
    pub parent: String,
    /// The session policy narrowing the parent's permissions.
    pub policy: Option<Policy>,
    /// Unix seconds from which they no longer authenticate; after `now`.
    pub expiry: u64,
}

/// Temporary credentials to create for a subject an identity provider vouched for (the STS
/// front has verified its token and computed the expiry, bounded by the token's own).
#[derive(Clone, Debug)]
pub struct NewFederated {
    /// The provider (the token's `iss`).
    pub issuer: String,
    /// Whom it vouched for (the token's `sub`).
    pub subject: String,
    /// Names of the policies the token grants; those that exist are kept.
    pub policies: Vec<String>,
    /// The session policy narrowing them.
    pub policy: Option<Policy>,
    /// Unix seconds from which they no longer authenticate; after `now`.
    pub expiry: u64,
}

/// The parent of a federated subject's credentials, as MinIO derives it: the unpadded
/// base64url SHA-256 of `openid:<subject>:<issuer>` (stable across logins, bounded, and free
/// of the `/` an issuer's URL holds).
pub fn federated_parent(issuer: &str, subject: &str) -> String {
    let digest = Sha256::digest(format!("openid:{subject}:{issuer}").as_bytes());
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(digest)
}

impl Iam {
    /// Creates temporary credentials for an enabled parent; returns them, session token
    /// included (generated: access key 20 characters, secret 40, token 64).
    pub fn add_temporary(&self, req: NewTemporary, now: u64) -> Result<Credentials, IamError> {
        let policy = checked_session(req.policy, req.expiry, now)?;
        self.create_temporary(now, |s| {
            self.check_temporary_parent(s, &req.parent)?;
            Ok((req.parent.clone(), policy, req.expiry, None))
        })
    }

    /// Creates temporary credentials for a federated subject, with the policies of `req` that
    /// exist (none: [`IamError::NoSuchPolicy`]); returns them, session token included.
    pub fn add_federated(&self, req: NewFederated, now: u64) -> Result<Credentials, IamError> {
        let policy = checked_session(req.policy, req.expiry, now)?;
        if req.issuer.trim().is_empty() || req.subject.trim().is_empty() {
            return Err(IamError::InvalidName {
                kind: "federated subject",
                name: format!("{}:{}", req.issuer, req.subject),
                reason: "its issuer or its subject is empty",
            });
        }
        let parent = federated_parent(&req.issuer, &req.subject);
        self.create_temporary(now, |s| {
            let policies: BTreeSet<String> = req
                .policies
                .iter()
                .filter(|n| self.has_policy(s, n))
                .cloned()
                .collect();
            if policies.is_empty() {
                return Err(IamError::NoSuchPolicy(req.policies.join(",")));
            }
            let federated = Federated {
                issuer: req.issuer.clone(),
                subject: req.subject.clone(),
                policies,
            };
            Ok((parent.clone(), policy, req.expiry, Some(federated)))
        })
    }

    /// Generates and stores temporary credentials; `describe` checks the state and says whom
    /// they act for (parent, session policy, expiry, federated subject).
    fn create_temporary(
        &self,
        now: u64,
        describe: impl FnOnce(&State) -> Result<TemporaryParts, IamError>,
    ) -> Result<Credentials, IamError> {
        let secret_key = Secret::new(generate::secret_key()?);
        let session_token = Secret::new(generate::session_token()?);
        let (access_key, expiry) = self.change(|s| {
            let (parent, policy, expiry, federated) = describe(s)?;
            let live = s
                .temporary
                .values()
                .filter(|t| t.parent == parent && t.expiry > now)
                .count();
            if live >= MAX_TEMPORARY_PER_PARENT {
                return Err(IamError::TooManyTemporary {
                    parent,
                    max: MAX_TEMPORARY_PER_PARENT,
                });
            }
            let access_key = self.unused_access_key(s)?;
            let seal = |kind, secret: &Secret| self.sealer.seal(kind, &access_key, secret.expose());
            let t = Temporary {
                access_key: access_key.clone(),
                secret: seal(SealKind::TemporarySecret, &secret_key)?,
                session_token: seal(SealKind::TemporaryToken, &session_token)?,
                parent,
                policy,
                expiry,
                created_at: now,
                federated,
            };
            Ok((vec![Step::PutTemporary(t)], (access_key, expiry)))
        })?;
        Ok(Credentials {
            access_key,
            secret_key,
            session_token: Some(session_token),
            expiry: Some(expiry),
        })
    }

    fn check_temporary_parent(&self, s: &State, parent: &str) -> Result<(), IamError> {
        if self.is_root(parent) {
            return Ok(());
        }
        match s.users.get(parent) {
            Some(u) if u.status.is_enabled() => Ok(()),
            Some(_) => Err(IamError::NotAllowed("the parent user is disabled")),
            None => Err(IamError::NoSuchUser(parent.to_string())),
        }
    }

    /// A generated access key no one holds (a clash of 20 random characters is all but
    /// impossible; a few draws rule it out).
    fn unused_access_key(&self, s: &State) -> Result<String, IamError> {
        for _ in 0..8 {
            let key = generate::access_key()?;
            if !self.is_root(&key) && !s.holds_access_key(&key) {
                return Ok(key);
            }
        }
        Err(IamError::Random(
            "every generated access key was taken".into(),
        ))
    }

    /// Revokes temporary credentials before their expiry.
    pub fn revoke_temporary(&self, access_key: &str) -> Result<(), IamError> {
        self.change(|s| {
            temporary(s, access_key)?;
            Ok((vec![Step::DeleteTemporary(access_key.to_string())], ()))
        })
    }

    pub fn temporary_info(&self, access_key: &str) -> Result<TemporaryInfo, IamError> {
        Ok(info(temporary(&self.read(), access_key)?))
    }

    /// The temporary credentials of `parent`, by access key.
    pub fn list_temporary(&self, parent: &str) -> Vec<TemporaryInfo> {
        self.read()
            .temporary
            .values()
            .filter(|t| t.parent == parent)
            .map(info)
            .collect()
    }

    /// Deletes the temporary credentials expired at `now`; returns how many. Stops at the
    /// first failing delete, keeping those done (the next purge goes on).
    pub fn purge_expired(&self, now: u64) -> Result<usize, IamError> {
        self.change(|s| {
            let steps: Vec<Step> = s
                .temporary
                .values()
                .filter(|t| t.expiry <= now)
                .map(|t| Step::DeleteTemporary(t.access_key.clone()))
                .collect();
            let n = steps.len();
            Ok((steps, n))
        })
    }
}

/// Parent, session policy, expiry and federated subject of credentials to create.
type TemporaryParts = (String, Option<Arc<Policy>>, u64, Option<Federated>);

/// The session policy, checked, of credentials expiring at `expiry` (after `now`).
fn checked_session(
    policy: Option<Policy>,
    expiry: u64,
    now: u64,
) -> Result<Option<Arc<Policy>>, IamError> {
    if expiry <= now {
        return Err(IamError::InvalidExpiry {
            expiry,
            reason: "not in the future",
        });
    }
    policy
        .map(|p| checked_policy(p, MAX_SESSION_POLICY))
        .transpose()
}

fn temporary<'a>(s: &'a State, access_key: &str) -> Result<&'a Temporary, IamError> {
    s.temporary
        .get(access_key)
        .ok_or_else(|| IamError::NoSuchTemporary(access_key.to_string()))
}

fn info(t: &Temporary) -> TemporaryInfo {
    TemporaryInfo {
        access_key: t.access_key.clone(),
        parent: t.parent.clone(),
        policy: t.policy.clone(),
        expiry: t.expiry,
        created_at: t.created_at,
        federated: t.federated.as_ref().map(|f| FederatedInfo {
            issuer: f.issuer.clone(),
            subject: f.subject.clone(),
            policies: f.policies.iter().cloned().collect(),
        }),
    }
}

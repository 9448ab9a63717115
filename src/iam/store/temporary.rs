//! Temporary (STS) credentials: what `AssumeRole` hands out, and their expiry.

use super::error::IamError;
use super::generate;
use super::info::{Credentials, TemporaryInfo};
use super::model::Temporary;
use super::seal::{SealKind, Secret};
use super::service_accounts::checked_policy;
use super::{Iam, State, Step};
use crate::document::Policy;

/// MinIO's (and AWS's) bound on an STS session policy's JSON.
const MAX_SESSION_POLICY: usize = 2048;

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

impl Iam {
    /// Creates temporary credentials for an enabled parent; returns them, session token
    /// included (generated: access key 20 characters, secret 40, token 64).
    pub fn add_temporary(&self, req: NewTemporary, now: u64) -> Result<Credentials, IamError> {
        if req.expiry <= now {
            return Err(IamError::InvalidExpiry {
                expiry: req.expiry,
                reason: "not in the future",
            });
        }
        let policy = req
            .policy
            .map(|p| checked_policy(p, MAX_SESSION_POLICY))
            .transpose()?;
        let secret_key = Secret::new(generate::secret_key()?);
        let session_token = Secret::new(generate::session_token()?);
        let access_key = self.change(|s| {
            self.check_temporary_parent(s, &req.parent)?;
            let access_key = self.unused_access_key(s)?;
            let seal = |kind, secret: &Secret| self.sealer.seal(kind, &access_key, secret.expose());
            let t = Temporary {
                access_key: access_key.clone(),
                secret: seal(SealKind::TemporarySecret, &secret_key)?,
                session_token: seal(SealKind::TemporaryToken, &session_token)?,
                parent: req.parent.clone(),
                policy,
                expiry: req.expiry,
                created_at: now,
            };
            Ok((vec![Step::PutTemporary(t)], access_key))
        })?;
        Ok(Credentials {
            access_key,
            secret_key,
            session_token: Some(session_token),
            expiry: Some(req.expiry),
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
    }
}

//! Service accounts (MinIO's access keys): `mc admin user svcacct add | edit | info | ls |
//! rm`, `mc admin accesskey …`.

use super::error::IamError;
use super::generate;
use super::info::{Credentials, ServiceAccountInfo};
use super::model::{
    check_derived_keys, check_description, check_secret_key, check_service_account_name,
    ServiceAccount, Status,
};
use super::seal::{SealKind, Secret};
use super::{Iam, State, Step};
use crate::document::Policy;
use std::sync::Arc;

/// MinIO's bounds on a service account's expiry, from the time it is set: 15 minutes and
/// 365 days (`minServiceAccountExpiry`, `maxServiceAccountExpiry`).
const MIN_EXPIRY_SECS: u64 = 15 * 60;
const MAX_EXPIRY_SECS: u64 = 365 * 24 * 3600;
/// MinIO's bound on an inline policy's JSON (`maxSVCSessionPolicySize`).
pub(crate) const MAX_INLINE_POLICY: usize = 4096;

/// A service account to create.
#[derive(Clone, Debug, Default)]
pub struct NewServiceAccount {
    /// The user it acts for: a user's access key, or root's.
    pub parent: String,
    /// Who asks (an access key's user name: root's, or a user's): only root may create a
    /// service account for root.
    pub requested_by: String,
    /// Both or neither: when neither, they are generated (20 and 40 characters).
    pub access_key: Option<String>,
    pub secret_key: Option<Secret>,
    /// Narrows the parent's permissions (an identity policy, at most 4096 bytes of JSON).
    pub policy: Option<Policy>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Unix seconds, 15 minutes to 365 days from now.
    pub expiry: Option<u64>,
}

/// What to do with a service account's inline policy.
#[derive(Clone, Debug, Default)]
pub enum PolicyUpdate {
    #[default]
    Keep,
    /// It acts with its parent's policies again.
    Remove,
    Set(Policy),
}

/// Changes to a service account; `None` (and [`PolicyUpdate::Keep`]) leave a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ServiceAccountUpdate {
    pub secret_key: Option<Secret>,
    pub status: Option<Status>,
    pub policy: PolicyUpdate,
    pub name: Option<String>,
    pub description: Option<String>,
    pub expiry: Option<u64>,
}

impl Iam {
    /// Creates a service account; returns its credentials (the only time the secret is
    /// handed out).
    pub fn add_service_account(
        &self,
        req: NewServiceAccount,
        now: u64,
    ) -> Result<Credentials, IamError> {
        let (access_key, secret_key) = match (req.access_key, req.secret_key) {
            (Some(ak), Some(sk)) => (ak, sk),
            (None, None) => (
                generate::access_key()?,
                Secret::new(generate::secret_key()?),
            ),
            (Some(ak), None) => {
                return Err(IamError::InvalidAccessKey {
                    key: ak,
                    reason: "an access key needs a secret key",
                })
            }
            (None, Some(_)) => {
                return Err(IamError::InvalidSecretKey(
                    "a secret key needs an access key",
                ))
            }
        };
        check_derived_keys(&access_key, secret_key.expose())?;
        let name = non_empty(req.name);
        let description = non_empty(req.description);
        check_labels(name.as_deref(), description.as_deref())?;
        let policy = req.policy.map(checked_inline_policy).transpose()?;
        if let Some(expiry) = req.expiry {
            check_expiry(expiry, now)?;
        }
        if req.parent == access_key {
            return Err(IamError::NotAllowed(
                "a service account cannot take its parent's access key",
            ));
        }
        if self.is_root(&req.parent) && !self.is_root(&req.requested_by) {
            return Err(IamError::NotAllowed(
                "only root creates service accounts for root",
            ));
        }
        let secret =
            self.sealer
                .seal(SealKind::ServiceAccount, &access_key, secret_key.expose())?;
        self.change(|s| {
            self.check_parent(s, &req.parent)?;
            if self.is_root(&access_key) || s.holds_access_key(&access_key) {
                return Err(IamError::AccessKeyTaken(access_key.clone()));
            }
            let sa = ServiceAccount {
                access_key: access_key.clone(),
                secret,
                parent: req.parent.clone(),
                policy,
                name,
                description,
                expiry: req.expiry,
                status: Status::Enabled,
                updated_at: now,
            };
            Ok((vec![Step::PutServiceAccount(sa)], ()))
        })?;
        Ok(Credentials {
            access_key,
            secret_key,
            session_token: None,
            expiry: req.expiry,
        })
    }

    /// A parent must be root or a user (not a service account nor a temporary credential).
    fn check_parent(&self, s: &State, parent: &str) -> Result<(), IamError> {
        if self.is_root(parent) || s.users.contains_key(parent) {
            return Ok(());
        }
        if s.service_accounts.contains_key(parent) || s.temporary.contains_key(parent) {
            return Err(IamError::NotAllowed("the parent must be a user"));
        }
        Err(IamError::NoSuchUser(parent.to_string()))
    }

    /// Changes a service account's secret, status, inline policy, name, description or
    /// expiry.
    pub fn update_service_account(
        &self,
        access_key: &str,
        update: ServiceAccountUpdate,
        now: u64,
    ) -> Result<(), IamError> {
        if let Some(secret) = &update.secret_key {
            check_secret_key(secret.expose())?;
        }
        let name = non_empty(update.name);
        let description = non_empty(update.description);
        check_labels(name.as_deref(), description.as_deref())?;
        if let Some(expiry) = update.expiry {
            check_expiry(expiry, now)?;
        }
        let policy = match update.policy {
            PolicyUpdate::Keep => None,
            PolicyUpdate::Remove => Some(None),
            PolicyUpdate::Set(p) => Some(Some(checked_inline_policy(p)?)),
        };
        let secret = match &update.secret_key {
            Some(sk) => Some(self.sealer.seal(
                SealKind::ServiceAccount,
                access_key,
                sk.expose(),
            )?),
            None => None,
        };
        self.change(|s| {
            let mut sa = service_account(s, access_key)?.clone();
            if let Some(secret) = secret {
                sa.secret = secret;
            }
            if let Some(status) = update.status {
                sa.status = status;
            }
            if let Some(policy) = policy {
                sa.policy = policy;
            }
            sa.name = name.or(sa.name);
            sa.description = description.or(sa.description);
            sa.expiry = update.expiry.or(sa.expiry);
            sa.updated_at = now;
            Ok((vec![Step::PutServiceAccount(sa)], ()))
        })
    }

    pub fn service_account_info(&self, access_key: &str) -> Result<ServiceAccountInfo, IamError> {
        Ok(info(service_account(&self.read(), access_key)?))
    }

    /// The service accounts of `parent`, by access key.
    pub fn list_service_accounts(&self, parent: &str) -> Vec<ServiceAccountInfo> {
        self.read()
            .service_accounts
            .values()
            .filter(|sa| sa.parent == parent)
            .map(info)
            .collect()
    }

    pub fn delete_service_account(&self, access_key: &str) -> Result<(), IamError> {
        self.change(|s| {
            service_account(s, access_key)?;
            Ok((vec![Step::DeleteServiceAccount(access_key.to_string())], ()))
        })
    }
}

fn service_account<'a>(s: &'a State, access_key: &str) -> Result<&'a ServiceAccount, IamError> {
    s.service_accounts
        .get(access_key)
        .ok_or_else(|| IamError::NoSuchServiceAccount(access_key.to_string()))
}

fn info(sa: &ServiceAccount) -> ServiceAccountInfo {
    ServiceAccountInfo {
        access_key: sa.access_key.clone(),
        parent: sa.parent.clone(),
        name: sa.name.clone(),
        description: sa.description.clone(),
        policy: sa.policy.clone(),
        expiry: sa.expiry,
        status: sa.status,
        updated_at: sa.updated_at,
    }
}

/// An empty name or description is no name or description (as MinIO's empty strings).
fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn check_labels(name: Option<&str>, description: Option<&str>) -> Result<(), IamError> {
    if let Some(name) = name {
        check_service_account_name(name)?;
    }
    if let Some(description) = description {
        check_description(description)?;
    }
    Ok(())
}

/// An inline (or session) policy: an identity policy within the size MinIO allows.
pub(crate) fn checked_policy(policy: Policy, max: usize) -> Result<Arc<Policy>, IamError> {
    policy.validate_identity()?;
    let size = policy.to_json().len();
    if size > max {
        return Err(IamError::PolicyTooLarge { size, max });
    }
    Ok(Arc::new(policy))
}

fn checked_inline_policy(policy: Policy) -> Result<Arc<Policy>, IamError> {
    checked_policy(policy, MAX_INLINE_POLICY)
}

fn check_expiry(expiry: u64, now: u64) -> Result<(), IamError> {
    let invalid = |reason| IamError::InvalidExpiry { expiry, reason };
    if expiry < now.saturating_add(MIN_EXPIRY_SECS) {
        return Err(invalid("less than 15 minutes away"));
    }
    if expiry > now.saturating_add(MAX_EXPIRY_SECS) {
        return Err(invalid("more than 365 days away"));
    }
    Ok(())
}

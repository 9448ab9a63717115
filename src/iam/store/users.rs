//! Users: `mc admin user add | remove | enable | disable | info | list`.

use super::error::IamError;
use super::info::UserInfo;
use super::model::{check_access_key, check_secret_key, Status, User};
use super::seal::SealKind;
use super::{Iam, State, Step};

impl Iam {
    /// Creates the user `access_key`, or replaces an existing one's secret key and status
    /// (its policies and groups stay). Root and the access keys of service accounts and
    /// temporary credentials cannot be added as users.
    pub fn add_user(
        &self,
        access_key: &str,
        secret_key: &str,
        status: Status,
        now: u64,
    ) -> Result<(), IamError> {
        check_access_key(access_key)?;
        check_secret_key(secret_key)?;
        if self.is_root(access_key) {
            return Err(IamError::NotAllowed(
                "root is configured, not added as a user",
            ));
        }
        let secret = self.sealer.seal(SealKind::User, access_key, secret_key)?;
        self.change(|s| {
            if s.service_accounts.contains_key(access_key) || s.temporary.contains_key(access_key) {
                return Err(IamError::AccessKeyTaken(access_key.to_string()));
            }
            let policies = s
                .users
                .get(access_key)
                .map(|u| u.policies.clone())
                .unwrap_or_default();
            let user = User {
                access_key: access_key.to_string(),
                secret,
                status,
                policies,
                updated_at: now,
            };
            Ok((vec![Step::PutUser(user)], ()))
        })
    }

    /// Removes the user with its service accounts, temporary credentials and group
    /// memberships, in that order (see the module's documentation).
    pub fn remove_user(&self, access_key: &str, now: u64) -> Result<(), IamError> {
        if self.is_root(access_key) {
            return Err(IamError::NotAllowed("root cannot be removed"));
        }
        self.change(|s| {
            s.user(access_key)?;
            let mut steps: Vec<Step> = s
                .service_accounts
                .values()
                .filter(|sa| sa.parent == access_key)
                .map(|sa| Step::DeleteServiceAccount(sa.access_key.clone()))
                .collect();
            steps.extend(
                s.temporary
                    .values()
                    .filter(|t| t.federated.is_none() && t.parent == access_key)
                    .map(|t| Step::DeleteTemporary(t.access_key.clone())),
            );
            steps.extend(s.groups_of(access_key).map(|g| {
                let mut g = g.clone();
                g.members.remove(access_key);
                g.updated_at = now;
                Step::PutGroup(g)
            }));
            steps.push(Step::DeleteUser(access_key.to_string()));
            Ok((steps, ()))
        })
    }

    /// Enables or disables the user (and with it its service accounts and temporary
    /// credentials).
    pub fn set_user_status(
        &self,
        access_key: &str,
        status: Status,
        now: u64,
    ) -> Result<(), IamError> {
        if self.is_root(access_key) {
            return Err(IamError::NotAllowed("root cannot be disabled"));
        }
        self.change(|s| {
            let mut user = s.user(access_key)?.clone();
            user.status = status;
            user.updated_at = now;
            Ok((vec![Step::PutUser(user)], ()))
        })
    }

    pub fn user_info(&self, access_key: &str) -> Result<UserInfo, IamError> {
        let s = self.read();
        Ok(user_info(&s, s.user(access_key)?))
    }

    /// Every user, by access key.
    pub fn list_users(&self) -> Vec<UserInfo> {
        let s = self.read();
        s.users.values().map(|u| user_info(&s, u)).collect()
    }
}

fn user_info(s: &State, u: &User) -> UserInfo {
    UserInfo {
        access_key: u.access_key.clone(),
        status: u.status,
        policies: u.policies.iter().cloned().collect(),
        member_of: s.groups_of(&u.access_key).map(|g| g.name.clone()).collect(),
        updated_at: u.updated_at,
    }
}

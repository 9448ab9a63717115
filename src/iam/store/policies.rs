//! Named policies and their attachment: `mc admin policy create | remove | info | list |
//! attach | detach | entities`.

use super::error::IamError;
use super::info::{PolicyEntities, PolicyInfo, PolicyOrigin};
use super::model::{check_policy_name, PolicyDoc};
use super::{Iam, State, Step};
use crate::document::Policy;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What policies are attached to or detached from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyTarget<'a> {
    User(&'a str),
    Group(&'a str),
}

impl Iam {
    /// Adds the identity policy `json` as `name`, or replaces the policy of that name (a
    /// canned one included). The document must have a `Version` (MinIO refuses one without).
    pub fn add_policy(&self, name: &str, json: &str, now: u64) -> Result<(), IamError> {
        check_policy_name(name)?;
        let policy = Policy::parse_identity(json)?;
        if policy.version().is_none() {
            return Err(IamError::PolicyVersionMissing);
        }
        self.change(|s| {
            let created_at = s.policies.get(name).map_or(now, |d| d.created_at);
            let doc = PolicyDoc {
                name: name.to_string(),
                policy: Arc::new(policy),
                created_at,
                updated_at: now,
            };
            Ok((vec![Step::PutPolicy(doc)], ()))
        })
    }

    /// Removes the policy `name`. A canned policy cannot be removed; removing the
    /// replacement of one brings the built-in back. A policy attached to a user or a group
    /// cannot be removed ([`IamError::PolicyInUse`]).
    pub fn remove_policy(&self, name: &str) -> Result<(), IamError> {
        self.change(|s| {
            let canned = self.canned.contains_key(name);
            if !s.policies.contains_key(name) {
                return Err(match canned {
                    true => IamError::NotAllowed("a canned policy cannot be removed"),
                    false => IamError::NoSuchPolicy(name.to_string()),
                });
            }
            if !canned {
                let users = attached_users(s, name);
                let groups = attached_groups(s, name);
                if !users.is_empty() || !groups.is_empty() {
                    return Err(IamError::PolicyInUse {
                        policy: name.to_string(),
                        users,
                        groups,
                    });
                }
            }
            Ok((vec![Step::DeletePolicy(name.to_string())], ()))
        })
    }

    pub fn policy_info(&self, name: &str) -> Result<PolicyInfo, IamError> {
        let s = self.read();
        self.info_of(&s, name)
            .ok_or_else(|| IamError::NoSuchPolicy(name.to_string()))
    }

    /// Every policy, canned and user-defined, by name.
    pub fn list_policies(&self) -> Vec<PolicyInfo> {
        let s = self.read();
        let names: BTreeSet<&str> = s
            .policies
            .keys()
            .map(String::as_str)
            .chain(self.canned.keys().copied())
            .collect();
        names
            .into_iter()
            .filter_map(|n| self.info_of(&s, n))
            .collect()
    }

    fn info_of(&self, s: &State, name: &str) -> Option<PolicyInfo> {
        let canned = self.canned.contains_key(name);
        if let Some(doc) = s.policies.get(name) {
            return Some(PolicyInfo {
                name: name.to_string(),
                policy: doc.policy.clone(),
                origin: match canned {
                    true => PolicyOrigin::ReplacedCanned,
                    false => PolicyOrigin::UserDefined,
                },
                created_at: Some(doc.created_at),
                updated_at: Some(doc.updated_at),
            });
        }
        Some(PolicyInfo {
            name: name.to_string(),
            policy: self.canned.get(name)?.clone(),
            origin: PolicyOrigin::Canned,
            created_at: None,
            updated_at: None,
        })
    }

    /// Attaches `policies` to a user or group; returns those newly attached. Attaching only
    /// policies already attached is [`IamError::NoNetChange`]; a group must be enabled.
    pub fn attach_policies(
        &self,
        target: PolicyTarget<'_>,
        policies: &[&str],
        now: u64,
    ) -> Result<Vec<String>, IamError> {
        self.update_attachments(target, policies, true, now)
    }

    /// Detaches `policies` from a user or group; returns those detached. Detaching only
    /// policies not attached is [`IamError::NoNetChange`]; a group must be enabled.
    pub fn detach_policies(
        &self,
        target: PolicyTarget<'_>,
        policies: &[&str],
        now: u64,
    ) -> Result<Vec<String>, IamError> {
        self.update_attachments(target, policies, false, now)
    }

    fn update_attachments(
        &self,
        target: PolicyTarget<'_>,
        policies: &[&str],
        attach: bool,
        now: u64,
    ) -> Result<Vec<String>, IamError> {
        if let PolicyTarget::User(name) = target {
            if self.is_root(name) {
                return Err(IamError::NotAllowed(
                    "root has every permission, no policies",
                ));
            }
        }
        self.change(|s| {
            let attached = match target {
                PolicyTarget::User(name) => &s.user(name)?.policies,
                PolicyTarget::Group(name) => {
                    let g = s.group(name)?;
                    if !g.status.is_enabled() {
                        return Err(IamError::GroupDisabled(name.to_string()));
                    }
                    &g.policies
                }
            };
            let changed: BTreeSet<String> = policies
                .iter()
                .filter(|p| attached.contains(**p) != attach)
                .map(|p| p.to_string())
                .collect();
            if attach {
                if let Some(missing) = changed.iter().find(|p| !self.has_policy(s, p)) {
                    return Err(IamError::NoSuchPolicy(missing.clone()));
                }
            }
            if changed.is_empty() {
                return Err(IamError::NoNetChange);
            }
            let update = |set: &mut BTreeSet<String>| match attach {
                true => set.extend(changed.iter().cloned()),
                false => set.retain(|p| !changed.contains(p)),
            };
            let step = match target {
                PolicyTarget::User(name) => {
                    let mut u = s.user(name)?.clone();
                    update(&mut u.policies);
                    u.updated_at = now;
                    Step::PutUser(u)
                }
                PolicyTarget::Group(name) => {
                    let mut g = s.group(name)?.clone();
                    update(&mut g.policies);
                    g.updated_at = now;
                    Step::PutGroup(g)
                }
            };
            Ok((vec![step], changed.into_iter().collect()))
        })
    }

    /// For each policy attached to something (only those of `policies`, when it names any),
    /// the users and groups it is attached to; by policy name.
    pub fn policy_entities(&self, policies: &[&str]) -> Vec<PolicyEntities> {
        let s = self.read();
        let wanted = |p: &String| policies.is_empty() || policies.contains(&p.as_str());
        let mut out: BTreeMap<String, PolicyEntities> = BTreeMap::new();
        for u in s.users.values() {
            for p in u.policies.iter().filter(|p| wanted(p)) {
                out.entry(p.clone())
                    .or_insert_with(|| entities(p))
                    .users
                    .push(u.access_key.clone());
            }
        }
        for g in s.groups.values() {
            for p in g.policies.iter().filter(|p| wanted(p)) {
                out.entry(p.clone())
                    .or_insert_with(|| entities(p))
                    .groups
                    .push(g.name.clone());
            }
        }
        out.into_values().collect()
    }
}

fn entities(policy: &str) -> PolicyEntities {
    PolicyEntities {
        policy: policy.to_string(),
        ..Default::default()
    }
}

fn attached_users(s: &State, policy: &str) -> Vec<String> {
    s.users
        .values()
        .filter(|u| u.policies.contains(policy))
        .map(|u| u.access_key.clone())
        .collect()
}

fn attached_groups(s: &State, policy: &str) -> Vec<String> {
    s.groups
        .values()
        .filter(|g| g.policies.contains(policy))
        .map(|g| g.name.clone())
        .collect()
}

//! Groups: `mc admin group add | remove | enable | disable | info | list`.

use super::error::IamError;
use super::info::GroupInfo;
use super::model::{check_group_name, Group, Status};
use super::{Iam, State, Step};

impl Iam {
    /// Adds `members` to `group` (creating it, enabled, when it does not exist), or removes
    /// them. Every member must be a user. Removing with no member named removes the group
    /// itself, only when it has no members ([`IamError::GroupNotEmpty`] otherwise), with the
    /// policies attached to it; a group whose last members are removed stays, empty.
    pub fn update_group_members(
        &self,
        group: &str,
        members: &[&str],
        remove: bool,
        now: u64,
    ) -> Result<(), IamError> {
        check_group_name(group)?;
        self.change(|s| {
            for m in members {
                s.user(m)?;
            }
            let step = if remove {
                remove_members(s, group, members, now)?
            } else {
                let mut g = s.groups.get(group).cloned().unwrap_or_else(|| Group {
                    name: group.to_string(),
                    status: Status::Enabled,
                    members: Default::default(),
                    policies: Default::default(),
                    updated_at: now,
                });
                g.members.extend(members.iter().map(|m| m.to_string()));
                g.updated_at = now;
                Step::PutGroup(g)
            };
            Ok((vec![step], ()))
        })
    }

    /// Enables or disables the group: a disabled group gives its members none of its
    /// policies.
    pub fn set_group_status(&self, group: &str, status: Status, now: u64) -> Result<(), IamError> {
        self.change(|s| {
            let mut g = s.group(group)?.clone();
            g.status = status;
            g.updated_at = now;
            Ok((vec![Step::PutGroup(g)], ()))
        })
    }

    pub fn group_info(&self, group: &str) -> Result<GroupInfo, IamError> {
        let s = self.read();
        let g = s.group(group)?;
        Ok(GroupInfo {
            name: g.name.clone(),
            status: g.status,
            members: g.members.iter().cloned().collect(),
            policies: g.policies.iter().cloned().collect(),
            updated_at: g.updated_at,
        })
    }

    /// Every group's name.
    pub fn list_groups(&self) -> Vec<String> {
        self.read().groups.keys().cloned().collect()
    }
}

fn remove_members(s: &State, group: &str, members: &[&str], now: u64) -> Result<Step, IamError> {
    let mut g = s.group(group)?.clone();
    if members.is_empty() {
        if !g.members.is_empty() {
            return Err(IamError::GroupNotEmpty(group.to_string()));
        }
        return Ok(Step::DeleteGroup(group.to_string()));
    }
    for m in members {
        g.members.remove(*m);
    }
    g.updated_at = now;
    Ok(Step::PutGroup(g))
}

//! Users, groups, canned policies and policy associations (madmin-go's `user-commands.go`,
//! `group-commands.go`, `policy-commands.go`, `idp-commands.go`).

use super::{empty_as_none, nullable, RequestError, Timestamp};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// A user's status (`enabled` / `disabled`), as `add-user`, `set-user-status` and `user-info`
/// carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Enabled,
    Disabled,
}

impl AccountStatus {
    /// The query value of `set-user-status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }

    /// Parses the query value of `set-user-status`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(Self::Enabled),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A group's status; the same two words as [`AccountStatus`].
pub type GroupStatus = AccountStatus;

/// Body of `PUT add-user?accessKey=…` (encrypted): creates a user or changes its secret key or
/// status. minio-py sends `{"status": "enabled", "secretKey": …}`; madmin-go writes `status`
/// even when empty (as for a password change), read here as `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddOrUpdateUserReq {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// A comma-separated list of policies to attach (madmin only; minio-py sends none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<AccountStatus>,
}

/// How a user authenticates (`userAuthInfo` of [`UserInfo`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAuthInfo {
    /// `builtin` or `ldap`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_server: String,
    #[serde(
        rename = "authServerUserID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub auth_server_user_id: String,
}

/// Response of `GET user-info?accessKey=…` (plain) and each value of `list-users`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(
        rename = "userAuthInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_info: Option<UserAuthInfo>,
    /// Never sent by MinIO's `user-info`; kept for symmetry with madmin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// The user's policies, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    pub status: AccountStatus,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub member_of: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

/// Response of `GET list-users` (encrypted): access key → user.
pub type ListUsersResp = BTreeMap<String, UserInfo>;

/// Body of `PUT update-group-members` (plain): adds members to a group (creating it) or
/// removes them (removing the group when `isRemove` and no members). madmin-go always writes
/// `members` (maybe `null`) and `groupStatus` (maybe `""`); minio-py sends `members` as a
/// single string, taken here as one member.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupAddRemove {
    pub group: String,
    #[serde(default, deserialize_with = "one_or_many")]
    pub members: Vec<String>,
    #[serde(
        rename = "groupStatus",
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<GroupStatus>,
    #[serde(default)]
    pub is_remove: bool,
}

/// Response of `GET group?group=…` (plain).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupDesc {
    pub name: String,
    /// `enabled` or `disabled`.
    pub status: String,
    #[serde(default, deserialize_with = "nullable")]
    pub members: Vec<String>,
    /// The group's policies, comma-separated.
    #[serde(default)]
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

/// Response of `GET groups` (plain): the group names.
pub type ListGroupsResp = Vec<String>;

/// Response of `GET list-canned-policies` (plain): policy name → policy document.
pub type ListCannedPoliciesResp = BTreeMap<String, serde_json::Value>;

/// Response of `GET info-canned-policy?name=…&v=2` (plain); without `v=2` the response is the
/// bare policy document. Go's field names, no tags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyInfo {
    pub policy_name: String,
    pub policy: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_date: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_date: Option<Timestamp>,
}

/// Body of `POST idp/builtin/policy/attach` and `…/detach` (encrypted): policies to attach
/// to or detach from one user or one group. minio-py sends `{"policies": […], "user": …}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssociationReq {
    pub policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// LDAP only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_name: Option<String>,
}

impl PolicyAssociationReq {
    /// madmin's `IsValid`: some policies, none empty, exactly one of user and group.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.policies.is_empty() {
            return Err(RequestError::NoPolicies);
        }
        if self.policies.iter().any(String::is_empty) {
            return Err(RequestError::EmptyPolicyName);
        }
        let user = self.user.as_deref().is_some_and(|u| !u.is_empty());
        let group = self.group.as_deref().is_some_and(|g| !g.is_empty());
        if user == group {
            return Err(RequestError::UserOrGroup);
        }
        Ok(())
    }
}

/// Response of attach / detach (encrypted): what changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAssociationResp {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub policies_attached: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub policies_detached: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

/// Response of `GET idp/builtin/policy-entities?user=…&group=…&policy=…` (encrypted).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEntitiesResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub user_mappings: Vec<UserPolicyEntities>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub group_mappings: Vec<GroupPolicyEntities>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub policy_mappings: Vec<PolicyEntities>,
}

/// A user and its policies (and those it gets through its groups).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPolicyEntities {
    pub user: String,
    #[serde(default, deserialize_with = "nullable")]
    pub policies: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub member_of_mappings: Vec<GroupPolicyEntities>,
}

/// A group and its policies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPolicyEntities {
    pub group: String,
    #[serde(default, deserialize_with = "nullable")]
    pub policies: Vec<String>,
}

/// A policy and the users and groups it is attached to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEntities {
    pub policy: String,
    #[serde(default, deserialize_with = "nullable")]
    pub users: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<String>,
}

/// `members` as madmin writes it (a list or `null`) or as minio-py's `group_add` does (a
/// string: one member).
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::One(member)) => vec![member],
        Some(OneOrMany::Many(members)) => members,
    })
}

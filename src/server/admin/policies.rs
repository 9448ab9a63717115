//! Canned policies and their attachments: add-canned-policy, remove-canned-policy,
//! info-canned-policy, list-canned-policies, idp/builtin/policy/attach|detach,
//! idp/builtin/policy-entities.

use super::{iam_error, AdminError, Call, Reply};
use std::collections::BTreeMap;
use strata_admin::types::{
    GroupPolicyEntities, PolicyAssociationReq, PolicyAssociationResp, PolicyEntities,
    PolicyEntitiesResult, PolicyInfo, UserPolicyEntities,
};
use strata_iam::date::rfc3339;
use strata_iam::store::PolicyTarget;

const ATTACH: &str = "idp/builtin/policy/attach";

pub(super) fn handle(call: &Call<'_>, path: &str) -> Result<Reply, AdminError> {
    let iam = call.iam;
    match path {
        "add-canned-policy" => {
            let json = std::str::from_utf8(call.body)
                .map_err(|_| AdminError::bad("the policy is not UTF-8"))?;
            iam.add_policy(call.arg("name"), json, call.now)
                .map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "remove-canned-policy" => {
            iam.remove_policy(call.arg("name")).map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "info-canned-policy" => {
            let p = iam.policy_info(call.arg("name")).map_err(iam_error)?;
            let doc = as_json(&p.policy);
            if call.arg("v") == "2" {
                return Reply::json(&PolicyInfo {
                    policy_name: p.name,
                    policy: doc,
                    create_date: p.created_at.map(rfc3339),
                    update_date: p.updated_at.map(rfc3339),
                });
            }
            Reply::json(&doc)
        }
        "list-canned-policies" => {
            let all: BTreeMap<String, serde_json::Value> = iam
                .list_policies()
                .into_iter()
                .map(|p| (p.name, as_json(&p.policy)))
                .collect();
            Reply::json(&all)
        }
        "idp/builtin/policy/attach" | "idp/builtin/policy/detach" => attach_detach(call, path),
        "idp/builtin/policy-entities" => entities(call),
        _ => Err(super::not_implemented(path)),
    }
}

fn as_json(p: &strata_iam::Policy) -> serde_json::Value {
    serde_json::from_str(&p.to_json()).unwrap_or(serde_json::Value::Null)
}

fn attach_detach(call: &Call<'_>, path: &str) -> Result<Reply, AdminError> {
    let r: PolicyAssociationReq = call.parse()?;
    r.validate().map_err(|e| AdminError::bad(e.to_string()))?;
    let target = match (r.user.as_deref(), r.group.as_deref()) {
        (Some(u), _) if !u.is_empty() => PolicyTarget::User(u),
        (_, Some(g)) if !g.is_empty() => PolicyTarget::Group(g),
        _ => return Err(AdminError::bad("a user or a group is required")),
    };
    let names: Vec<&str> = r.policies.iter().map(String::as_str).collect();
    let attach = path == ATTACH;
    let changed = if attach {
        call.iam.attach_policies(target, &names, call.now)
    } else {
        call.iam.detach_policies(target, &names, call.now)
    }
    .map_err(iam_error)?;
    let mut resp = PolicyAssociationResp {
        updated_at: Some(rfc3339(call.now)),
        ..Default::default()
    };
    if attach {
        resp.policies_attached = changed;
    } else {
        resp.policies_detached = changed;
    }
    Reply::json(&resp)
}

/// Which users and groups have which policies (only those asked for, when any are named).
fn entities(call: &Call<'_>) -> Result<Reply, AdminError> {
    let (users, groups, policies) = (call.args("user"), call.args("group"), call.args("policy"));
    let mut out = PolicyEntitiesResult {
        timestamp: Some(rfc3339(call.now)),
        ..Default::default()
    };
    for u in &users {
        let info = call.iam.user_info(u).map_err(iam_error)?;
        out.user_mappings.push(UserPolicyEntities {
            user: info.access_key,
            policies: info.policies,
            member_of_mappings: info
                .member_of
                .iter()
                .filter_map(|g| call.iam.group_info(g).ok())
                .map(|g| GroupPolicyEntities {
                    group: g.name,
                    policies: g.policies,
                })
                .collect(),
        });
    }
    for g in &groups {
        let info = call.iam.group_info(g).map_err(iam_error)?;
        out.group_mappings.push(GroupPolicyEntities {
            group: info.name,
            policies: info.policies,
        });
    }
    if !policies.is_empty() || (users.is_empty() && groups.is_empty()) {
        out.policy_mappings = call
            .iam
            .policy_entities(&policies)
            .into_iter()
            .map(|e| PolicyEntities {
                policy: e.policy,
                users: e.users,
                groups: e.groups,
            })
            .collect();
    }
    Reply::json(&out)
}

//! Users and groups: add-user, remove-user, set-user-status, user-info, list-users,
//! update-group-members, group, groups, set-group-status.

use super::{iam_error, AdminError, Call, Reply};
use strata_admin::types::{AccountStatus, AddOrUpdateUserReq, GroupAddRemove, GroupDesc, UserInfo};
use strata_iam::date::rfc3339;
use strata_iam::Status;

pub(super) fn handle(call: &Call<'_>, path: &str) -> Result<Reply, AdminError> {
    let iam = call.iam;
    match path {
        "add-user" => {
            let r: AddOrUpdateUserReq = call.parse()?;
            let secret = r
                .secret_key
                .ok_or_else(|| AdminError::bad("secretKey is required"))?;
            let status = r.status.map_or(Status::Enabled, status_of);
            iam.add_user(call.arg("accessKey"), &secret, status, call.now)
                .map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "remove-user" => {
            iam.remove_user(call.arg("accessKey"), call.now)
                .map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "set-user-status" => {
            let status = parse_status(call.arg("status"))?;
            iam.set_user_status(call.arg("accessKey"), status, call.now)
                .map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "user-info" => Reply::json(&user_info(
            iam.user_info(call.arg("accessKey")).map_err(iam_error)?,
        )),
        "list-users" => {
            let all: std::collections::BTreeMap<String, UserInfo> = iam
                .list_users()
                .into_iter()
                .map(|u| (u.access_key.clone(), user_info(u)))
                .collect();
            Reply::json(&all)
        }
        "update-group-members" => {
            let r: GroupAddRemove = call.parse()?;
            let members: Vec<&str> = r.members.iter().map(String::as_str).collect();
            iam.update_group_members(&r.group, &members, r.is_remove, call.now)
                .map_err(iam_error)?;
            if let (Some(status), false) = (r.status, r.is_remove) {
                iam.set_group_status(&r.group, status_of(status), call.now)
                    .map_err(iam_error)?;
            }
            Ok(Reply::empty())
        }
        "group" => {
            let g = iam.group_info(call.arg("group")).map_err(iam_error)?;
            Reply::json(&GroupDesc {
                name: g.name,
                status: status_name(g.status).to_string(),
                members: g.members,
                policy: g.policies.join(","),
                updated_at: Some(rfc3339(g.updated_at)),
            })
        }
        "groups" => Reply::json(&iam.list_groups()),
        "set-group-status" => {
            let status = parse_status(call.arg("status"))?;
            iam.set_group_status(call.arg("group"), status, call.now)
                .map_err(iam_error)?;
            Ok(Reply::empty())
        }
        _ => Err(super::not_implemented(path)),
    }
}

fn parse_status(s: &str) -> Result<Status, AdminError> {
    match s {
        "enabled" => Ok(Status::Enabled),
        "disabled" => Ok(Status::Disabled),
        other => Err(AdminError::bad(format!("unknown status {other:?}"))),
    }
}

pub(super) fn status_name(s: Status) -> &'static str {
    match s {
        Status::Enabled => "enabled",
        Status::Disabled => "disabled",
    }
}

fn status_of(s: AccountStatus) -> Status {
    match s {
        AccountStatus::Enabled => Status::Enabled,
        AccountStatus::Disabled => Status::Disabled,
    }
}

fn user_info(u: strata_iam::store::UserInfo) -> UserInfo {
    UserInfo {
        auth_info: None,
        secret_key: None,
        policy_name: (!u.policies.is_empty()).then(|| u.policies.join(",")),
        status: match u.status {
            Status::Enabled => AccountStatus::Enabled,
            Status::Disabled => AccountStatus::Disabled,
        },
        member_of: u.member_of,
        updated_at: Some(rfc3339(u.updated_at)),
    }
}

//! Service accounts — the access keys applications should use: add-service-account,
//! update-service-account, info-service-account, list-service-accounts,
//! delete-service-account.
//!
//! Who may: anyone allowed the endpoint's admin action on any account; without it, the
//! caller on its own service accounts (those whose parent is the user it acts as), as MinIO.

use super::users::status_name;
use super::{iam_error, AdminError, Call, Reply};
use strata_admin::types::{
    AddServiceAccountReq, AddServiceAccountResp, Credentials, InfoServiceAccountResp,
    ListServiceAccountsResp, ServiceAccountInfo, UpdateServiceAccountReq,
};
use strata_admin::Authorization;
use strata_iam::date::{parse as parse_date, rfc3339};
use strata_iam::store::{NewServiceAccount, PolicyUpdate, ServiceAccountUpdate};
use strata_iam::{Context, Decision, IdentityKind, Policy, Secret, Status};

pub(super) fn handle(call: &Call<'_>, path: &str) -> Result<Reply, AdminError> {
    match path {
        "add-service-account" => add(call),
        "update-service-account" => {
            let ak = call.arg("accessKey");
            authorize(call, &parent_of(call, ak)?)?;
            update(call, ak)
        }
        "info-service-account" => {
            let ak = call.arg("accessKey");
            authorize(call, &parent_of(call, ak)?)?;
            let sa = call.iam.service_account_info(ak).map_err(iam_error)?;
            let parent_status = call.iam.user_info(&sa.parent).ok().map(|u| u.status);
            Reply::json(&InfoServiceAccountResp {
                parent_user: sa.parent,
                parent_user_status: parent_status.map(|s| status_name(s).to_string()),
                account_status: on_off(sa.status).to_string(),
                implied_policy: sa.policy.is_none(),
                policy: sa.policy.map(|p| p.to_json()).unwrap_or_default(),
                name: sa.name,
                description: sa.description,
                expiration: sa.expiry.map(rfc3339),
            })
        }
        "list-service-accounts" => {
            let user = match call.arg("user") {
                "" => call.caller.username().to_string(),
                u => u.to_string(),
            };
            authorize(call, &user)?;
            let accounts = call
                .iam
                .list_service_accounts(&user)
                .into_iter()
                .map(|sa| ServiceAccountInfo {
                    parent_user: sa.parent,
                    account_status: on_off(sa.status).to_string(),
                    implied_policy: sa.policy.is_none(),
                    access_key: sa.access_key,
                    name: sa.name,
                    description: sa.description,
                    expiration: sa.expiry.map(rfc3339),
                })
                .collect();
            Reply::json(&ListServiceAccountsResp { accounts })
        }
        "delete-service-account" => {
            let ak = call.arg("accessKey");
            authorize(call, &parent_of(call, ak)?)?;
            call.iam.delete_service_account(ak).map_err(iam_error)?;
            Ok(Reply::empty())
        }
        _ => Err(super::not_implemented(path)),
    }
}

/// MinIO writes a service account's status as `on`/`off`.
fn on_off(s: Status) -> &'static str {
    match s {
        Status::Enabled => "on",
        Status::Disabled => "off",
    }
}

fn parent_of(call: &Call<'_>, access_key: &str) -> Result<String, AdminError> {
    Ok(call
        .iam
        .service_account_info(access_key)
        .map_err(iam_error)?
        .parent)
}

/// The caller may act on a service account of `parent`: with the endpoint's action on
/// anyone's; on its own (its user's) always for `OwnOr`, unless the action is explicitly
/// denied for `SelfUnlessDenied` (creating one), as MinIO — but temporary credentials have no
/// own ones (`is_own`).
fn authorize(call: &Call<'_>, parent: &str) -> Result<(), AdminError> {
    let own = super::is_own(call.caller, parent);
    let (action, own_unless_denied) = match call.endpoint.action {
        Authorization::OwnOr(a) => (a, false),
        Authorization::SelfUnlessDenied(a) => (a, true),
        _ => return Err(AdminError::denied()),
    };
    let decision = call.caller.decide(action, None, &Context::new(), None);
    let allowed = decision == Decision::Allow
        || (own && !(own_unless_denied && decision == Decision::ExplicitDeny));
    if allowed {
        Ok(())
    } else {
        Err(AdminError::denied())
    }
}

/// An inline policy as the admin API carries it (a JSON document, or nothing).
fn inline_policy(v: Option<&serde_json::Value>) -> Result<Option<Policy>, AdminError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Object(m)) if m.is_empty() => Ok(None),
        Some(doc) => Policy::parse_identity(&doc.to_string())
            .map(Some)
            .map_err(|e| {
                AdminError::new(
                    http::StatusCode::BAD_REQUEST,
                    "XMinioMalformedIAMPolicy",
                    e.to_string(),
                )
            }),
    }
}

/// Unix seconds of an RFC 3339 expiration.
fn expiry(t: Option<&str>) -> Result<Option<u64>, AdminError> {
    match t {
        None | Some("") => Ok(None),
        // Go's zero time: no expiry.
        Some(t) if t.starts_with("0001-01-01") => Ok(None),
        Some(t) => parse_date(t)
            .filter(|ms| *ms >= 0)
            .map(|ms| Some(ms as u64 / 1000))
            .ok_or_else(|| AdminError::bad(format!("expiration {t:?} is not a date"))),
    }
}

/// The policy of a service account made by credentials narrowed by their own policy (a
/// session's, a service account's): that policy, so the new key can do no more than its maker.
/// Both cannot be kept in one document: asking for another one is refused.
fn narrowed(call: &Call<'_>, asked: Option<Policy>) -> Result<Option<Policy>, AdminError> {
    match (call.caller.session_policy(), asked) {
        (None, asked) => Ok(asked),
        (Some(own), None) => Ok(Some(own.clone())),
        (Some(_), Some(_)) => Err(AdminError::new(
            http::StatusCode::FORBIDDEN,
            "AccessDenied",
            "credentials narrowed by their own policy make service accounts with that policy; \
             give none",
        )),
    }
}

/// A service account made by credentials that end (temporary ones, a service account with an
/// expiry) ends when they do, at the latest.
fn bounded(call: &Call<'_>, asked: Option<u64>) -> Option<u64> {
    let until = match call.caller.kind() {
        IdentityKind::Temporary { expiry, .. } => Some(*expiry),
        IdentityKind::ServiceAccount { expiry, .. } => *expiry,
        IdentityKind::Root | IdentityKind::User => None,
    };
    match (asked, until) {
        (asked, None) => asked,
        (None, Some(u)) => Some(u),
        (Some(a), Some(u)) => Some(a.min(u)),
    }
}

fn add(call: &Call<'_>) -> Result<Reply, AdminError> {
    let r: AddServiceAccountReq = call.parse()?;
    r.validate().map_err(|e| AdminError::bad(e.to_string()))?;
    let parent = match r.target_user.as_deref() {
        None | Some("") => call.caller.username().to_string(),
        Some(u) => u.to_string(),
    };
    authorize(call, &parent)?;
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let creds = call
        .iam
        .add_service_account(
            NewServiceAccount {
                parent,
                requested_by: call.caller.username().to_string(),
                access_key: non_empty(r.access_key),
                secret_key: non_empty(r.secret_key).map(Secret::new),
                policy: narrowed(call, inline_policy(r.policy.as_ref())?)?,
                name: non_empty(r.name),
                description: non_empty(r.description),
                expiry: bounded(call, expiry(r.expiration.as_deref())?),
            },
            call.now,
        )
        .map_err(iam_error)?;
    Reply::json(&AddServiceAccountResp {
        credentials: Credentials {
            access_key: creds.access_key,
            secret_key: creds.secret_key.expose().to_string(),
            session_token: None,
            expiration: creds.expiry.map(rfc3339),
        },
    })
}

fn update(call: &Call<'_>, access_key: &str) -> Result<Reply, AdminError> {
    let r: UpdateServiceAccountReq = call.parse()?;
    r.validate().map_err(|e| AdminError::bad(e.to_string()))?;
    let status = match r.new_status.as_deref() {
        None | Some("") => None,
        Some("on" | "enabled") => Some(Status::Enabled),
        Some("off" | "disabled") => Some(Status::Disabled),
        Some(other) => return Err(AdminError::bad(format!("unknown status {other:?}"))),
    };
    let policy = match &r.new_policy {
        None | Some(serde_json::Value::Null) => PolicyUpdate::Keep,
        Some(serde_json::Value::Object(m)) if m.is_empty() => PolicyUpdate::Remove,
        Some(doc) => match inline_policy(Some(doc))? {
            Some(p) => PolicyUpdate::Set(p),
            None => PolicyUpdate::Remove,
        },
    };
    // What `add` imposes on narrowed or ending credentials, an update may not undo.
    if call.caller.session_policy().is_some() && !matches!(policy, PolicyUpdate::Keep) {
        return Err(AdminError::new(
            http::StatusCode::FORBIDDEN,
            "AccessDenied",
            "credentials narrowed by their own policy cannot change a service account's policy",
        ));
    }
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
    call.iam
        .update_service_account(
            access_key,
            ServiceAccountUpdate {
                secret_key: non_empty(r.new_secret_key).map(Secret::new),
                status,
                policy,
                name: non_empty(r.new_name),
                description: non_empty(r.new_description),
                expiry: expiry(r.new_expiration.as_deref())?.and_then(|e| bounded(call, Some(e))),
            },
            call.now,
        )
        .map_err(iam_error)?;
    Ok(Reply::empty())
}

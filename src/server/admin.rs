//! MinIO's admin API (`/minio/admin/v3/…`), as `mc admin` and minio-py's `MinioAdmin` speak
//! it: routed through the S3 service so that the signature is checked as for any S3 request,
//! then authorised by the endpoint's admin action (`admin:CreateUser`, …) against the caller's
//! policies — not by being root. Bodies madmin encrypts are decrypted and encrypted with the
//! caller's secret key (`strata_admin::crypto`); the body's SHA-256, when the signature covers
//! one, is checked before it is read as anything.
//!
//! Served so far: users (add, remove, info, list, status) and canned policies (add, remove,
//! info, list, attach, detach). The other endpoints of `strata_admin::ENDPOINTS` answer
//! NotImplemented; paths of a later API version answer 426, so newer clients fall back to v3.

use crate::body::BodyError;
use crate::iam::now;
use http::{HeaderValue, StatusCode};
use s3s::{Body, S3Request, S3Response};
use std::collections::BTreeMap;
use std::sync::Arc;
use strata_admin::crypto::{self, Cipher};
use strata_admin::types::{AccountStatus, AddOrUpdateUserReq, PolicyAssociationReq, UserInfo};
use strata_admin::{Authorization, Endpoint, Method};
use strata_iam::{Decision, Iam, IamError, Identity, Status};

/// Largest admin request body (policies and user documents are kilobytes).
const MAX_BODY: usize = 1 << 20;

/// What an admin call answers: a status and a JSON body (encrypted by the caller when the
/// endpoint says so).
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

impl Reply {
    fn json(v: &impl serde::Serialize) -> Result<Reply, AdminError> {
        let body = serde_json::to_vec(v).map_err(|e| AdminError::internal(e.to_string()))?;
        Ok(Reply {
            status: StatusCode::OK,
            body,
        })
    }

    fn empty() -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Vec::new(),
        }
    }
}

/// An admin error: MinIO's code and message, written as its JSON error document.
#[derive(Debug)]
struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad(message: impl Into<String>) -> AdminError {
        AdminError::new(
            StatusCode::BAD_REQUEST,
            "XMinioAdminInvalidArgument",
            message,
        )
    }

    fn internal(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }

    fn denied() -> AdminError {
        AdminError::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied.")
    }
}

/// The admin error of a refused IAM change, with MinIO's codes where clients look at them.
fn iam_error(e: IamError) -> AdminError {
    use IamError as E;
    let (status, code) = match &e {
        E::NoSuchUser(_) => (StatusCode::NOT_FOUND, "XMinioAdminNoSuchUser"),
        E::NoSuchGroup(_) => (StatusCode::NOT_FOUND, "XMinioAdminNoSuchGroup"),
        E::NoSuchPolicy(_) => (StatusCode::NOT_FOUND, "XMinioAdminNoSuchPolicy"),
        E::NoSuchServiceAccount(_) => (StatusCode::NOT_FOUND, "XMinioAdminServiceAccountNotFound"),
        E::Backend(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "XMinioServerNotInitialized",
        ),
        E::Random(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        _ => (StatusCode::BAD_REQUEST, "XMinioAdminInvalidArgument"),
    };
    AdminError::new(status, code, e.to_string())
}

pub struct AdminRoute {
    iam: Arc<Iam>,
}

impl AdminRoute {
    pub fn new(iam: Arc<Iam>) -> AdminRoute {
        AdminRoute { iam }
    }

    pub(crate) async fn call(&self, req: S3Request<Body>) -> S3Response<Body> {
        let path = req.uri.path().to_string();
        match self.serve(req).await {
            Ok(r) => {
                let mut resp = S3Response::new(Body::from(r.body));
                resp.status = Some(r.status);
                resp.headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
            Err(e) => {
                tracing::debug!(%path, code = e.code, message = %e.message, "admin call refused");
                let doc = strata_admin::types::ErrorResponse {
                    code: e.code.to_string(),
                    message: e.message,
                    resource: path,
                    ..Default::default()
                };
                let mut resp =
                    S3Response::new(Body::from(serde_json::to_vec(&doc).unwrap_or_default()));
                resp.status = Some(e.status);
                resp.headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
        }
    }

    async fn serve(&self, mut req: S3Request<Body>) -> Result<Reply, AdminError> {
        let path = req.uri.path().to_string();
        if !path.starts_with(strata_admin::PATH_PREFIX) {
            // A newer API version: clients fall back to v3 on 426.
            return Err(AdminError::new(
                StatusCode::UPGRADE_REQUIRED,
                "XMinioAdminUpgradeRequired",
                "this server speaks the admin API v3",
            ));
        }
        let method = Method::parse(req.method.as_str()).ok_or_else(|| not_implemented(&path))?;
        let ep = strata_admin::route(method, &path).ok_or_else(|| not_implemented(&path))?;
        let query = strata_s3::authz::url_pairs(req.uri.query().unwrap_or(""));
        let q = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if let Some(missing) = ep.required_query.iter().find(|n| q(n).is_none()) {
            return Err(AdminError::bad(format!(
                "missing query parameter {missing}"
            )));
        }
        let access_key = req
            .credentials
            .as_ref()
            .map(|c| c.access_key.clone())
            .ok_or_else(AdminError::denied)?;
        let id = self
            .iam
            .identity(&access_key, now())
            .map_err(|_| AdminError::denied())?;
        authorize(ep, &id, q("accessKey").as_deref())?;
        let body = read_body(&mut req).await?;
        let body = if ep.encrypted_request && !body.is_empty() {
            crypto::decrypt_limited(id.secret().expose().as_bytes(), &body, MAX_BODY)
                .map_err(|e| AdminError::bad(format!("request body: {e}")))?
        } else {
            body
        };
        let iam = self.iam.clone();
        let endpoint = ep.path;
        let reply =
            tokio::task::spawn_blocking(move || handle(&iam, endpoint, &q_owned(&query), &body))
                .await
                .map_err(|e| AdminError::internal(e.to_string()))??;
        if ep.encrypted_response {
            let sealed = crypto::encrypt(
                id.secret().expose().as_bytes(),
                &reply.body,
                Cipher::Argon2idAesGcm,
            )
            .map_err(|e| AdminError::internal(e.to_string()))?;
            return Ok(Reply {
                status: reply.status,
                body: sealed,
            });
        }
        Ok(reply)
    }
}

fn q_owned(query: &[(String, String)]) -> BTreeMap<String, String> {
    query.iter().cloned().collect()
}

fn not_implemented(path: &str) -> AdminError {
    AdminError::new(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        format!("{path} is not implemented"),
    )
}

/// The caller may make the call: any one of its actions allowed, or (for calls on an
/// account) its own account unless explicitly denied.
fn authorize(ep: &Endpoint, id: &Identity, account: Option<&str>) -> Result<(), AdminError> {
    let cx = strata_iam::Context::new();
    let allowed = match ep.action {
        Authorization::Authenticated => true,
        Authorization::AnyOf(actions) => actions.iter().any(|a| id.is_allowed(a, None, &cx, None)),
        // Service accounts are not served yet: only the action itself grants.
        Authorization::OwnOr(action) => id.is_allowed(action, None, &cx, None),
        Authorization::SelfUnlessDenied(action) => {
            let own = account.is_some_and(|a| a == id.username());
            let decision = id.decide(action, None, &cx, None);
            decision == Decision::Allow || (own && decision != Decision::ExplicitDeny)
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(AdminError::denied())
    }
}

/// The whole body, bounded, checked against the SHA-256 the signature covers.
async fn read_body(req: &mut S3Request<Body>) -> Result<Vec<u8>, AdminError> {
    crate::body::read_signed(req, MAX_BODY)
        .await
        .map_err(|e| match e {
            BodyError::Read(_) => AdminError::bad(e.to_string()),
            BodyError::Sha256Mismatch => AdminError::new(
                StatusCode::BAD_REQUEST,
                "XAmzContentSHA256Mismatch",
                e.to_string(),
            ),
        })
}

fn status_of(s: AccountStatus) -> Status {
    match s {
        AccountStatus::Enabled => Status::Enabled,
        AccountStatus::Disabled => Status::Disabled,
    }
}

fn account_status(s: Status) -> AccountStatus {
    match s {
        Status::Enabled => AccountStatus::Enabled,
        Status::Disabled => AccountStatus::Disabled,
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    serde_json::from_slice(body).map_err(|e| AdminError::bad(format!("request body: {e}")))
}

fn user_info(u: strata_iam::store::UserInfo) -> UserInfo {
    UserInfo {
        auth_info: None,
        secret_key: None,
        policy_name: (!u.policies.is_empty()).then(|| u.policies.join(",")),
        status: account_status(u.status),
        member_of: u.member_of,
        updated_at: None,
    }
}

const ATTACH: &str = "idp/builtin/policy/attach";
const DETACH: &str = "idp/builtin/policy/detach";

/// One admin call on the store (blocking: changes are written with quorum).
fn handle(
    iam: &Iam,
    path: &str,
    q: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Reply, AdminError> {
    let arg = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let now = now();
    match path {
        "add-user" => {
            let r: AddOrUpdateUserReq = parse(body)?;
            let secret = r
                .secret_key
                .ok_or_else(|| AdminError::bad("secretKey is required"))?;
            let status = r.status.map_or(Status::Enabled, status_of);
            iam.add_user(arg("accessKey"), &secret, status, now)
                .map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "remove-user" => {
            iam.remove_user(arg("accessKey"), now).map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "set-user-status" => {
            let status = match arg("status") {
                "enabled" => Status::Enabled,
                "disabled" => Status::Disabled,
                other => return Err(AdminError::bad(format!("unknown status {other:?}"))),
            };
            iam.set_user_status(arg("accessKey"), status, now)
                .map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "user-info" => Reply::json(&user_info(
            iam.user_info(arg("accessKey")).map_err(iam_error)?,
        )),
        "list-users" => {
            let all: BTreeMap<String, UserInfo> = iam
                .list_users()
                .into_iter()
                .map(|u| (u.access_key.clone(), user_info(u)))
                .collect();
            Reply::json(&all)
        }
        "add-canned-policy" => {
            let json = std::str::from_utf8(body)
                .map_err(|_| AdminError::bad("the policy is not UTF-8"))?;
            iam.add_policy(arg("name"), json, now).map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "remove-canned-policy" => {
            iam.remove_policy(arg("name")).map_err(iam_error)?;
            Ok(Reply::empty())
        }
        "info-canned-policy" => {
            let p = iam.policy_info(arg("name")).map_err(iam_error)?;
            Ok(Reply {
                status: StatusCode::OK,
                body: p.policy.to_json().into_bytes(),
            })
        }
        "list-canned-policies" => {
            let all: BTreeMap<String, serde_json::Value> = iam
                .list_policies()
                .into_iter()
                .map(|p| {
                    let v = serde_json::from_str(&p.policy.to_json())
                        .unwrap_or(serde_json::Value::Null);
                    (p.name, v)
                })
                .collect();
            Reply::json(&all)
        }
        ATTACH | DETACH => {
            let r: PolicyAssociationReq = parse(body)?;
            r.validate().map_err(|e| AdminError::bad(e.to_string()))?;
            let target = match (&r.user, &r.group) {
                (Some(u), _) if !u.is_empty() => strata_iam::store::PolicyTarget::User(u),
                (_, Some(g)) => strata_iam::store::PolicyTarget::Group(g),
                _ => return Err(AdminError::bad("a user or a group is required")),
            };
            let names: Vec<&str> = r.policies.iter().map(String::as_str).collect();
            let changed = if path == ATTACH {
                iam.attach_policies(target, &names, now)
            } else {
                iam.detach_policies(target, &names, now)
            }
            .map_err(iam_error)?;
            let resp = serde_json::json!({
                "updatedAt": "",
                (if path == ATTACH { "policiesAttached" } else { "policiesDetached" }): changed,
            });
            Reply::json(&resp)
        }
        _ => Err(AdminError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!("admin call {path} is not implemented yet"),
        )),
    }
}

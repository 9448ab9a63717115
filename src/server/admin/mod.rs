//! MinIO's admin API (`/minio/admin/v3/…`), as `mc admin` and minio-py's `MinioAdmin` speak
//! it: routed through the S3 service so that the signature is checked as for any S3 request,
//! then authorised by the endpoint's admin action (`admin:CreateUser`, …) against the caller's
//! policies — not by being root. Bodies madmin encrypts are decrypted and encrypted with the
//! caller's secret key (`strata_admin::crypto`); the body's SHA-256, when the signature covers
//! one, is checked before it is read as anything. Temporary credentials (STS) need their
//! session token here as for S3 calls.
//!
//! Served so far: users (add, remove, info, list, status) and canned policies (add, remove,
//! info, list, attach, detach). The other endpoints of `strata_admin::ENDPOINTS` answer
//! NotImplemented; paths of a later API version answer 426, so newer clients fall back to v3.

use crate::body::{self, BodyError};
use crate::iam::now;
use crate::metrics::usage::Usage;
use http::{HeaderValue, StatusCode};
use s3s::{Body, S3Request, S3Response};
use std::collections::BTreeMap;
use std::sync::Arc;
use strata_admin::crypto::{self, Cipher};
use strata_admin::{Authorization, Endpoint, Method};
use strata_engine::Engine;
use strata_iam::{Decision, Iam, IamError, Identity, IdentityKind};
use strata_s3::access::AccessConfigs;

mod info;
mod policies;
mod quota;
mod service_accounts;
mod users;

/// Largest admin request body (policies and user documents are kilobytes).
const MAX_BODY: usize = 1 << 20;

/// What an admin call answers: a status and a JSON body (encrypted by the caller when the
/// endpoint says so).
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) body: Vec<u8>,
}

impl Reply {
    pub(super) fn json(v: &impl serde::Serialize) -> Result<Reply, AdminError> {
        let body = serde_json::to_vec(v).map_err(|e| AdminError::internal(e.to_string()))?;
        Ok(Reply {
            status: StatusCode::OK,
            body,
        })
    }

    pub(super) fn empty() -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Vec::new(),
        }
    }
}

/// An admin error: MinIO's code and message, written as its JSON error document.
#[derive(Debug)]
pub(super) struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AdminError {
    pub(super) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> AdminError {
        AdminError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(super) fn bad(message: impl Into<String>) -> AdminError {
        AdminError::new(
            StatusCode::BAD_REQUEST,
            "XMinioAdminInvalidArgument",
            message,
        )
    }

    pub(super) fn internal(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }

    pub(super) fn denied() -> AdminError {
        AdminError::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied.")
    }
}

/// The admin error of a refused IAM change, with MinIO's codes where clients look at them.
pub(super) fn iam_error(e: IamError) -> AdminError {
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

pub use info::ServerFacts;

pub struct AdminRoute {
    iam: Arc<Iam>,
    engine: Arc<Engine>,
    access: Arc<AccessConfigs>,
    usage: Arc<Usage>,
    facts: Arc<ServerFacts>,
}

impl AdminRoute {
    pub fn new(
        iam: Arc<Iam>,
        engine: Arc<Engine>,
        access: Arc<AccessConfigs>,
        usage: Arc<Usage>,
        facts: ServerFacts,
    ) -> AdminRoute {
        AdminRoute {
            iam,
            engine,
            access,
            usage,
            facts: Arc::new(facts),
        }
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
        if !crate::body::sigv4_in_header(&req.headers) {
            return Err(AdminError::new(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Admin calls are signed with AWS Signature V4 in the Authorization header",
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
        let token = strata_s3::authz::session_token(&query, &req.headers);
        if !crate::authorize::session_token_ok(&id, token) {
            return Err(AdminError::new(
                StatusCode::FORBIDDEN,
                "InvalidToken",
                "The provided token is malformed or otherwise invalid.",
            ));
        }
        authorize(ep, &id, q("accessKey").as_deref())?;
        let body = read_body(&mut req).await?;
        let body = if ep.encrypted_request && !body.is_empty() {
            crypto::decrypt_limited(id.secret().expose().as_bytes(), &body, MAX_BODY)
                .map_err(|e| AdminError::bad(format!("request body: {e}")))?
        } else {
            body
        };
        let (iam, engine, caller) = (self.iam.clone(), self.engine.clone(), id.clone());
        let (usage, facts) = (self.usage.clone(), self.facts.clone());
        let access = self.access.clone();
        let reply = tokio::task::spawn_blocking(move || {
            let call = Call {
                endpoint: ep,
                iam: &iam,
                engine: &engine,
                access: &access,
                usage: &usage,
                facts: &facts,
                caller: &caller,
                query: q_owned(&query),
                pairs: query,
                body: &body,
                now: now(),
            };
            handle(&call)
        })
        .await
        .map_err(|e| AdminError::internal(e.to_string()))??;
        // Success as the endpoint's clients check it (madmin wants 204 from some).
        let reply = Reply {
            status: StatusCode::from_u16(ep.success_status).unwrap_or(reply.status),
            body: reply.body,
        };
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
        // Whose service account it is is known once the call reads its target: checked there
        // (`service_accounts::authorize`).
        Authorization::OwnOr(_) => true,
        // Whose account a new service account is for is in the body: checked there too.
        Authorization::SelfUnlessDenied(_) if ep.path == "add-service-account" => true,
        Authorization::SelfUnlessDenied(action) => {
            let own = account.is_some_and(|a| is_own(id, a));
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

/// Whether `account` is the caller's own, for the calls a user may make on itself without an
/// admin action. Only a user's own keys: a service account or temporary credentials act for
/// their user but must not outgrow their own policy and expiry (a new secret for that user, a
/// lasting service account of it), as in MinIO; with the action allowed by their policies they
/// may.
pub(super) fn is_own(id: &Identity, account: &str) -> bool {
    account == id.username() && matches!(id.kind(), IdentityKind::User)
}

/// The whole body, bounded, checked against the SHA-256 the signature covers (SigV4 in the
/// Authorization header, as madmin and minio-py sign: a presigned or SigV2 admin call carries
/// no payload hash, and is refused).
async fn read_body(req: &mut S3Request<Body>) -> Result<Vec<u8>, AdminError> {
    body::read(req, MAX_BODY, body::Hash::Declared)
        .await
        .map_err(|e| match e {
            BodyError::Unsigned => AdminError::new(
                StatusCode::BAD_REQUEST,
                "XAmzContentSHA256Mismatch",
                "Admin calls must sign their payload: x-amz-content-sha256 is its SHA-256",
            ),
            BodyError::TooLarge(max) => AdminError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "EntityTooLarge",
                format!("Admin request bodies are at most {max} bytes"),
            ),
            BodyError::Incomplete => {
                AdminError::new(StatusCode::BAD_REQUEST, "IncompleteBody", e.to_string())
            }
            BodyError::Sha256Mismatch => AdminError::new(
                StatusCode::BAD_REQUEST,
                "XAmzContentSHA256Mismatch",
                e.to_string(),
            ),
        })
}

/// One admin call, as its family's handler sees it.
pub(super) struct Call<'a> {
    pub endpoint: &'static Endpoint,
    pub iam: &'a Iam,
    pub engine: &'a Engine,
    pub access: &'a AccessConfigs,
    pub usage: &'a Usage,
    pub facts: &'a ServerFacts,
    /// Who makes the call (authorised for the endpoint's action already, but for calls on
    /// service accounts: see `service_accounts`).
    pub caller: &'a Identity,
    pub query: BTreeMap<String, String>,
    /// Every query parameter in order (some repeat: `policy-entities`' `user`, `policy`).
    pub pairs: Vec<(String, String)>,
    pub body: &'a [u8],
    pub now: u64,
}

impl Call<'_> {
    /// A query parameter, empty when absent (required ones were checked by the router).
    pub fn arg(&self, name: &str) -> &str {
        self.query.get(name).map(String::as_str).unwrap_or("")
    }

    /// Every value of a repeated query parameter.
    pub fn args(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as JSON of type `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, AdminError> {
        serde_json::from_slice(self.body).map_err(|e| AdminError::bad(format!("request body: {e}")))
    }
}

/// One admin call on the store (blocking: changes are written with quorum), by endpoint path.
fn handle(call: &Call<'_>) -> Result<Reply, AdminError> {
    let path = call.endpoint.path;
    match path {
        "add-user"
        | "remove-user"
        | "set-user-status"
        | "user-info"
        | "list-users"
        | "update-group-members"
        | "group"
        | "groups"
        | "set-group-status" => users::handle(call, path),
        "add-canned-policy"
        | "remove-canned-policy"
        | "info-canned-policy"
        | "list-canned-policies"
        | "idp/builtin/policy/attach"
        | "idp/builtin/policy/detach"
        | "idp/builtin/policy-entities" => policies::handle(call, path),
        "add-service-account"
        | "update-service-account"
        | "info-service-account"
        | "list-service-accounts"
        | "delete-service-account" => service_accounts::handle(call, path),
        "info" | "datausageinfo" | "accountinfo" => info::handle(call, path),
        "set-bucket-quota" | "get-bucket-quota" => quota::handle(call, path),
        _ => Err(not_implemented(path)),
    }
}

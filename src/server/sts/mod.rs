//! AWS STS at the S3 endpoint, as MinIO serves it (`cmd/sts-handlers.go`): `POST /` with a
//! form body (`Action=…&Version=2011-06-15&…`; parameters may also come in the query, the
//! body's win), answered with AWS's XML documents.
//!
//! - **AssumeRole** (`assume_role.rs`): a user (or root), signing with SigV4 for the service
//!   `sts`, gets temporary credentials acting as itself, narrowed by the session `Policy`.
//!   Service accounts and temporary credentials may not (MinIO refuses them too).
//! - **AssumeRoleWithWebIdentity** (`web_identity.rs`): unsigned; a JWT from the configured
//!   OpenID issuer (a Kubernetes service account token, …), verified against the issuer's
//!   keys (`jwks.rs`, fetched with `fetch.rs`), buys credentials with the policies the token
//!   names (claim) or the provider's role policy.
//! - The other STS actions MinIO knows answer NotImplemented; unknown ones InvalidAction.
//!
//! Credentials last `DurationSeconds` (default one hour; from `--sts-min-duration`, AWS's
//! 15 minutes unless lowered, to MinIO's 365 days), web identity ones no longer than their
//! token. Errors are STS documents (`ErrorResponse/Error/{Type,Code,Message}`), also those
//! the protocol layer answers before the route (bad signature, unknown key): the HTTP front
//! reshapes them (`xml::reshape`). No secret, session token or web identity token is ever
//! logged.

mod assume_role;
mod fetch;
mod jwks;
mod key_cache;
mod web_identity;
pub(crate) mod xml;

pub use fetch::{check_url, https_origin};
pub use web_identity::{OpenIdConfig, DEFAULT_CLAIM_NAME};

use crate::body::{self, BodyError};
use crate::http::RequestId;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use s3s::{Body, S3Request, S3Response};
use std::sync::Arc;
use std::time::Duration;
use strata_iam::{Iam, IamError};
use strata_s3::gate::OperationSlot;

/// The one version of the STS API.
const API_VERSION: &str = "2011-06-15";
/// Credentials' lifetime when the request names none (AWS's and MinIO's).
const DEFAULT_DURATION: u64 = 3600;
/// AWS's shortest `DurationSeconds`, the default of `--sts-min-duration`.
pub const AWS_MIN_DURATION: Duration = Duration::from_secs(900);
/// MinIO's longest (`config.MaxExpiration`: 365 days).
const MAX_DURATION: u64 = 365 * 24 * 3600;
/// Largest form: a web identity token and a session policy with room to spare.
const MAX_BODY: usize = 64 << 10;

/// What the STS front accepts.
#[derive(Clone, Debug)]
pub struct StsConfig {
    /// Shortest `DurationSeconds` accepted: AWS's 15 minutes; lower only for tests and
    /// short-lived jobs.
    pub min_duration: Duration,
    /// The identity provider whose tokens AssumeRoleWithWebIdentity takes; none: refused.
    pub openid: Option<OpenIdConfig>,
}

impl Default for StsConfig {
    fn default() -> StsConfig {
        StsConfig {
            min_duration: AWS_MIN_DURATION,
            openid: None,
        }
    }
}

/// Whether a request is for STS, as MinIO routes it: `POST /` with a form and no query, or
/// with an `Action` in the query. No S3 operation is a POST of the root.
pub fn is_sts_request(method: &Method, uri: &Uri, headers: &HeaderMap) -> bool {
    if method != Method::POST || uri.path() != "/" {
        return false;
    }
    match uri.query().filter(|q| !q.is_empty()) {
        None => headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            }),
        Some(q) => strata_s3::authz::url_pairs(q)
            .iter()
            .any(|(k, _)| k == "Action"),
    }
}

/// An STS error: its HTTP status, code and message.
#[derive(Debug)]
pub(crate) struct StsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl StsError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> StsError {
        StsError {
            status,
            code,
            message: message.into(),
        }
    }

    fn access_denied(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    fn invalid(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::BAD_REQUEST, "InvalidParameterValue", message)
    }

    fn malformed_policy(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::BAD_REQUEST, "MalformedPolicyDocument", message)
    }

    fn missing(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::BAD_REQUEST, "MissingParameter", message)
    }

    fn internal(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", message)
    }
}

/// Stores new temporary credentials (`make` writes them to the IAM store) off the async
/// workers.
async fn issue(
    route: &StsRoute,
    make: impl FnOnce(&Iam) -> Result<strata_iam::store::Credentials, IamError> + Send + 'static,
) -> Result<strata_iam::store::Credentials, StsError> {
    let iam = route.iam.clone();
    tokio::task::spawn_blocking(move || make(&iam))
        .await
        .map_err(|e| StsError::internal(e.to_string()))?
        .map_err(iam_error)
}

/// The STS error of a refused change to the IAM state.
fn iam_error(e: IamError) -> StsError {
    match e {
        IamError::NoSuchPolicy(names) => StsError::invalid(format!(
            "None of the given policies (`{names}`) are defined, credentials will not be \
             generated"
        )),
        IamError::NoSuchUser(_) | IamError::NotAllowed(_) => {
            StsError::access_denied(format!("{e}"))
        }
        // As IAM's quotas answer.
        IamError::TooManyTemporary { .. } => {
            StsError::new(StatusCode::CONFLICT, "LimitExceeded", e.to_string())
        }
        IamError::PolicyTooLarge { .. } => StsError::new(
            StatusCode::BAD_REQUEST,
            "PackedPolicyTooLarge",
            e.to_string(),
        ),
        IamError::InvalidPolicy(_) | IamError::PolicyVersionMissing => {
            StsError::malformed_policy(e.to_string())
        }
        IamError::Backend(_) | IamError::Random(_) | IamError::Corrupt { .. } => {
            StsError::internal(format!("{e}"))
        }
        other => StsError::invalid(other.to_string()),
    }
}

/// A request's parameters: the form body's, then the query's (the first of a name wins).
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    fn new(body: &str, query: Option<&str>) -> Params {
        let mut all = strata_s3::authz::url_pairs(body);
        all.extend(strata_s3::authz::url_pairs(query.unwrap_or("")));
        Params(all)
    }

    /// The first parameter that would narrow or condition the credentials and is not kept
    /// (managed session policies, session tags, MFA, an external id, a source identity):
    /// refused rather than ignored, so that no one believes credentials narrower than they are.
    fn unsupported(&self) -> Option<&str> {
        const PREFIXES: [&str; 4] = [
            "PolicyArns.",
            "Tags.",
            "TransitiveTagKeys.",
            "ProvidedContexts.",
        ];
        const NAMES: [&str; 4] = ["SerialNumber", "TokenCode", "ExternalId", "SourceIdentity"];
        self.0
            .iter()
            .map(|(k, _)| k.as_str())
            .find(|k| NAMES.contains(k) || PREFIXES.iter().any(|p| k.starts_with(p)))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The STS route beside the S3 operations.
pub struct StsRoute {
    iam: Arc<Iam>,
    min_duration: u64,
    web_identity: Option<web_identity::WebIdentity>,
}

impl StsRoute {
    pub fn new(iam: Arc<Iam>, cfg: StsConfig) -> Result<StsRoute, fetch::FetchError> {
        Ok(StsRoute {
            iam,
            min_duration: cfg.min_duration.as_secs().max(1),
            web_identity: cfg.openid.map(web_identity::WebIdentity::new).transpose()?,
        })
    }

    /// Fetches the identity provider's keys in the background, so that a misconfiguration
    /// shows in the log at start-up rather than at the first login (which fetches again).
    pub fn prefetch(&self) {
        if let Some(w) = &self.web_identity {
            w.prefetch();
        }
    }

    pub(crate) async fn call(&self, mut req: S3Request<Body>) -> S3Response<Body> {
        let request_id = req
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let (status, doc) = match self.serve(&mut req, &request_id).await {
            Ok(doc) => (StatusCode::OK, doc),
            Err(e) => {
                tracing::info!(
                    request_id,
                    code = e.code,
                    message = %e.message,
                    "STS request refused"
                );
                (
                    e.status,
                    xml::error(e.status, e.code, &e.message, &request_id),
                )
            }
        };
        let mut resp = S3Response::new(Body::from(doc));
        resp.status = Some(status);
        resp.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml"),
        );
        resp
    }

    async fn serve(&self, req: &mut S3Request<Body>, request_id: &str) -> Result<String, StsError> {
        let body = body::read(req, MAX_BODY, body::Hash::IfDeclared)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge(_) | BodyError::Incomplete => StsError::invalid(e.to_string()),
                BodyError::Unsigned => StsError::access_denied(e.to_string()),
                BodyError::Sha256Mismatch => StsError::new(
                    StatusCode::FORBIDDEN,
                    "SignatureDoesNotMatch",
                    e.to_string(),
                ),
            })?;
        let body = std::str::from_utf8(&body)
            .map_err(|_| StsError::invalid("the request body is not a UTF-8 form"))?;
        let params = Params::new(body, req.uri.query());
        if params.get("Version") != Some(API_VERSION) {
            return Err(StsError::missing(format!(
                "Invalid STS API version {}, expecting {API_VERSION}",
                params.get("Version").unwrap_or("")
            )));
        }
        if let Some(name) = params.unsupported() {
            return Err(StsError::new(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                format!("{name} is not supported: credentials are never issued without it"),
            ));
        }
        let action = params.get("Action").unwrap_or("");
        if let Some(slot) = req.extensions.get::<OperationSlot>() {
            if KNOWN_ACTIONS.contains(&action) {
                slot.set(action);
            }
        }
        match action {
            "AssumeRole" => assume_role::serve(self, req, &params, request_id).await,
            "AssumeRoleWithWebIdentity" => {
                let w = self.web_identity.as_ref().ok_or_else(|| {
                    StsError::invalid(
                        "AssumeRoleWithWebIdentity needs an OpenID provider; this server has \
                         none (--oidc-issuer)",
                    )
                })?;
                w.serve(self, &params, request_id).await
            }
            "" => Err(StsError::missing("Action is required")),
            a if KNOWN_ACTIONS.contains(&a) => Err(StsError::new(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                format!("{a} is not implemented"),
            )),
            _ => Err(StsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                "Could not find operation",
            )),
        }
    }

    /// The lifetime asked for (`DurationSeconds`), checked; `None` when not given.
    fn duration(&self, params: &Params) -> Result<Option<u64>, StsError> {
        let Some(text) = params.get("DurationSeconds").filter(|d| !d.is_empty()) else {
            return Ok(None);
        };
        let range = self.min_duration..=MAX_DURATION;
        match text.parse::<u64>() {
            Ok(d) if range.contains(&d) => Ok(Some(d)),
            _ => Err(StsError::invalid(format!(
                "DurationSeconds must be a number of seconds from {} to {}",
                range.start(),
                range.end()
            ))),
        }
    }
}

/// The STS actions of AWS and MinIO; the ones not served answer NotImplemented.
const KNOWN_ACTIONS: [&str; 13] = [
    "AssumeRole",
    "AssumeRoleWithWebIdentity",
    "AssumeRoleWithClientGrants",
    "AssumeRoleWithLDAPIdentity",
    "AssumeRoleWithCertificate",
    "AssumeRoleWithCustomToken",
    "AssumeRoleWithSAML",
    "AssumeRoot",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetCallerIdentity",
    "GetFederationToken",
    "GetSessionToken",
];

/// The session policy of a request (`Policy`), parsed as an identity policy; MinIO requires
/// its `Version`; at most 2048 bytes as sent (AWS's and MinIO's limit).
fn session_policy(params: &Params) -> Result<Option<strata_iam::Policy>, StsError> {
    let Some(json) = params.get("Policy").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    // Measured as sent (as AWS does), not as it would be written back.
    if json.len() > strata_iam::MAX_SESSION_POLICY {
        return Err(StsError::new(
            StatusCode::BAD_REQUEST,
            "PackedPolicyTooLarge",
            format!(
                "Policy is {} bytes, more than {}",
                json.len(),
                strata_iam::MAX_SESSION_POLICY
            ),
        ));
    }
    let policy = strata_iam::Policy::parse_identity(json)
        .map_err(|e| StsError::malformed_policy(format!("Policy: {e}")))?;
    if policy.version().is_none() {
        return Err(StsError::malformed_policy(
            "Version cannot be empty expecting '2012-10-17'",
        ));
    }
    Ok(Some(policy))
}

#[cfg(test)]
mod tests;

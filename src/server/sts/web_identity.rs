//! AssumeRoleWithWebIdentity: a JWT from the configured OpenID issuer buys temporary
//! credentials (MinIO's `AssumeRoleWithSSO`, `internal/config/identity/openid`). In
//! Kubernetes, the token is a pod's projected service account token: issuer the cluster's
//! service account issuer, audience the one the volume asks for, subject
//! `system:serviceaccount:<namespace>:<name>`.
//!
//! The token is checked in this order, each failure refusing it and creating nothing: its
//! algorithm is an asymmetric one (`jwks.rs`; never `none` nor HMAC); its signature verifies
//! with a key of the issuer's key set (`key_cache.rs`: the key its `kid` names, fetched again
//! for an unknown one); then its claims — `iss` is the issuer, `aud` holds the audience, `exp`
//! is there and not past, `nbf` and `iat` not ahead (each with `LEEWAY` for clocks that
//! differ), `sub` is there.
//!
//! The credentials' policies are the provider's role policy (`--oidc-role-policy`: every
//! token gets them, the way for Kubernetes tokens, which name none) or else the policies the
//! token's claim names (`--oidc-claim-name`, default `policy`: a comma-separated string or an
//! array). Those that exist are kept; none, and the token is refused. As in MinIO, the two
//! cannot be combined (the flags refuse a role policy with a claim name other than the
//! default), and `RoleArn` is accepted and ignored (one provider). They last as long as the
//! token (`DurationSeconds` may shorten that, never lengthen it).

use super::fetch::{FetchError, HttpFetch};
use super::jwks::Alg;
use super::key_cache::{KeyCache, Source};
use super::{issue, session_policy, xml, Params, StsError, StsRoute, MAX_DURATION};
use crate::iam::now;
use crate::jwt::{self, Jwt, JwtError};
use http::StatusCode;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use strata_iam::store::NewFederated;

/// Seconds a token's times may be off by (the provider's clock against ours).
const LEEWAY: u64 = 60;

/// The OpenID provider whose tokens AssumeRoleWithWebIdentity takes.
#[derive(Clone, Debug)]
pub struct OpenIdConfig {
    /// The tokens' `iss`, exactly (`https://kubernetes.default.svc.cluster.local`, …).
    pub issuer: String,
    /// Where its key set is; `None`: from the issuer's discovery document.
    pub jwks_url: Option<String>,
    /// What the tokens' `aud` must hold (MinIO's client id).
    pub audience: String,
    /// The claim naming the policies (MinIO's `claim_name`, default `policy`).
    pub claim_name: String,
    /// Policies every token of this provider gets (MinIO's `role_policy`); empty: the claim's.
    pub role_policy: Vec<String>,
    /// The CA bundle (PEM) that https fetches of the provider's documents trust; `None`: the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// A file holding a bearer token those fetches send (a pod's service account token: a
    /// Kubernetes API server serves its key set to service accounts).
    pub token_file: Option<PathBuf>,
}

/// The claim name MinIO uses when none is configured.
pub const DEFAULT_CLAIM_NAME: &str = "policy";

/// Why a token is refused (never with the token in it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the web identity token is not a JWT")]
    Malformed,
    #[error("signing algorithm {0:?} is not accepted (RS256/384/512, PS256/384/512, ES256/384)")]
    Algorithm(String),
    /// The detail (URLs, file paths, upstream answers) is logged, never told to the caller.
    #[error("the identity provider's keys are not available")]
    Keys(String),
    #[error("no key of the identity provider has the token's key id {0:?}")]
    UnknownKey(String),
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token's issuer is not the configured one")]
    Issuer,
    #[error("the token's audience does not hold the configured one")]
    Audience,
    #[error("the token has no expiry (exp)")]
    NoExpiry,
    #[error("the web identity token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("STS JWT Token has `sub` claim missing, `sub` claim is mandatory")]
    NoSubject,
    #[error("{0} claim missing from the JWT token, credentials will not be generated")]
    NoPolicyClaim(String),
}

impl From<JwtError> for TokenError {
    fn from(e: JwtError) -> TokenError {
        match e {
            JwtError::Malformed => TokenError::Malformed,
            JwtError::Expired => TokenError::Expired,
            JwtError::NotYetValid => TokenError::NotYetValid,
        }
    }
}

/// What a verified token says.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub subject: String,
    /// Unix seconds (the token's `exp`).
    pub expiry: u64,
    /// The policies it grants (by name; not yet checked to exist).
    pub policies: Vec<String>,
}

pub struct WebIdentity {
    cfg: OpenIdConfig,
    keys: Arc<KeyCache>,
}

impl WebIdentity {
    pub fn new(cfg: OpenIdConfig) -> Result<WebIdentity, FetchError> {
        // The token goes to the configured URLs only (the key set's, else the issuer's).
        let mut token_urls = vec![cfg.issuer.as_str()];
        token_urls.extend(cfg.jwks_url.as_deref());
        let fetch = HttpFetch::new(cfg.ca_file.as_deref(), cfg.token_file.clone(), &token_urls)?;
        Ok(WebIdentity::with_fetch(cfg, Arc::new(fetch)))
    }

    fn with_fetch(cfg: OpenIdConfig, fetch: Arc<dyn super::fetch::Fetch>) -> WebIdentity {
        let source = match &cfg.jwks_url {
            Some(url) => Source::Jwks(url.clone()),
            None => Source::Discovery {
                issuer: cfg.issuer.clone(),
            },
        };
        WebIdentity {
            keys: Arc::new(KeyCache::new(source, fetch)),
            cfg,
        }
    }

    /// Fetches the keys in the background (a failure is logged by the cache).
    pub fn prefetch(&self) {
        let keys = self.keys.clone();
        tokio::spawn(async move {
            let _ = keys.keys(None).await;
        });
    }

    /// Checks `token` (see the module's documentation); `now` in unix seconds.
    pub async fn verify(&self, token: &str, now: u64) -> Result<Verified, TokenError> {
        let jwt = Jwt::parse(token)?;
        let alg_name = jwt.alg().unwrap_or_default();
        let alg = Alg::parse(alg_name).ok_or_else(|| TokenError::Algorithm(shown(alg_name)))?;
        let kid = jwt.header.get("kid").and_then(Value::as_str);
        let keys = self.keys.keys(kid).await.map_err(|e| {
            tracing::warn!(error = %e, "the OpenID provider's keys are not available");
            TokenError::Keys(e.to_string())
        })?;
        if let Some(kid) = kid.filter(|k| !keys.has(k)) {
            return Err(TokenError::UnknownKey(shown(kid)));
        }
        let signed = jwt.signed.as_bytes();
        if !keys
            .candidates(kid, alg)
            .any(|k| k.key.verifies(alg, signed, &jwt.signature))
        {
            return Err(TokenError::Signature);
        }
        self.check_claims(&jwt.claims, now)
    }

    /// The claims of a token whose signature verified.
    fn check_claims(&self, claims: &Map<String, Value>, now: u64) -> Result<Verified, TokenError> {
        if claims.get("iss").and_then(Value::as_str) != Some(self.cfg.issuer.as_str()) {
            return Err(TokenError::Issuer);
        }
        let audience = match claims.get("aud") {
            Some(Value::String(a)) => a == &self.cfg.audience,
            Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(&self.cfg.audience)),
            _ => false,
        };
        if !audience {
            return Err(TokenError::Audience);
        }
        let exp = jwt::time(claims, "exp")?.ok_or(TokenError::NoExpiry)?;
        jwt::check_times(claims, now, LEEWAY)?;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(TokenError::NoSubject)?
            .to_string();
        let policies = if self.cfg.role_policy.is_empty() {
            policies_of(claims, &self.cfg.claim_name)
                .ok_or_else(|| TokenError::NoPolicyClaim(self.cfg.claim_name.clone()))?
        } else {
            self.cfg.role_policy.clone()
        };
        Ok(Verified {
            subject,
            expiry: exp.max(0.0) as u64,
            policies,
        })
    }

    /// The action: verify the token, then create the credentials.
    pub(super) async fn serve(
        &self,
        route: &StsRoute,
        params: &Params,
        request_id: &str,
    ) -> Result<String, StsError> {
        let token = params
            .get("WebIdentityToken")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| StsError::missing("WebIdentityToken is required"))?;
        let now = now();
        let verified = self.verify(token, now).await.map_err(token_error)?;
        let policy = session_policy(params)?;
        // As long as the token, at most as long as asked, never past MinIO's longest.
        let mut expiry = verified.expiry.min(now + MAX_DURATION);
        if let Some(d) = route.duration(params)? {
            expiry = expiry.min(now + d);
        }
        if expiry <= now {
            return Err(token_error(TokenError::Expired));
        }
        let new = NewFederated {
            issuer: self.cfg.issuer.clone(),
            subject: verified.subject.clone(),
            policies: verified.policies,
            policy,
            expiry,
        };
        let creds = issue(route, move |iam| iam.add_federated(new, now)).await?;
        tracing::info!(
            request_id,
            access_key = %creds.access_key,
            subject = %verified.subject,
            expiry = creds.expiry,
            "AssumeRoleWithWebIdentity: temporary credentials issued"
        );
        let extra = [
            ("SubjectFromWebIdentityToken", verified.subject.as_str()),
            ("Audience", self.cfg.audience.as_str()),
            ("Provider", self.cfg.issuer.as_str()),
        ];
        Ok(xml::credentials(
            "AssumeRoleWithWebIdentity",
            &creds,
            &extra,
            request_id,
        ))
    }
}

/// A value from the token as an error may echo it: at most 64 characters (it is the caller's).
fn shown(v: &str) -> String {
    v.chars().take(64).collect()
}

/// The STS error of a refused token, with the codes AWS's AssumeRoleWithWebIdentity answers.
fn token_error(e: TokenError) -> StsError {
    let (status, code) = match e {
        TokenError::Expired => (StatusCode::BAD_REQUEST, "ExpiredTokenException"),
        TokenError::Keys(_) => (StatusCode::BAD_REQUEST, "IDPCommunicationError"),
        // A valid token whose claims grant nothing.
        TokenError::NoPolicyClaim(_) => (StatusCode::FORBIDDEN, "IDPRejectedClaim"),
        TokenError::Malformed
        | TokenError::Algorithm(_)
        | TokenError::UnknownKey(_)
        | TokenError::Signature
        | TokenError::Issuer
        | TokenError::Audience
        | TokenError::NoExpiry
        | TokenError::NotYetValid
        | TokenError::NoSubject => (StatusCode::BAD_REQUEST, "InvalidIdentityToken"),
    };
    StsError::new(status, code, e.to_string())
}

/// The policies a claim names, as MinIO reads it (`GetPoliciesFromClaims`): a string of
/// comma-separated names, or an array of such strings; blanks trimmed, empties skipped.
/// `None` when the claim is missing or of another type.
pub fn policies_of(claims: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut out: Vec<String> = match claims.get(name)? {
        Value::String(s) => split(s),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(split)
            .collect(),
        _ => return None,
    };
    out.sort();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests;

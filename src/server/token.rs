//! Bearer tokens for the metrics endpoints, as MinIO checks them: a JWT signed with HMAC
//! (HS256, HS384 or HS512) by the secret key of the access key it names (claim `accessKey`,
//! else `sub`), issued by `prometheus` (claim `iss`), and within its `exp`, `nbf` and `iat`
//! when it has them. `mc admin prometheus generate` makes such tokens (HS512, `sub`, `iss`,
//! an `exp` a century away) and so does `strata prometheus generate`.

use crate::jwt::{self, Jwt, JwtError};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::{Sha256, Sha384, Sha512};

/// The issuer MinIO requires of scrape tokens.
pub const ISSUER: &str = "prometheus";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token in the Authorization header")]
    Missing,
    #[error("not a JWT (three base64url parts: a JSON header, JSON claims, a signature)")]
    Malformed,
    #[error("signing algorithm {0:?} is not HS256, HS384 or HS512")]
    Algorithm(String),
    #[error("the token names no access key (claim accessKey or sub)")]
    NoAccessKey,
    #[error("the token's access key is not this server's")]
    UnknownAccessKey,
    #[error("the signature does not match")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token's issuer is not {ISSUER:?}")]
    Issuer,
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

/// Who may read the metrics pages. (`Debug` by hand: never the secret.)
#[derive(Clone)]
pub enum ScrapeAccess {
    /// Anyone (`--prometheus-auth public`).
    Public,
    /// Holders of a bearer token signed with these credentials.
    Token {
        access_key: String,
        secret_key: String,
    },
}

impl std::fmt::Debug for ScrapeAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScrapeAccess::Public => f.write_str("Public"),
            ScrapeAccess::Token { access_key, .. } => f
                .debug_struct("Token")
                .field("access_key", access_key)
                .finish_non_exhaustive(),
        }
    }
}

impl ScrapeAccess {
    /// Whether a request with these headers may read them; `now` in seconds since the epoch.
    pub fn check(&self, headers: &http::HeaderMap, now: u64) -> Result<(), TokenError> {
        match self {
            ScrapeAccess::Public => Ok(()),
            ScrapeAccess::Token {
                access_key,
                secret_key,
            } => verify(bearer(headers)?, access_key, secret_key, now),
        }
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme's case does not matter).
fn bearer(headers: &http::HeaderMap) -> Result<&str, TokenError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(TokenError::Missing)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(TokenError::Missing),
    }
}

/// Checks `token` against the credentials; `now` in seconds since the Unix epoch.
pub fn verify(token: &str, access_key: &str, secret_key: &str, now: u64) -> Result<(), TokenError> {
    let jwt = Jwt::parse(token)?;
    let alg = jwt.alg().ok_or(TokenError::Malformed)?.to_string();
    let named = ["accessKey", "sub"]
        .iter()
        .find_map(|c| jwt.claim_str(c))
        .ok_or(TokenError::NoAccessKey)?;
    if named != access_key {
        return Err(TokenError::UnknownAccessKey);
    }
    if !hmac_matches(
        &alg,
        secret_key.as_bytes(),
        jwt.signed.as_bytes(),
        &jwt.signature,
    )? {
        return Err(TokenError::Signature);
    }
    jwt::check_times(&jwt.claims, now, 0)?;
    match jwt.claim_str("iss") {
        Some(ISSUER) => Ok(()),
        _ => Err(TokenError::Issuer),
    }
}

/// A token as `mc admin prometheus generate` makes it: HS512, the access key as `sub`,
/// issuer `prometheus`, expiring at `expires` (seconds since the Unix epoch).
pub fn issue(access_key: &str, secret_key: &str, expires: u64) -> String {
    let header = jwt::encode(&json!({"alg": "HS512", "typ": "JWT"}));
    let claims = jwt::encode(&json!({"exp": expires, "sub": access_key, "iss": ISSUER}));
    let signed = format!("{header}.{claims}");
    let signature = match <Hmac<Sha512> as KeyInit>::new_from_slice(secret_key.as_bytes()) {
        Ok(mut m) => {
            m.update(signed.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length.
        Err(_) => Vec::new(),
    };
    format!(
        "{signed}.{}",
        base64_simd::URL_SAFE_NO_PAD.encode_to_string(signature)
    )
}

/// Compares in constant time (`verify_slice`).
fn hmac_matches(alg: &str, key: &[u8], data: &[u8], signature: &[u8]) -> Result<bool, TokenError> {
    fn check<M: Mac + KeyInit>(key: &[u8], data: &[u8], signature: &[u8]) -> bool {
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut m) => {
                m.update(data);
                m.verify_slice(signature).is_ok()
            }
            Err(_) => false,
        }
    }
    match alg {
        "HS256" => Ok(check::<Hmac<Sha256>>(key, data, signature)),
        "HS384" => Ok(check::<Hmac<Sha384>>(key, data, signature)),
        "HS512" => Ok(check::<Hmac<Sha512>>(key, data, signature)),
        other => Err(TokenError::Algorithm(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const NOW: u64 = 1_800_000_000;

    fn token(alg: &str, claims: Value, secret: &str) -> String {
        let signed = format!(
            "{}.{}",
            jwt::encode(&json!({"alg": alg, "typ": "JWT"})),
            jwt::encode(&claims)
        );
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        m.update(signed.as_bytes());
        let sig = base64_simd::URL_SAFE_NO_PAD.encode_to_string(m.finalize().into_bytes());
        format!("{signed}.{sig}")
    }

    #[test]
    fn issued_tokens_verify() {
        let t = issue("admin", "secret-key", NOW + 60);
        assert_eq!(verify(&t, "admin", "secret-key", NOW), Ok(()));
        assert_eq!(
            verify(&t, "admin", "other-key", NOW),
            Err(TokenError::Signature)
        );
        assert_eq!(
            verify(&t, "someone", "secret-key", NOW),
            Err(TokenError::UnknownAccessKey)
        );
        assert_eq!(
            verify(&t, "admin", "secret-key", NOW + 60),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn claims_and_algorithms_are_checked() {
        let ok = json!({"accessKey": "admin", "iss": "prometheus"});
        assert_eq!(verify(&token("HS256", ok, "k"), "admin", "k", NOW), Ok(()));
        let no_iss = json!({"sub": "admin"});
        assert_eq!(
            verify(&token("HS256", no_iss, "k"), "admin", "k", NOW),
            Err(TokenError::Issuer)
        );
        let later = json!({"sub": "admin", "iss": "prometheus", "nbf": NOW + 10});
        assert_eq!(
            verify(&token("HS256", later, "k"), "admin", "k", NOW),
            Err(TokenError::NotYetValid)
        );
        let none = json!({"sub": "admin", "iss": "prometheus"});
        let t = token("none", none, "k");
        assert_eq!(
            verify(&t, "admin", "k", NOW),
            Err(TokenError::Algorithm("none".into()))
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert_eq!(
                verify(bad, "admin", "k", NOW),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }
}

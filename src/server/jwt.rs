//! JSON Web Tokens (RFC 7519), the parts every verifier here shares: the three base64url
//! parts, the JSON header and claims, the signed bytes and the signature, and the time
//! claims. Which algorithms and keys are acceptable is each verifier's: the metrics tokens'
//! HMAC (`token.rs`), the OpenID providers' public keys (`sts/web_identity.rs`).

use serde_json::{Map, Value};

/// Longest token accepted (a Kubernetes service account token is about 1 KiB; an OpenID ID
/// token with many claims a few).
pub const MAX_TOKEN: usize = 16 << 10;

/// A token split and decoded, its signature not yet checked.
#[derive(Debug)]
pub struct Jwt<'a> {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// What the signature is over: `<header>.<claims>` as sent.
    pub signed: &'a str,
    pub signature: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a JWT (three base64url parts: a JSON header, JSON claims, a signature)")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

impl<'a> Jwt<'a> {
    /// Splits and decodes `token` (compact serialization, JWS).
    pub fn parse(token: &'a str) -> Result<Jwt<'a>, JwtError> {
        if token.len() > MAX_TOKEN {
            return Err(JwtError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        Ok(Jwt {
            header: json_object(header)?,
            claims: json_object(claims)?,
            signed: &token[..header.len() + 1 + claims.len()],
            signature: decode(signature)?,
        })
    }

    /// The header's `alg`.
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// A claim that is a string.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// `exp` in the future, `nbf` and `iat` not, each only when present (as the JWT libraries
/// MinIO uses check them), with `leeway` seconds for clocks that differ; a time that is not a
/// number makes the token malformed.
pub fn check_times(claims: &Map<String, Value>, now: u64, leeway: u64) -> Result<(), JwtError> {
    let (now, leeway) = (now as f64, leeway as f64);
    if time(claims, "exp")?.is_some_and(|exp| now >= exp + leeway) {
        return Err(JwtError::Expired);
    }
    let future = |t: Option<f64>| t.is_some_and(|t| now + leeway < t);
    if future(time(claims, "nbf")?) || future(time(claims, "iat")?) {
        return Err(JwtError::NotYetValid);
    }
    Ok(())
}

/// A time claim (NumericDate: seconds since the epoch, maybe fractional).
pub fn time(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|t| t.is_finite())
            .map(Some)
            .ok_or(JwtError::Malformed),
    }
}

/// A JSON value as a token part.
pub fn encode(v: &Value) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(v.to_string())
}

/// Unpadded base64url, as every part of a token and every number of a JWK is written.
pub fn decode(part: &str) -> Result<Vec<u8>, JwtError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(part)
        .map_err(|_| JwtError::Malformed)
}

fn json_object(part: &str) -> Result<Map<String, Value>, JwtError> {
    match serde_json::from_slice(&decode(part)?) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwtError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn parts_are_decoded_and_the_signed_bytes_kept() {
        let t = format!(
            "{}.{}.{}",
            encode(&json!({"alg": "RS256", "kid": "k1"})),
            encode(&json!({"sub": "me"})),
            base64_simd::URL_SAFE_NO_PAD.encode_to_string(b"sig")
        );
        let jwt = Jwt::parse(&t).unwrap();
        assert_eq!(jwt.alg(), Some("RS256"));
        assert_eq!(jwt.claim_str("sub"), Some("me"));
        assert_eq!(jwt.signature, b"sig");
        assert_eq!(jwt.signed, &t[..t.rfind('.').unwrap()]);
        let arr = format!("{}.{}.", encode(&json!({"alg": "x"})), encode(&json!([1])));
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!", arr.as_str()] {
            assert_eq!(Jwt::parse(bad).unwrap_err(), JwtError::Malformed, "{bad}");
        }
        let long = format!("{t}{}", "A".repeat(MAX_TOKEN));
        assert_eq!(Jwt::parse(&long).unwrap_err(), JwtError::Malformed);
    }

    #[test]
    fn times_are_checked_with_leeway() {
        let exp = claims(json!({"exp": NOW}));
        assert_eq!(check_times(&exp, NOW, 0), Err(JwtError::Expired));
        assert_eq!(check_times(&exp, NOW - 1, 0), Ok(()));
        assert_eq!(check_times(&exp, NOW + 59, 60), Ok(()));
        assert_eq!(check_times(&exp, NOW + 60, 60), Err(JwtError::Expired));
        let nbf = claims(json!({"nbf": NOW + 10, "iat": NOW}));
        assert_eq!(check_times(&nbf, NOW, 0), Err(JwtError::NotYetValid));
        assert_eq!(check_times(&nbf, NOW, 10), Ok(()));
        let iat = claims(json!({"iat": NOW + 30}));
        assert_eq!(check_times(&iat, NOW, 10), Err(JwtError::NotYetValid));
        let text = claims(json!({"exp": "tomorrow"}));
        assert_eq!(check_times(&text, NOW, 0), Err(JwtError::Malformed));
        assert_eq!(check_times(&Map::new(), NOW, 0), Ok(()));
    }
}

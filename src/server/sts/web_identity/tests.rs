//! The checks of a web identity token, each on a token that passes all the others.

use super::*;
use crate::sts::fetch::{Fetch, FetchError};
use crate::sts::jwks::tests::{ec_key, ec_sign, rsa_jwk, rsa_key, rsa_sign};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
const AUDIENCE: &str = "strata";
const SUBJECT: &str = "system:serviceaccount:ns:app";

/// Serves one key set, counting the fetches.
struct Keys {
    doc: Vec<u8>,
    count: AtomicUsize,
}

#[async_trait::async_trait]
impl Fetch for Keys {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        assert_eq!(url, "http://idp/keys");
        self.count.fetch_add(1, Ordering::SeqCst);
        Ok(self.doc.clone())
    }
}

fn config() -> OpenIdConfig {
    OpenIdConfig {
        issuer: ISSUER.into(),
        jwks_url: Some("http://idp/keys".into()),
        audience: AUDIENCE.into(),
        claim_name: DEFAULT_CLAIM_NAME.into(),
        role_policy: vec![],
        ca_file: None,
        token_file: None,
    }
}

/// A verifier trusting the test RSA key (`r1`) and a fresh P-256 key (`e1`); the P-256 key.
fn verifier(cfg: OpenIdConfig) -> (WebIdentity, ring::signature::EcdsaKeyPair, Arc<Keys>) {
    let (ec, ec_jwk) = ec_key("e1");
    let keys = Arc::new(Keys {
        doc: json!({"keys": [rsa_jwk(&rsa_key(), "r1"), ec_jwk]})
            .to_string()
            .into_bytes(),
        count: AtomicUsize::new(0),
    });
    (WebIdentity::with_fetch(cfg, keys.clone()), ec, keys)
}

/// The claims of a Kubernetes service account token, valid at `NOW`.
fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": [AUDIENCE, "other"],
        "sub": SUBJECT,
        "exp": NOW + 600,
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "policy": "readonly, diagnostics",
        "kubernetes.io": {"namespace": "ns", "serviceaccount": {"name": "app"}},
    })
}

fn rs256(header: Value, claims: &Value) -> String {
    let signed = format!("{}.{}", jwt::encode(&header), jwt::encode(claims));
    let sig = rsa_sign(&rsa_key(), Alg::Rs256, signed.as_bytes());
    format!(
        "{signed}.{}",
        base64_simd::URL_SAFE_NO_PAD.encode_to_string(sig)
    )
}

fn token(claims: &Value) -> String {
    rs256(json!({"alg": "RS256", "kid": "r1", "typ": "JWT"}), claims)
}

fn verify(w: &WebIdentity, token: &str) -> Result<Verified, TokenError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(w.verify(token, NOW))
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

#[test]
fn a_service_account_token_verifies() {
    let (w, ec, _) = verifier(config());
    let want = Verified {
        subject: SUBJECT.into(),
        expiry: NOW + 600,
        policies: vec!["diagnostics".into(), "readonly".into()],
    };
    assert_eq!(verify(&w, &token(&claims())), Ok(want));
    // ES256, and a token with no kid (every key of its algorithm is tried).
    let signed = format!(
        "{}.{}",
        jwt::encode(&json!({"alg": "ES256"})),
        jwt::encode(&claims())
    );
    let sig = ec_sign(&ec, signed.as_bytes());
    let es = format!(
        "{signed}.{}",
        base64_simd::URL_SAFE_NO_PAD.encode_to_string(sig)
    );
    assert!(verify(&w, &es).is_ok());
    let no_kid = rs256(json!({"alg": "RS256"}), &claims());
    assert!(verify(&w, &no_kid).is_ok());
    // A single audience as a string.
    assert!(verify(&w, &token(&with(claims(), "aud", json!(AUDIENCE)))).is_ok());
    // Clocks a little apart.
    let ahead = with(claims(), "iat", json!(NOW + 30));
    assert!(verify(&w, &token(&ahead)).is_ok());
    assert!(verify(&w, &token(&with(claims(), "exp", json!(NOW - 30)))).is_ok());
}

#[test]
fn each_bad_claim_refuses_the_token() {
    let (w, _, _) = verifier(config());
    let cases = [
        (
            with(claims(), "iss", json!("https://evil")),
            TokenError::Issuer,
        ),
        (without(claims(), "iss"), TokenError::Issuer),
        (with(claims(), "aud", json!("other")), TokenError::Audience),
        (
            with(claims(), "aud", json!(["a", "b"])),
            TokenError::Audience,
        ),
        (without(claims(), "aud"), TokenError::Audience),
        (
            with(claims(), "exp", json!(NOW - 3600)),
            TokenError::Expired,
        ),
        (with(claims(), "exp", json!(NOW - 60)), TokenError::Expired),
        (without(claims(), "exp"), TokenError::NoExpiry),
        (with(claims(), "exp", json!("soon")), TokenError::Malformed),
        (
            with(claims(), "nbf", json!(NOW + 3600)),
            TokenError::NotYetValid,
        ),
        (
            with(claims(), "iat", json!(NOW + 3600)),
            TokenError::NotYetValid,
        ),
        (without(claims(), "sub"), TokenError::NoSubject),
        (with(claims(), "sub", json!("")), TokenError::NoSubject),
        (
            without(claims(), "policy"),
            TokenError::NoPolicyClaim("policy".into()),
        ),
        (
            with(claims(), "policy", json!(42)),
            TokenError::NoPolicyClaim("policy".into()),
        ),
    ];
    for (c, want) in cases {
        assert_eq!(verify(&w, &token(&c)), Err(want), "{c}");
    }
}

#[test]
fn bad_signatures_and_algorithms_refuse_the_token() {
    let (w, _, keys) = verifier(config());
    let good = token(&claims());
    // Another signature, or claims changed under the signature.
    let (head, _) = good.rsplit_once('.').unwrap();
    let other = token(&with(claims(), "sub", json!("someone-else")));
    let other_sig = other.rsplit_once('.').unwrap().1;
    assert_eq!(
        verify(&w, &format!("{head}.{other_sig}")),
        Err(TokenError::Signature)
    );
    let forged_claims = jwt::encode(&with(claims(), "policy", json!("consoleAdmin")));
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert_eq!(verify(&w, &forged), Err(TokenError::Signature));
    // The RSA key's signature under a header naming the EC key.
    let swapped = rs256(json!({"alg": "RS256", "kid": "e1"}), &claims());
    assert_eq!(verify(&w, &swapped), Err(TokenError::Signature));
    // `none`, HMAC (with the public key's bytes as the secret, the classic confusion), and
    // no algorithm at all.
    let none = format!(
        "{}.{}.",
        jwt::encode(&json!({"alg": "none", "kid": "r1"})),
        jwt::encode(&claims())
    );
    assert_eq!(verify(&w, &none), Err(TokenError::Algorithm("none".into())));
    let hs = rs256(json!({"alg": "HS256", "kid": "r1"}), &claims());
    assert_eq!(verify(&w, &hs), Err(TokenError::Algorithm("HS256".into())));
    let no_alg = rs256(json!({"kid": "r1"}), &claims());
    assert_eq!(
        verify(&w, &no_alg),
        Err(TokenError::Algorithm(String::new()))
    );
    // A key the provider does not have: refused, and, the set being fetched less than
    // MIN_REFETCH ago, not fetched again however many such tokens come (key_cache's tests
    // show the one refetch once the interval has passed).
    let before = keys.count.load(Ordering::SeqCst);
    assert_eq!(before, 1);
    for kid in ["r2", "r3", "r4"] {
        let unknown = rs256(json!({"alg": "RS256", "kid": kid}), &claims());
        assert_eq!(
            verify(&w, &unknown),
            Err(TokenError::UnknownKey(kid.into()))
        );
    }
    assert_eq!(keys.count.load(Ordering::SeqCst), before);
    for bad in ["", "abc", "a.b.c", "a.b"] {
        assert_eq!(verify(&w, bad), Err(TokenError::Malformed), "{bad:?}");
    }
}

#[test]
fn the_role_policy_replaces_the_claim() {
    let cfg = OpenIdConfig {
        role_policy: vec!["readwrite".into()],
        ..config()
    };
    let (w, _, _) = verifier(cfg);
    let v = verify(&w, &token(&without(claims(), "policy"))).unwrap();
    assert_eq!(v.policies, ["readwrite"]);
    let v = verify(&w, &token(&claims())).unwrap();
    assert_eq!(v.policies, ["readwrite"]);
}

#[test]
fn policy_claims_are_read_as_minio_reads_them() {
    let c = |v: Value| match json!({ "groups": v }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let p = |v| policies_of(&c(v), "groups");
    assert_eq!(
        p(json!("a,b , ,c")),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(
        p(json!(["b", "a,c", 3])),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(p(json!("")), Some(vec![]));
    assert_eq!(p(json!({"a": 1})), None);
    assert_eq!(policies_of(&c(json!("a")), "policy"), None);
}

#[test]
fn refusals_carry_aws_s_codes() {
    let code = |e: TokenError| {
        let e = token_error(e);
        (e.code, e.status.as_u16())
    };
    assert_eq!(code(TokenError::Expired), ("ExpiredTokenException", 400));
    assert_eq!(
        code(TokenError::Keys("down".into())),
        ("IDPCommunicationError", 400)
    );
    assert_eq!(
        code(TokenError::NoPolicyClaim("policy".into())),
        ("IDPRejectedClaim", 403)
    );
    for e in [
        TokenError::Malformed,
        TokenError::Algorithm("none".into()),
        TokenError::UnknownKey("k".into()),
        TokenError::Signature,
        TokenError::Issuer,
        TokenError::Audience,
        TokenError::NoExpiry,
        TokenError::NotYetValid,
        TokenError::NoSubject,
    ] {
        assert_eq!(code(e.clone()), ("InvalidIdentityToken", 400), "{e:?}");
    }
}

//! An identity provider's public keys, as its JWKS (RFC 7517) publishes them, and the
//! signatures they verify (RFC 7518): RSA PKCS#1 v1.5 (`RS256`, `RS384`, `RS512`), RSA-PSS
//! (`PS256`, `PS384`, `PS512`) and ECDSA (`ES256` on P-256, `ES384` on P-384), with `ring`.
//! `none` and the HMAC algorithms are never accepted: a provider's token is checked with its
//! public key, never a shared secret (which would let anyone holding the public key sign).
//! RSA keys have at least 2048 bits.

use crate::jwt;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

/// A signing algorithm accepted for provider tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
}

impl Alg {
    /// The algorithm of a token's `alg`, if it is one accepted.
    pub fn parse(name: &str) -> Option<Alg> {
        Some(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "PS384" => Alg::Ps384,
            "PS512" => Alg::Ps512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
        }
    }
}

/// A public key of a JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed point (`04 || x || y`).
    P256(Vec<u8>),
    P384(Vec<u8>),
}

impl PublicKey {
    /// Whether `signature` (a JWS signature: ECDSA's is `r || s`) of `message` is this key's
    /// under `alg`; `false` also when the key does not go with the algorithm.
    pub fn verifies(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::Rsa { n, e } => {
                let params = match alg {
                    Alg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Alg::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Alg::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Alg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Alg::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Alg::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
                    Alg::Es256 | Alg::Es384 => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
            PublicKey::P256(point) if alg == Alg::Es256 => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            PublicKey::P384(point) if alg == Alg::Es384 => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            PublicKey::P256(_) | PublicKey::P384(_) => false,
        }
    }
}

/// One usable key of a JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    /// The algorithm the key is for, when the JWKS says.
    pub alg: Option<String>,
    pub key: PublicKey,
}

/// The usable keys of a JWKS (symmetric keys, encryption keys and unknown kinds are left
/// out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySet {
    pub keys: Vec<Jwk>,
}

/// A JWK as published; the members not needed here are ignored.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// The keys of a JWKS document; a document that is not one is an error, a key that cannot
    /// be used is left out.
    pub fn parse(json: &[u8]) -> Result<KeySet, String> {
        let raw: RawSet =
            serde_json::from_slice(json).map_err(|e| format!("not a JWK set: {e}"))?;
        let keys = raw
            .keys
            .into_iter()
            .filter_map(|v| serde_json::from_value::<RawJwk>(v).ok())
            .filter_map(usable)
            .collect();
        Ok(KeySet { keys })
    }

    /// Whether a key has this `kid`.
    pub fn has(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys that may have signed a token with this `kid` (all, for a token without one)
    /// and algorithm.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Alg,
    ) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys.iter().filter(move |k| {
            kid.is_none_or(|kid| k.kid.as_deref() == Some(kid))
                && k.alg.as_deref().is_none_or(|a| a == alg.name())
        })
    }
}

fn usable(k: RawJwk) -> Option<Jwk> {
    if k.usage.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let b64 = |v: &Option<String>| v.as_deref().and_then(|s| jwt::decode(s).ok());
    let key = match k.kty.as_str() {
        "RSA" => {
            let strip = |v: Vec<u8>| {
                let first = v.iter().position(|&b| b != 0).unwrap_or(v.len());
                v[first..].to_vec()
            };
            let (n, e) = (strip(b64(&k.n)?), strip(b64(&k.e)?));
            if n.is_empty() || e.is_empty() {
                return None;
            }
            PublicKey::Rsa { n, e }
        }
        "EC" => {
            let (x, y) = (b64(&k.x)?, b64(&k.y)?);
            let size = match k.crv.as_deref()? {
                "P-256" => 32,
                "P-384" => 48,
                _ => return None,
            };
            if x.len() != size || y.len() != size {
                return None;
            }
            let point = [&[4u8][..], &x, &y].concat();
            if size == 32 {
                PublicKey::P256(point)
            } else {
                PublicKey::P384(point)
            }
        }
        _ => return None,
    };
    Some(Jwk {
        kid: k.kid,
        alg: k.alg,
        key,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair};

    /// A 2048-bit RSA key made for these tests (PKCS#1 DER, base64): ring signs with RSA
    /// keys but cannot make them.
    pub const RSA_KEY: &str = include_str!("testdata/rsa-2048.pkcs1.b64");

    pub fn rsa_key() -> RsaKeyPair {
        let der = base64_simd::STANDARD
            .decode_to_vec(RSA_KEY.trim())
            .expect("base64");
        RsaKeyPair::from_der(&der).expect("RSA key")
    }

    /// The JWK of `key`'s public half.
    pub fn rsa_jwk(key: &RsaKeyPair, kid: &str) -> serde_json::Value {
        let c: RsaPublicKeyComponents<Vec<u8>> = key.public().into();
        let b64 = |v: &[u8]| base64_simd::URL_SAFE_NO_PAD.encode_to_string(v);
        serde_json::json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&c.n), "e": b64(&c.e)})
    }

    pub fn rsa_sign(key: &RsaKeyPair, alg: Alg, message: &[u8]) -> Vec<u8> {
        let enc: &dyn signature::RsaEncoding = match alg {
            Alg::Rs256 => &signature::RSA_PKCS1_SHA256,
            Alg::Rs384 => &signature::RSA_PKCS1_SHA384,
            Alg::Rs512 => &signature::RSA_PKCS1_SHA512,
            Alg::Ps256 => &signature::RSA_PSS_SHA256,
            Alg::Ps384 => &signature::RSA_PSS_SHA384,
            Alg::Ps512 => &signature::RSA_PSS_SHA512,
            _ => unreachable!(),
        };
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(enc, &SystemRandom::new(), message, &mut sig)
            .expect("sign");
        sig
    }

    /// A fresh P-256 key and its JWK.
    pub fn ec_key(kid: &str) -> (EcdsaKeyPair, serde_json::Value) {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("generate");
        let key = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("key");
        let point = key.public_key().as_ref().to_vec();
        let b64 = |v: &[u8]| base64_simd::URL_SAFE_NO_PAD.encode_to_string(v);
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": kid,
            "x": b64(&point[1..33]), "y": b64(&point[33..]),
        });
        (key, jwk)
    }

    pub fn ec_sign(key: &EcdsaKeyPair, message: &[u8]) -> Vec<u8> {
        key.sign(&SystemRandom::new(), message)
            .expect("sign")
            .as_ref()
            .to_vec()
    }

    fn set(keys: &[serde_json::Value]) -> KeySet {
        KeySet::parse(serde_json::json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn rsa_signatures_verify_under_their_algorithm_only() {
        let key = rsa_key();
        let ks = set(&[rsa_jwk(&key, "r1")]);
        let jwk = &ks.keys[0];
        for alg in [Alg::Rs256, Alg::Rs384, Alg::Rs512, Alg::Ps256, Alg::Ps512] {
            let sig = rsa_sign(&key, alg, b"message");
            assert!(jwk.key.verifies(alg, b"message", &sig), "{alg:?}");
            assert!(!jwk.key.verifies(alg, b"messagE", &sig), "{alg:?}");
            assert!(!jwk.key.verifies(Alg::Es256, b"message", &sig), "{alg:?}");
        }
        let rs256 = rsa_sign(&key, Alg::Rs256, b"message");
        assert!(!jwk.key.verifies(Alg::Rs512, b"message", &rs256));
    }

    #[test]
    fn ec_signatures_verify() {
        let (key, jwk) = ec_key("e1");
        let ks = set(&[jwk]);
        let sig = ec_sign(&key, b"message");
        assert!(ks.keys[0].key.verifies(Alg::Es256, b"message", &sig));
        assert!(!ks.keys[0].key.verifies(Alg::Es256, b"other", &sig));
        assert!(!ks.keys[0].key.verifies(Alg::Es384, b"message", &sig));
        assert!(!ks.keys[0].key.verifies(Alg::Rs256, b"message", &sig));
    }

    #[test]
    fn unusable_keys_are_left_out() {
        let key = rsa_key();
        let mut enc = rsa_jwk(&key, "enc");
        enc["use"] = "enc".into();
        let ks = set(&[
            serde_json::json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"}),
            serde_json::json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}),
            serde_json::json!({"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}),
            serde_json::json!({"kid": "no-kty"}),
            enc,
            rsa_jwk(&key, "ok"),
        ]);
        assert_eq!(ks.keys.len(), 1, "{ks:?}");
        assert!(ks.has("ok") && !ks.has("h") && !ks.has("enc"));
        assert!(KeySet::parse(b"{}").is_err());
        assert!(KeySet::parse(b"[]").is_err());
        // A key pinned to an algorithm is no candidate for another.
        let mut pinned = rsa_jwk(&key, "p");
        pinned["alg"] = "RS256".into();
        let ks = set(&[pinned]);
        assert_eq!(ks.candidates(Some("p"), Alg::Rs256).count(), 1);
        assert_eq!(ks.candidates(Some("p"), Alg::Ps256).count(), 0);
        assert_eq!(ks.candidates(None, Alg::Rs256).count(), 1);
        assert_eq!(ks.candidates(Some("q"), Alg::Rs256).count(), 0);
    }

    #[test]
    fn only_asymmetric_algorithms_are_accepted() {
        for name in [
            "none", "None", "HS256", "HS384", "HS512", "", "RS1", "EdDSA",
        ] {
            assert_eq!(Alg::parse(name), None, "{name}");
        }
        for name in ["RS256", "PS384", "ES256", "ES384"] {
            assert_eq!(Alg::parse(name).map(Alg::name), Some(name));
        }
    }
}

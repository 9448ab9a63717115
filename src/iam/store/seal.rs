//! Secrets at rest: every secret key and session token is sealed before it reaches the
//! backend, and opened only when a request is authenticated.
//!
//! The sealing key is derived from the root credentials the server runs with:
//! `HMAC-SHA256(key = root secret key, message = "strata-iam-seal-v1\0" + root access key)`.
//! Each secret is sealed with ChaCha20-Poly1305 under a fresh random 12-byte nonce, with the
//! entity's kind and access key as associated data (`user\0alice`), so a sealed secret copied
//! into another entity's document does not open. Stored form: `v1:` then the nonce and the
//! ciphertext with its tag, in lower-case hex.
//!
//! Changing the root credentials changes the key: the stored secrets no longer open and the
//! users, service accounts and temporary credentials cannot authenticate until the server is
//! given the old credentials once, and seals them again under the new key (`reseal.rs`).

use super::error::IamError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use std::fmt;

/// Domain separation for the key derivation; a new scheme gets a new label.
const KEY_LABEL: &[u8] = b"strata-iam-seal-v1\0";
/// Prefix of the stored form.
const FORMAT: &str = "v1:";
const NONCE_LEN: usize = 12;
/// Poly1305's tag.
const TAG_LEN: usize = 16;

/// A secret in the clear (a secret key, a session token): its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, for signature checks and for answering whoever created it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `other` in time that depends only on the lengths.
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What kind of entity a sealed value belongs to: part of the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SealKind {
    User,
    ServiceAccount,
    TemporarySecret,
    TemporaryToken,
}

impl SealKind {
    fn label(self) -> &'static str {
        match self {
            SealKind::User => "user",
            SealKind::ServiceAccount => "service-account",
            SealKind::TemporarySecret => "sts-secret",
            SealKind::TemporaryToken => "sts-token",
        }
    }
}

/// A sealed secret: nonce, then ciphertext and tag.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealed(..)")
    }
}

impl Serialize for Sealed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(FORMAT.len() + 2 * self.0.len());
        text.push_str(FORMAT);
        for b in &self.0 {
            text.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Sealed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let hex = text
            .strip_prefix(FORMAT)
            .ok_or_else(|| serde::de::Error::custom("sealed secret: unknown format"))?;
        let bytes = decode_hex(hex)
            .filter(|b| b.len() >= NONCE_LEN + TAG_LEN)
            .ok_or_else(|| serde::de::Error::custom("sealed secret: not hex, or too short"))?;
        Ok(Sealed(bytes))
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Seals and opens secrets with the key derived from the root credentials, and keeps those
/// credentials (root is configured, not stored).
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    root_access_key: String,
    root_secret: Secret,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("root_access_key", &self.root_access_key)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// The sealer of a deployment whose root credentials are these. They follow a user's
    /// rules: an access key of at least 3 bytes without `=` or `,`, a secret of at least 8.
    pub fn from_root(access_key: &str, secret_key: &str) -> Result<Sealer, IamError> {
        super::model::check_access_key(access_key)?;
        super::model::check_secret_key(secret_key)?;
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret_key.as_bytes())
            .map_err(|_| IamError::InvalidSecretKey("not usable as an HMAC key"))?;
        mac.update(KEY_LABEL);
        mac.update(access_key.as_bytes());
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        Ok(Sealer {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
            root_access_key: access_key.to_string(),
            root_secret: Secret::new(secret_key),
        })
    }

    pub fn root_access_key(&self) -> &str {
        &self.root_access_key
    }

    pub(crate) fn root_secret(&self) -> &Secret {
        &self.root_secret
    }

    /// Seals `secret` for the entity of kind `kind` known by `access_key`.
    pub(crate) fn seal(
        &self,
        kind: SealKind,
        access_key: &str,
        secret: &str,
    ) -> Result<Sealed, IamError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| IamError::Random(e.to_string()))?;
        let aad = associated_data(kind, access_key);
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: &aad,
        };
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| IamError::Random("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(Sealed(out))
    }

    /// Opens what [`Sealer::seal`] sealed for the same kind and access key; `None` when the
    /// key, the kind or the access key differ, or the bytes were changed.
    pub(crate) fn open(&self, kind: SealKind, access_key: &str, sealed: &Sealed) -> Option<Secret> {
        let (nonce, ciphertext) = sealed.0.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let aad = associated_data(kind, access_key);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plain = self.cipher.decrypt(&Nonce::from(nonce), payload).ok()?;
        String::from_utf8(plain).ok().map(Secret)
    }
}

fn associated_data(kind: SealKind, access_key: &str) -> Vec<u8> {
    let mut aad = kind.label().as_bytes().to_vec();
    aad.push(0);
    aad.extend_from_slice(access_key.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::from_root("rootuser", "rootsecret123").expect("valid root")
    }

    #[test]
    fn seals_and_opens_for_the_same_entity_only() {
        let s = sealer();
        let sealed = s.seal(SealKind::User, "alice", "alicesecret").unwrap();
        let opened = s.open(SealKind::User, "alice", &sealed).unwrap();
        assert_eq!(opened.expose(), "alicesecret");
        assert!(s.open(SealKind::User, "bob", &sealed).is_none());
        assert!(s.open(SealKind::ServiceAccount, "alice", &sealed).is_none());
    }

    #[test]
    fn each_seal_has_its_own_nonce() {
        let s = sealer();
        let a = s.seal(SealKind::User, "alice", "alicesecret").unwrap();
        let b = s.seal(SealKind::User, "alice", "alicesecret").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn other_root_credentials_cannot_open() {
        let sealed = sealer()
            .seal(SealKind::User, "alice", "alicesecret")
            .unwrap();
        for (ak, sk) in [("rootuser", "othersecret"), ("otherroot", "rootsecret123")] {
            let other = Sealer::from_root(ak, sk).unwrap();
            assert!(
                other.open(SealKind::User, "alice", &sealed).is_none(),
                "{ak}"
            );
        }
    }

    #[test]
    fn stored_form_round_trips_and_hides_the_secret() {
        let s = sealer();
        let sealed = s.seal(SealKind::User, "alice", "alicesecret").unwrap();
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(json.starts_with("\"v1:"), "{json}");
        assert!(!json.contains("alicesecret"));
        let back: Sealed = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sealed);
        let mut flipped = json.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let tampered: Sealed = serde_json::from_slice(&flipped).unwrap();
        assert!(s.open(SealKind::User, "alice", &tampered).is_none());
        for bad in ["\"v2:00\"", "\"v1:zz\"", "\"v1:0011\""] {
            assert!(serde_json::from_str::<Sealed>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = sealer();
        let secret = Secret::new("alicesecret");
        let sealed = s.seal(SealKind::User, "alice", "alicesecret").unwrap();
        let shown = format!("{secret:?} {sealed:?} {s:?}");
        assert!(!shown.contains("alicesecret"), "{shown}");
        assert!(!shown.contains("rootsecret123"), "{shown}");
    }

    #[test]
    fn secrets_compare_whole() {
        let secret = Secret::new("alicesecret");
        assert!(secret.matches("alicesecret"));
        assert!(!secret.matches("alicesecreT"));
        assert!(!secret.matches("alicesecret1"));
        assert!(!secret.matches(""));
    }
}

//! The wire formats of MinIO's admin API (`/minio/admin/v3/…`), so that `mc admin`,
//! madmin-go and minio-py can manage Strata's users, groups, policies and service accounts.
//! Pure: no I/O, no HTTP, no clock; the server routes, authenticates and stores. Depends on
//! nothing of ours.
//!
//! - [`crypto`]: madmin's encryption of secret bodies (`EncryptData` / `DecryptData`):
//!   salt, cipher id, nonce, then a secure-io/sio-go stream of AES-256-GCM or
//!   ChaCha20-Poly1305 packages keyed by Argon2id (or PBKDF2) of the caller's secret key.

pub mod crypto;

pub use crypto::{decrypt, decrypt_limited, encrypt, is_encrypted, Cipher, CryptoError};

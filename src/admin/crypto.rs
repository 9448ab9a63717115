//! madmin's body encryption (`EncryptData` / `DecryptData` of madmin-go's `encrypt.go`),
//! byte for byte: what `mc`, madmin-go and minio-py send and expect on the calls whose bodies
//! are secret (new users' keys, service accounts, user lists, policy associations).
//!
//! ```text
//! salt (32) | cipher id (1) | nonce (8) | package | package | … | final package
//! ```
//!
//! The packages are a secure-io/sio-go stream (not minio/sio's DARE): each is the AEAD of up
//! to 16 KiB of plaintext followed by its 16-byte tag, with no header of its own.
//! - **Key**: ids 0 and 1, Argon2id (version 0x13, time 1, memory 64 MiB, 4 lanes) of the
//!   password (the caller's secret key) and the salt, 32 bytes; id 2 (madmin's FIPS mode),
//!   PBKDF2-HMAC-SHA256 with 8192 rounds. Ids 0 and 2 seal with AES-256-GCM, id 1 with
//!   ChaCha20-Poly1305.
//! - **Nonce** of package `i` (0-based): the 8 header bytes then `i + 1` as a little-endian
//!   `u32` (sequence 0 is spent on the associated data).
//! - **Associated data** of every package: one flag byte then the 16-byte tag of sealing an
//!   empty message with sequence 0 and no associated data; the flag is `0x00`, and `0x80` on
//!   the final package. So dropping, reordering or cutting packages fails authentication.
//! - Every package but the last holds exactly 16 KiB; the last (final) holds 0 to 16 KiB. A
//!   plaintext of a multiple of 16 KiB ends with a full final package, an empty one is a single
//!   empty final package (a bare tag).
//!
//! A reader finds the packages by length alone (every `16 KiB + 16` bytes, the rest is the
//! final one), as sio-go does. The key derivation costs 64 MiB and tens of milliseconds per
//! call, so [`decrypt_limited`] refuses an oversized or malformed body before deriving a key;
//! how many derivations run at once is the caller's business (madmin serialises them).

use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::ChaCha20Poly1305;
use sha2::Sha256;

/// Bytes of the random salt that starts a body.
pub const SALT_LEN: usize = 32;
/// Bytes of the random nonce prefix after the cipher id.
pub const NONCE_LEN: usize = 8;
/// Salt, cipher id and nonce.
pub const HEADER_LEN: usize = SALT_LEN + 1 + NONCE_LEN;
/// Plaintext bytes of every package but the final one (sio-go's `BufSize`).
pub const PACKAGE_LEN: usize = 16 * 1024;
/// Bytes of each package's authentication tag.
pub const TAG_LEN: usize = 16;
/// What [`decrypt`] accepts: MinIO refuses encrypted IAM bodies over 256 KiB + 128 bytes
/// (`maxEConfigJSONSize`); four times that leaves room without letting a body cost much.
pub const DEFAULT_MAX_LEN: usize = 1 << 20;

/// Bytes of a full (non-final) package on the wire.
const SEALED_PACKAGE_LEN: usize = PACKAGE_LEN + TAG_LEN;
/// Flag byte of the associated data of the final package.
const FINAL_FLAG: u8 = 0x80;
const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
const ARGON2_TIME: u32 = 1;
const ARGON2_LANES: u32 = 4;
const PBKDF2_ROUNDS: u32 = 8192;

/// The key derivation and AEAD named by a body's cipher id byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Cipher {
    /// Id 0: what madmin picks on CPUs with AES instructions, and all minio-py sends.
    Argon2idAesGcm = 0,
    /// Id 1: what madmin picks without AES instructions.
    Argon2idChaCha20Poly1305 = 1,
    /// Id 2: madmin in FIPS mode (PBKDF2 instead of Argon2id).
    Pbkdf2AesGcm = 2,
}

impl Cipher {
    /// The cipher of an id byte, if madmin knows it.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(Self::Argon2idAesGcm),
            1 => Some(Self::Argon2idChaCha20Poly1305),
            2 => Some(Self::Pbkdf2AesGcm),
            _ => None,
        }
    }

    /// The id byte written after the salt.
    pub fn id(self) -> u8 {
        self as u8
    }
}

/// Why a body cannot be decrypted (or, for `Random`, encrypted). Package positions are
/// 0-based. Wrong passwords and flipped bytes both show as [`CryptoError::NotAuthentic`]:
/// the format cannot tell them apart.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Longer than the caller accepts; refused before any key derivation.
    #[error("encrypted body of {len} bytes is over the limit of {max}")]
    TooLarge { len: usize, max: usize },
    /// Shorter than the header, or ending in a piece shorter than a tag.
    #[error("encrypted body is truncated ({len} bytes)")]
    Truncated { len: usize },
    /// The cipher id byte is none of madmin's.
    #[error("unknown cipher id {0} in encrypted body")]
    UnknownCipher(u8),
    /// The package fails authentication at its place: wrong password, altered bytes, or a
    /// stream cut inside a package.
    #[error("encrypted body is not authentic (package {package})")]
    NotAuthentic { package: u32 },
    /// An authentic package of this stream sits at the wrong place: packages reordered,
    /// dropped or repeated.
    #[error("package {package} of the encrypted body was sealed as package {sealed_as}")]
    OutOfOrder { package: u32, sealed_as: u32 },
    /// The stream ends without its final package (cut at a package boundary, or no package at
    /// all, which is what minio-py writes for an empty body).
    #[error("encrypted body ends without its final package")]
    MissingFinal,
    /// The final package is followed by more packages.
    #[error("encrypted body goes on after its final package (package {package})")]
    TrailingData { package: u32 },
    /// The system's random source failed (encryption only).
    #[error("no randomness for the encryption: {0}")]
    Random(String),
    /// The key derivation refused its input (a password over 4 GiB).
    #[error("key derivation failed: {0}")]
    KeyDerivation(String),
}

/// Encrypts `data` as madmin's `EncryptData` does, with a fresh random salt and nonce.
pub fn encrypt(password: &[u8], data: &[u8], cipher: Cipher) -> Result<Vec<u8>, CryptoError> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut salt).map_err(|e| CryptoError::Random(e.to_string()))?;
    getrandom::fill(&mut nonce).map_err(|e| CryptoError::Random(e.to_string()))?;
    encrypt_with(password, data, cipher, &salt, &nonce)
}

/// [`encrypt`] with the salt and nonce given: deterministic, for tests and vectors.
pub(crate) fn encrypt_with(
    password: &[u8],
    data: &[u8],
    cipher: Cipher,
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, CryptoError> {
    // An empty plaintext still gets one (empty, final) package.
    let packages = data.len().div_ceil(PACKAGE_LEN).max(1);
    if u32::try_from(packages).map_or(true, |n| n == u32::MAX) {
        return Err(CryptoError::TooLarge {
            len: data.len(),
            max: (u32::MAX as usize - 1) * PACKAGE_LEN,
        });
    }
    let sealer = Sealer::new(cipher, &derive_key(cipher, password, salt)?);
    let ad = sealer.associated_data(nonce);
    let mut out = Vec::with_capacity(HEADER_LEN + data.len() + packages * TAG_LEN);
    out.extend_from_slice(salt);
    out.push(cipher.id());
    out.extend_from_slice(nonce);
    for index in 0..packages {
        let plain = data
            .get(index * PACKAGE_LEN..data.len().min((index + 1) * PACKAGE_LEN))
            .unwrap_or_default();
        let start = out.len();
        out.extend_from_slice(plain);
        let tag = sealer.seal(
            &package_nonce(nonce, index + 1),
            &with_flag(&ad, index + 1 == packages),
            &mut out[start..],
        )?;
        out.extend_from_slice(&tag);
    }
    Ok(out)
}

/// Decrypts a body as madmin's `DecryptData` does, accepting at most [`DEFAULT_MAX_LEN`]
/// bytes.
pub fn decrypt(password: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    decrypt_limited(password, data, DEFAULT_MAX_LEN)
}

/// Decrypts a body of at most `max_len` bytes. The size and the framing are checked before
/// the key is derived, and the plaintext is never larger than the body: a hostile body costs
/// its own size plus one key derivation.
pub fn decrypt_limited(
    password: &[u8],
    data: &[u8],
    max_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    if data.len() > max_len {
        return Err(CryptoError::TooLarge {
            len: data.len(),
            max: max_len,
        });
    }
    let truncated = CryptoError::Truncated { len: data.len() };
    let (header, body) = data.split_at_checked(HEADER_LEN).ok_or(truncated.clone())?;
    let (salt, rest) = header.split_at(SALT_LEN);
    let cipher = Cipher::from_id(rest[0]).ok_or(CryptoError::UnknownCipher(rest[0]))?;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&rest[1..]);
    if body.is_empty() {
        return Err(CryptoError::MissingFinal);
    }
    let packages = body.len().div_ceil(SEALED_PACKAGE_LEN);
    if body.len() - (packages - 1) * SEALED_PACKAGE_LEN < TAG_LEN {
        return Err(truncated);
    }
    // Room for probing one sequence number past the end (see `diagnose`).
    if u32::try_from(packages).map_or(true, |n| n >= u32::MAX - 1) {
        return Err(CryptoError::TooLarge {
            len: data.len(),
            max: (u32::MAX as usize - 2) * SEALED_PACKAGE_LEN,
        });
    }

    let sealer = Sealer::new(cipher, &derive_key(cipher, password, salt)?);
    let ad = sealer.associated_data(&nonce);
    let mut out = Vec::with_capacity(body.len() - packages * TAG_LEN);
    for (index, package) in body.chunks(SEALED_PACKAGE_LEN).enumerate() {
        let last = index + 1 == packages;
        let (sealed, tag) = package.split_at(package.len() - TAG_LEN);
        let start = out.len();
        out.extend_from_slice(sealed);
        let nonce_i = package_nonce(&nonce, index + 1);
        if !sealer.open(&nonce_i, &with_flag(&ad, last), &mut out[start..], tag) {
            return Err(diagnose(&sealer, &nonce, &ad, package, index, packages));
        }
    }
    Ok(out)
}

/// Whether `data` looks like an encrypted body (madmin's `IsEncrypted`): long enough and a
/// known cipher id after the salt. A hint, not a check.
pub fn is_encrypted(data: &[u8]) -> bool {
    data.len() > SALT_LEN && Cipher::from_id(data[SALT_LEN]).is_some()
}

/// Names why package `index` failed: tries it at the other sequence numbers of the stream
/// (one past the end included) and with the other final flag. At most `2 (packages + 1)`
/// openings of one package, i.e. about twice the body's cost; only paid on failure.
fn diagnose(
    sealer: &Sealer,
    nonce: &[u8; NONCE_LEN],
    ad: &[u8; 1 + TAG_LEN],
    package: &[u8],
    index: usize,
    packages: usize,
) -> CryptoError {
    let position = index as u32; // `packages` fits a u32, checked by the caller.
    let last = index + 1 == packages;
    let full = package.len() == SEALED_PACKAGE_LEN;
    let (sealed, tag) = package.split_at(package.len() - TAG_LEN);
    let mut scratch = Vec::with_capacity(sealed.len());
    for seq in 1..=packages + 1 {
        // Non-final packages are always full.
        for is_final in [false, true] {
            if (!is_final && !full) || (seq == index + 1 && is_final == last) {
                continue;
            }
            scratch.clear();
            scratch.extend_from_slice(sealed);
            let nonce_s = package_nonce(nonce, seq);
            if !sealer.open(&nonce_s, &with_flag(ad, is_final), &mut scratch, tag) {
                continue;
            }
            return match (seq == index + 1, is_final) {
                (true, false) => CryptoError::MissingFinal,
                (true, true) => CryptoError::TrailingData { package: position },
                _ => CryptoError::OutOfOrder {
                    package: position,
                    sealed_as: seq as u32 - 1,
                },
            };
        }
    }
    CryptoError::NotAuthentic { package: position }
}

/// The 32-byte key of a body.
fn derive_key(cipher: Cipher, password: &[u8], salt: &[u8]) -> Result<[u8; 32], CryptoError> {
    let mut key = [0u8; 32];
    match cipher {
        Cipher::Argon2idAesGcm | Cipher::Argon2idChaCha20Poly1305 => {
            let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_TIME, ARGON2_LANES, Some(32))
                .map_err(|e| CryptoError::KeyDerivation(e.to_string()))?;
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(password, salt, &mut key)
                .map_err(|e| CryptoError::KeyDerivation(e.to_string()))?;
        }
        Cipher::Pbkdf2AesGcm => {
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, PBKDF2_ROUNDS, &mut key);
        }
    }
    Ok(key)
}

/// The 12-byte AEAD nonce of sequence number `seq`.
fn package_nonce(nonce: &[u8; NONCE_LEN], seq: usize) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..NONCE_LEN].copy_from_slice(nonce);
    // Callers keep `seq` within u32 (checked package counts).
    out[NONCE_LEN..].copy_from_slice(&(seq as u32).to_le_bytes());
    out
}

/// The associated data with the final flag set or not.
fn with_flag(ad: &[u8; 1 + TAG_LEN], is_final: bool) -> [u8; 1 + TAG_LEN] {
    let mut out = *ad;
    out[0] = if is_final { FINAL_FLAG } else { 0 };
    out
}

/// One of the two AEADs, keyed.
enum Sealer {
    Aes(Box<Aes256Gcm>),
    ChaCha(ChaCha20Poly1305),
}

impl Sealer {
    fn new(cipher: Cipher, key: &[u8; 32]) -> Self {
        match cipher {
            Cipher::Argon2idAesGcm | Cipher::Pbkdf2AesGcm => {
                Self::Aes(Box::new(Aes256Gcm::new(&(*key).into())))
            }
            Cipher::Argon2idChaCha20Poly1305 => Self::ChaCha(ChaCha20Poly1305::new(&(*key).into())),
        }
    }

    /// The stream's associated data (flag byte 0): the tag of an empty message sealed with
    /// sequence number 0.
    fn associated_data(&self, nonce: &[u8; NONCE_LEN]) -> [u8; 1 + TAG_LEN] {
        let mut out = [0u8; 1 + TAG_LEN];
        // Sealing nothing cannot fail (the AEADs fail only on oversized input).
        if let Ok(tag) = self.seal(&package_nonce(nonce, 0), &[], &mut []) {
            out[1..].copy_from_slice(&tag);
        }
        out
    }

    /// Encrypts `buf` in place, returns the tag.
    fn seal(
        &self,
        nonce: &[u8; 12],
        ad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let nonce = (*nonce).into();
        let tag = match self {
            Self::Aes(c) => c.encrypt_inout_detached(&nonce, ad, buf.into()),
            Self::ChaCha(c) => c.encrypt_inout_detached(&nonce, ad, buf.into()),
        }
        .map_err(|_| CryptoError::TooLarge {
            len: buf.len(),
            max: PACKAGE_LEN,
        })?;
        Ok(tag.into())
    }

    /// Decrypts `buf` in place if `tag` authenticates it.
    fn open(&self, nonce: &[u8; 12], ad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        let nonce = (*nonce).into();
        let Ok(tag) = <[u8; TAG_LEN]>::try_from(tag) else {
            return false;
        };
        let tag = tag.into();
        match self {
            Self::Aes(c) => c.decrypt_inout_detached(&nonce, ad, buf.into(), &tag),
            Self::ChaCha(c) => c.decrypt_inout_detached(&nonce, ad, buf.into(), &tag),
        }
        .is_ok()
    }
}

#[cfg(test)]
mod tests;

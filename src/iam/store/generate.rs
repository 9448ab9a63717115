//! Generated credentials, as MinIO generates them (`auth.GenerateCredentials`): an access key
//! of 20 characters from `A-Z0-9`, a secret key of 40 from `A-Za-z0-9+` (MinIO's base64 with
//! `/` made `+`). Each character is drawn uniformly (by rejection, where MinIO takes a byte
//! modulo the alphabet's size). A session token is 64 characters from the secret's alphabet:
//! an opaque bearer value the store looks up (MinIO's is a JWT signed with the root secret).

use super::error::IamError;

const ACCESS_KEY_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+";
pub(crate) const ACCESS_KEY_LEN: usize = 20;
pub(crate) const SECRET_LEN: usize = 40;
pub(crate) const SESSION_TOKEN_LEN: usize = 64;

pub(crate) fn access_key() -> Result<String, IamError> {
    random_string(ACCESS_KEY_ALPHABET, ACCESS_KEY_LEN)
}

pub(crate) fn secret_key() -> Result<String, IamError> {
    random_string(SECRET_ALPHABET, SECRET_LEN)
}

pub(crate) fn session_token() -> Result<String, IamError> {
    random_string(SECRET_ALPHABET, SESSION_TOKEN_LEN)
}

/// `len` characters drawn uniformly from `alphabet` (at most 256 symbols).
fn random_string(alphabet: &[u8], len: usize) -> Result<String, IamError> {
    // The largest multiple of the alphabet's size that fits a byte: bytes at or above it are
    // drawn again, so that every symbol is equally likely.
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|e| IamError::Random(e.to_string()))?;
        for &b in buf.iter().filter(|&&b| usize::from(b) < limit) {
            if out.len() == len {
                break;
            }
            out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_minio_shapes() {
        let ak = access_key().unwrap();
        assert_eq!(ak.len(), 20);
        assert!(
            ak.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            "{ak}"
        );
        let sk = secret_key().unwrap();
        assert_eq!(sk.len(), 40);
        assert!(
            sk.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+'),
            "{sk}"
        );
        assert_eq!(session_token().unwrap().len(), 64);
        assert_ne!(access_key().unwrap(), ak);
        assert_ne!(secret_key().unwrap(), sk);
    }

    #[test]
    fn every_symbol_can_be_drawn() {
        let drawn: std::collections::BTreeSet<char> = (0..40)
            .flat_map(|_| access_key().unwrap().chars().collect::<Vec<_>>())
            .collect();
        assert_eq!(drawn.len(), ACCESS_KEY_ALPHABET.len());
    }
}

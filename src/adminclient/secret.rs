//! Secret keys: never in `Debug` output, and generated when the caller gives none.

use crate::Error;

/// A secret key. `Debug` shows `Secret(***)`; [`Secret::expose`] is the only way to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// Characters of generated secret keys: letters and digits, safe in shells and files.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of generated secret keys (MinIO's maximum, as `mc` generates them).
pub const GENERATED_LEN: usize = 40;

impl Secret {
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A fresh random secret key of [`GENERATED_LEN`] letters and digits (about 238 bits).
    pub fn generate() -> Result<Secret, Error> {
        let mut out = String::with_capacity(GENERATED_LEN);
        let mut buf = [0u8; 64];
        while out.len() < GENERATED_LEN {
            getrandom::fill(&mut buf).map_err(|e| Error::Random(e.to_string()))?;
            // Rejection sampling: only bytes below the largest multiple of the alphabet's size,
            // so that every character is equally likely.
            let limit = 256 - 256 % ALPHABET.len();
            for &b in buf.iter().filter(|&&b| usize::from(b) < limit) {
                if out.len() == GENERATED_LEN {
                    break;
                }
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
        Ok(Secret(out))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let s = Secret::new("hunter2-long-enough");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "hunter2-long-enough");
    }

    #[test]
    fn generated_secrets_are_long_fresh_and_plain() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_ne!(a, b);
        for s in [&a, &b] {
            assert_eq!(s.expose().len(), GENERATED_LEN);
            assert!(s.expose().bytes().all(|c| ALPHABET.contains(&c)), "{}", s.0);
        }
    }
}

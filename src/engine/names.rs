//! Bucket and object names: S3's rules, and the mapping of keys onto directory paths.
//!
//! A key is stored as a directory path, one directory per `/`-separated segment, with the
//! object's metadata file inside the last one. Segments that a filesystem cannot hold as-is
//! (empty, `.`, `..`, too long, or starting with `%`, Strata's reserved prefix) are encoded, so
//! that no key can ever name a path outside its bucket.

use super::EngineError;
use std::path::PathBuf;

pub const MAX_KEY_LEN: usize = 1024;
/// Segments up to this length that need escaping are stored hex-encoded (`%x…`); longer ones
/// as a digest (`%z…`) with the real segment in a `%name` file beside.
const HEX_LIMIT: usize = 100;
/// Verbatim segments longer than this are stored as digests (filesystems allow 255 bytes).
const VERBATIM_LIMIT: usize = 200;
/// Name of the file in a digest directory that holds the real segment.
pub const LONG_NAME_FILE: &str = "%name";

/// S3 bucket naming rules (the "general purpose bucket" rules).
pub fn check_bucket(name: &str) -> Result<(), EngineError> {
    let bad = |why: &str| Err(EngineError::InvalidBucketName(format!("{name:?}: {why}")));
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return bad("only lowercase letters, digits, '.' and '-' are allowed");
    }
    let first_last_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !first_last_ok(name.as_bytes()[0]) || !first_last_ok(name.as_bytes()[name.len() - 1]) {
        return bad("must begin and end with a letter or digit");
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return bad("must not contain '..', '.-' or '-.'");
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return bad("must not be formatted as an IP address");
    }
    // S3's reserved prefixes and suffixes (access points, directory and table buckets, MRAP).
    const PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
    const SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    if PREFIXES.iter().any(|p| name.starts_with(p)) || SUFFIXES.iter().any(|s| name.ends_with(s)) {
        return bad("uses a reserved prefix or suffix");
    }
    Ok(())
}

/// S3 allows any UTF-8 key of 1 to 1024 bytes; NUL would break paths, so it is refused.
pub fn check_key(key: &str) -> Result<(), EngineError> {
    if key.len() > MAX_KEY_LEN {
        return Err(EngineError::KeyTooLong {
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    if key.is_empty() {
        return Err(EngineError::InvalidObjectName(
            "object key must not be empty".into(),
        ));
    }
    if key.contains('\0') {
        return Err(EngineError::InvalidObjectName(
            "object key must not contain NUL".into(),
        ));
    }
    Ok(())
}

/// How one key segment is stored on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Plain(String),
    /// Digest-named: the directory also holds a `%name` file with the segment.
    Long {
        dir: String,
        name: String,
    },
}

impl Segment {
    pub fn dir_name(&self) -> &str {
        match self {
            Segment::Plain(s) => s,
            Segment::Long { dir, .. } => dir,
        }
    }
}

pub fn encode_segment(seg: &str) -> Segment {
    let needs_escape = seg.is_empty() || seg == "." || seg == ".." || seg.starts_with('%');
    if !needs_escape && seg.len() <= VERBATIM_LIMIT {
        return Segment::Plain(seg.to_string());
    }
    if seg.len() <= HEX_LIMIT {
        return Segment::Plain(format!("%x{}", hex(seg.as_bytes())));
    }
    let digest = blake3::hash(seg.as_bytes());
    Segment::Long {
        dir: format!("%z{}", hex(&digest.as_bytes()[..20])),
        name: seg.to_string(),
    }
}

/// Decodes a directory name; `None` for digest names (read `%name`) and reserved entries.
pub fn decode_dir_name(name: &str) -> Option<DirName> {
    match name.strip_prefix('%') {
        None => Some(DirName::Segment(name.to_string())),
        Some(rest) => {
            if let Some(h) = rest.strip_prefix('x') {
                unhex(h)
                    .and_then(|b| String::from_utf8(b).ok())
                    .map(DirName::Segment)
            } else if rest.starts_with('z') {
                Some(DirName::Long)
            } else {
                None
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum DirName {
    Segment(String),
    /// Look in the directory's `%name` file.
    Long,
}

/// The relative directory of an object: one encoded component per key segment.
pub fn key_segments(key: &str) -> Vec<Segment> {
    key.split('/').map(encode_segment).collect()
}

pub fn key_dir(key: &str) -> PathBuf {
    key_segments(key).iter().map(Segment::dir_name).collect()
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The bytes of lower- or upper-case hex `s`, if it is hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Component;

    #[test]
    fn bucket_rules() {
        for ok in ["abc", "my-bucket.1", "a1b", "x".repeat(63).as_str()] {
            assert!(check_bucket(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "ABC",
            "-abc",
            "abc-",
            "a..b",
            "a_b",
            "192.168.1.1",
            "xn--abc",
            "sthree-abc",
            "amzn-s3-demo-abc",
            "abc-s3alias",
            "abc--ol-s3",
            "abc.mrap",
            "abc--x-s3",
            "abc--table-s3",
            "x".repeat(64).as_str(),
            ".strata.sys",
            "a.-b",
        ] {
            assert!(check_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_never_leave_their_directory() {
        let long = "é".repeat(400);
        for key in [
            "../../etc/passwd",
            "a//b",
            "/lead",
            "trail/",
            ".",
            "..",
            "%meta",
            "a/%d1/x",
            long.as_str(),
        ] {
            let dir = key_dir(key);
            assert!(
                dir.components().all(|c| matches!(c, Component::Normal(_))),
                "{key:?} -> {dir:?}"
            );
            for seg in key_segments(key) {
                assert!(seg.dir_name().len() <= 255);
                let decoded = match decode_dir_name(seg.dir_name()).unwrap() {
                    DirName::Segment(s) => s,
                    DirName::Long => match &seg {
                        Segment::Long { name, .. } => name.clone(),
                        Segment::Plain(_) => panic!("plain segment decoded as long"),
                    },
                };
                assert!(key.split('/').any(|s| s == decoded));
            }
        }
    }

    #[test]
    fn reserved_names_do_not_decode_as_segments() {
        assert_eq!(decode_dir_name("%meta"), None);
        assert_eq!(decode_dir_name("%d0123"), None);
        assert_eq!(
            decode_dir_name("photos"),
            Some(DirName::Segment("photos".into()))
        );
    }

    #[test]
    fn key_length_limits() {
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(1024)).is_ok());
        assert!(check_key(&"k".repeat(1025)).is_err());
        assert!(check_key("a\0b").is_err());
    }
}

//! A POST upload's policy, checked as S3 checks it before s3s does: s3s answers a failed
//! condition with 400 InvalidPolicyDocument (S3: 403 AccessDenied) and takes any RFC 3339 date
//! as the expiration (S3: ISO 8601, `2030-01-01T00:00:00Z`).

use s3s::dto::{Timestamp, TimestampFormat};
use s3s::post_policy::{PostPolicy, PostPolicyCondition};
use s3s::S3ErrorCode;

/// A refusal decided here, answered once s3s has checked the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: S3ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: S3ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// Checks the policy (base64 JSON) against the form's fields (names lower case) and the
/// bucket of the URL. A policy that does not parse is left to s3s, which refuses it.
pub fn check(policy_b64: &str, fields: &[(String, String)], bucket: &str) -> Result<(), Refusal> {
    let Ok(json) = base64_simd::STANDARD.decode_to_vec(policy_b64.trim()) else {
        return Ok(());
    };
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&json) else {
        return Ok(());
    };
    if let Some(expiration) = doc.get("expiration").and_then(|e| e.as_str()) {
        if !iso8601(expiration) {
            return Err(Refusal::new(
                S3ErrorCode::InvalidPolicyDocument,
                format!("Invalid Policy: Invalid 'expiration' value: '{expiration}'"),
            ));
        }
    }
    let Ok(policy) = std::str::from_utf8(&json).map(PostPolicy::from_json) else {
        return Ok(());
    };
    let Ok(policy) = policy else { return Ok(()) };
    for c in &policy.conditions {
        if !holds(c, fields, bucket) {
            return Err(Refusal::new(
                S3ErrorCode::AccessDenied,
                format!(
                    "Invalid according to Policy: Policy Condition failed: {}",
                    show(c)
                ),
            ));
        }
    }
    Ok(())
}

/// Whether the policy names a field in a condition (such a field stays in the form for s3s).
pub fn covers(policy_b64: &str, field: &str) -> bool {
    let Ok(policy) = PostPolicy::from_base64(policy_b64.trim()) else {
        return false;
    };
    policy.conditions.iter().any(|c| match c {
        PostPolicyCondition::Eq { field: f, .. }
        | PostPolicyCondition::StartsWith { field: f, .. } => f.eq_ignore_ascii_case(field),
        PostPolicyCondition::ContentLengthRange { .. } => false,
    })
}

/// `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`: ISO 8601 as S3 takes it (no space for the `T`, no
/// lower case), and a real date.
fn iso8601(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let mut rest = &s[19.min(s.len())..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    let zone = rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':'
            && rest[1..3]
                .bytes()
                .chain(rest[4..].bytes())
                .all(|d| d.is_ascii_digit()));
    shape && zone && Timestamp::parse(TimestampFormat::DateTime, s).is_ok()
}

/// A condition against the form (`bucket` is the URL's; a missing field is empty, as s3s has
/// it). The content length is s3s's to check, once it has read the file.
fn holds(c: &PostPolicyCondition, fields: &[(String, String)], bucket: &str) -> bool {
    let value = |name: &str| -> String {
        if name == "bucket" {
            return bucket.to_string();
        }
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    match c {
        PostPolicyCondition::Eq { field, value: want } => value(field) == *want,
        PostPolicyCondition::StartsWith { field, prefix } => {
            value(field).starts_with(prefix.as_str())
        }
        PostPolicyCondition::ContentLengthRange { .. } => true,
    }
}

/// A condition as S3 quotes it in its message.
fn show(c: &PostPolicyCondition) -> String {
    match c {
        PostPolicyCondition::Eq { field, value } => format!("[\"eq\", \"${field}\", \"{value}\"]"),
        PostPolicyCondition::StartsWith { field, prefix } => {
            format!("[\"starts-with\", \"${field}\", \"{prefix}\"]")
        }
        PostPolicyCondition::ContentLengthRange { min, max } => {
            format!("[\"content-length-range\", {min}, {max}]")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        base64_simd::STANDARD.encode_to_string(json)
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const EXP: &str = "2030-01-01T00:00:00.000Z";

    #[test]
    fn failed_conditions_are_access_denied() {
        let p = b64(&format!(
            r#"{{"expiration":"{EXP}","conditions":[{{"bucket":"b1"}},["starts-with","$key","up/"],["eq","$Content-Type","text/plain"]]}}"#
        ));
        let ok = fields(&[("key", "up/a"), ("content-type", "text/plain")]);
        assert_eq!(check(&p, &ok, "b1"), Ok(()));
        let bad_key = fields(&[("key", "down/a"), ("content-type", "text/plain")]);
        let e = check(&p, &bad_key, "b1").unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AccessDenied);
        assert!(
            e.message.contains(r#"["starts-with", "$key", "up/"]"#),
            "{}",
            e.message
        );
        assert_eq!(
            check(&p, &ok, "other").unwrap_err().code,
            S3ErrorCode::AccessDenied
        );
        assert!(
            covers(&p, "key") && covers(&p, "content-type") && !covers(&p, "x-amz-checksum-crc32")
        );
    }

    #[test]
    fn the_expiration_is_iso_8601() {
        for good in [
            EXP,
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00+02:00",
            "2030-06-30T23:59:59.5Z",
        ] {
            assert!(iso8601(good), "{good}");
        }
        for bad in [
            "2030-01-01 00:00:00Z",
            "2030-01-01t00:00:00z",
            "2030-01-01T00:00:00",
            "2030-13-01T00:00:00Z",
            "Tue, 01 Jan 2030 00:00:00 GMT",
            "1893456000",
            "2030-01-01T00:00:00.Z",
        ] {
            assert!(!iso8601(bad), "{bad}");
        }
        let p = b64(r#"{"expiration":"2030-01-01 00:00:00Z","conditions":[]}"#);
        assert_eq!(
            check(&p, &[], "b").unwrap_err().code,
            S3ErrorCode::InvalidPolicyDocument
        );
        // Not a policy at all: s3s's to refuse.
        assert_eq!(check("%%%", &[], "b"), Ok(()));
    }
}

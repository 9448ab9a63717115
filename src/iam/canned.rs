//! MinIO's built-in ("canned") policies, which exist on every deployment and can be attached
//! by name: the statements `minio/pkg`'s `policy.DefaultPolicies` ships for them.
//!
//! Kept as JSON, the form `mc admin policy info` shows, and parsed on demand: the text is the
//! reference a reader compares with MinIO's. Left out: `consoleAdmin`'s `s3tables:*`
//! statement (Strata has no S3 Tables), and MinIO's newer canned policies (`consolereadonly`,
//! `iamAdmin`, `infraAdmin`, …).

use crate::document::Policy;

/// `readwrite`: every S3 action on every bucket and object.
const READWRITE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}
  ]
}"#;

/// `readonly`: read an object one knows the name of (no listing). The Deny keeps such a user
/// from creating access keys for itself: MinIO checks `admin:CreateUser` (deny only) then.
const READONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:GetObject"], "Resource": ["arn:aws:s3:::*"]},
    {"Effect": "Deny", "Action": ["admin:CreateUser"], "Resource": ["arn:aws:s3:::*"]}
  ]
}"#;

/// `writeonly`: write objects, nothing else.
const WRITEONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::*"]}
  ]
}"#;

/// `diagnostics`: the admin API's diagnostic calls (profiles, traces, logs, server and health
/// information, locks, bandwidth, metrics).
const DIAGNOSTICS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "admin:Profiling",
        "admin:ServerTrace",
        "admin:ConsoleLog",
        "admin:ServerInfo",
        "admin:TopLocksInfo",
        "admin:OBDInfo",
        "admin:BandwidthMonitor",
        "admin:Prometheus"
      ],
      "Resource": ["arn:aws:s3:::*"]
    }
  ]
}"#;

/// `consoleAdmin`: everything: admin, KMS and S3.
const CONSOLE_ADMIN: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["admin:*"]},
    {"Effect": "Allow", "Action": ["kms:*"]},
    {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}
  ]
}"#;

/// The canned policies' names and documents.
pub const CANNED: [(&str, &str); 5] = [
    ("readwrite", READWRITE),
    ("readonly", READONLY),
    ("writeonly", WRITEONLY),
    ("diagnostics", DIAGNOSTICS),
    ("consoleAdmin", CONSOLE_ADMIN),
];

/// The canned policy called `name` (case-sensitive, as MinIO's names are).
pub fn canned(name: &str) -> Option<Policy> {
    let (_, json) = CANNED.iter().find(|(n, _)| *n == name)?;
    // The documents above parse: `all_canned_policies_parse` checks it.
    Policy::parse_identity(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::Decision;
    use crate::request::{Context, Principal, Request};

    fn decide(policy: &str, action: &str, resource: Option<&str>) -> Decision {
        let policy = canned(policy).unwrap_or_else(|| panic!("{policy} exists"));
        let who = Principal::named(["alice"]);
        let cx = Context::new();
        policy.evaluate(&Request {
            action,
            resource,
            principal: &who,
            context: &cx,
        })
    }

    #[test]
    fn all_canned_policies_parse() {
        for (name, json) in CANNED {
            Policy::parse_identity(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(canned(name).is_some(), "{name}");
        }
        assert!(canned("ReadWrite").is_none());
        assert!(canned("nosuch").is_none());
    }

    #[test]
    fn canned_policies_grant_what_minio_grants() {
        use Decision::{Allow, ExplicitDeny as Deny, ImplicitDeny as No};
        let obj = Some("arn:aws:s3:::photos/2024/a.jpg");
        let bucket = Some("arn:aws:s3:::photos");
        let cases: &[(&str, &str, Option<&str>, Decision)] = &[
            ("readwrite", "s3:GetObject", obj, Allow),
            ("readwrite", "s3:DeleteBucket", bucket, Allow),
            ("readwrite", "admin:ServerInfo", None, No),
            ("readonly", "s3:GetObject", obj, Allow),
            ("readonly", "s3:GetBucketLocation", bucket, Allow),
            ("readonly", "s3:ListBucket", bucket, No),
            ("readonly", "s3:PutObject", obj, No),
            ("readonly", "admin:CreateUser", None, Deny),
            ("writeonly", "s3:PutObject", obj, Allow),
            ("writeonly", "s3:GetObject", obj, No),
            ("diagnostics", "admin:ServerTrace", None, Allow),
            ("diagnostics", "admin:Prometheus", None, Allow),
            ("diagnostics", "admin:CreateUser", None, No),
            ("diagnostics", "s3:GetObject", obj, No),
            ("consoleAdmin", "admin:CreateUser", None, Allow),
            ("consoleAdmin", "kms:CreateKey", None, Allow),
            ("consoleAdmin", "s3:PutObject", obj, Allow),
            ("consoleAdmin", "sts:AssumeRole", None, No),
        ];
        for (policy, action, resource, want) in cases {
            assert_eq!(
                decide(policy, action, *resource),
                *want,
                "{policy}: {action} on {resource:?}"
            );
        }
    }
}

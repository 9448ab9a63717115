//! Whether a bucket policy makes its bucket public (GetBucketPolicyStatus, and what
//! PublicAccessBlock's `BlockPublicPolicy`/`RestrictPublicBuckets` look at).
//!
//! AWS's rule, simplified as S3 documents it: a policy is public when one of its Allow
//! statements grants to everyone (`"*"`, `{"AWS": "*"}` or a `NotPrincipal`) without a
//! condition that pins the caller to fixed values of a key that names who or where they are
//! (`aws:SourceIp`, `aws:SourceVpc`, `aws:PrincipalAccount`, …).

use crate::document::{Policy, PrincipalSpec};
use crate::Effect;

/// Condition keys that make a grant to everyone non-public (lower-cased).
const RESTRICTING_KEYS: [&str; 9] = [
    "aws:sourceip",
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:userid",
];

impl Policy {
    /// Whether the policy grants anything to everyone, anonymous callers included.
    pub fn is_public(&self) -> bool {
        self.statements.iter().any(|s| {
            let everyone = s.principal.as_ref().is_some_and(|p| {
                p.negated
                    || match &p.spec {
                        PrincipalSpec::Everyone => true,
                        PrincipalSpec::Typed(kinds) => kinds
                            .iter()
                            .any(|(kind, names)| kind == "AWS" && names.iter().any(|n| n == "*")),
                    }
            });
            let restricted = s.conditions.iter().any(|c| {
                !c.operator().operator.is_negated()
                    && RESTRICTING_KEYS.contains(&c.key().to_ascii_lowercase().as_str())
            });
            s.effect == Effect::Allow && everyone && !restricted
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;

    fn public(doc: &str) -> bool {
        Policy::parse_bucket(doc, "b").unwrap().is_public()
    }

    #[test]
    fn grants_to_everyone_are_public_unless_pinned_to_a_source() {
        let stmt = |principal: &str, effect: &str, cond: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Principal":{principal},
                "Action":"s3:GetObject","Resource":"arn:aws:s3:::b/public/*"{cond}}}]}}"#
            )
        };
        assert!(public(&stmt(r#""*""#, "Allow", "")));
        assert!(public(&stmt(r#"{"AWS":"*"}"#, "Allow", "")));
        assert!(public(&stmt(r#"{"AWS":["alice","*"]}"#, "Allow", "")));
        assert!(!public(&stmt(r#"{"AWS":"alice"}"#, "Allow", "")));
        assert!(!public(&stmt(r#""*""#, "Deny", "")));
        let ip = r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#;
        assert!(!public(&stmt(r#""*""#, "Allow", ip)));
        let agent = r#","Condition":{"StringLike":{"aws:UserAgent":"curl*"}}"#;
        assert!(public(&stmt(r#""*""#, "Allow", agent)));
    }
}

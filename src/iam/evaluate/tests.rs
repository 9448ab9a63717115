//! Evaluation: precedence, matching, principals, sessions, and documents in the spirit of
//! AWS's and MinIO's documentation examples.

use super::*;
use crate::request::{Context, Principal};
use Decision::{Allow, ExplicitDeny as Deny, ImplicitDeny as No};

fn policy(json: &str) -> Policy {
    Policy::parse(json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

fn alice() -> Principal {
    Principal::named(["alice", "arn:aws:iam:::user/alice"])
}

/// One request: action, resource, principal, context.
struct Ask<'a> {
    action: &'a str,
    resource: Option<&'a str>,
    who: Principal,
    cx: Context,
}

fn ask<'a>(action: &'a str, resource: &'a str) -> Ask<'a> {
    Ask {
        action,
        resource: Some(resource),
        who: alice(),
        cx: Context::new().with("aws:username", "alice"),
    }
}

impl<'a> Ask<'a> {
    fn by(mut self, who: Principal) -> Self {
        self.who = who;
        self
    }

    fn anonymous(self) -> Self {
        Ask {
            cx: Context::new(),
            ..self.by(Principal::Anonymous)
        }
    }

    fn with(mut self, key: &str, value: &str) -> Self {
        self.cx.set(key, value);
        self
    }

    fn without(mut self, key: &str) -> Self {
        self.cx.set_all(key, Vec::<String>::new());
        self
    }

    fn on_nothing(mut self) -> Self {
        self.resource = None;
        self
    }

    fn request(&self) -> Request<'_> {
        Request {
            action: self.action,
            resource: self.resource,
            principal: &self.who,
            context: &self.cx,
        }
    }
}

/// Checks each request against one policy.
fn check(policy: &Policy, cases: Vec<(Ask, Decision)>) {
    for (ask, want) in cases {
        assert_eq!(
            policy.evaluate(&ask.request()),
            want,
            "{} on {:?} by {:?} with {:?}",
            ask.action,
            ask.resource,
            ask.who,
            ask.cx
        );
    }
}

/// Checks each request against a policy set.
fn check_set(set: &PolicySet, cases: Vec<(Ask, Decision)>) {
    for (ask, want) in cases {
        assert_eq!(
            set.is_allowed(&ask.request()),
            want,
            "{} on {:?} by {:?}",
            ask.action,
            ask.resource,
            ask.who
        );
    }
}

const OBJ: &str = "arn:aws:s3:::b/key";

#[test]
fn explicit_deny_wins_over_allow() {
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/keep/*"}
        ]}"#,
    );
    check(
        &p,
        vec![
            (ask("s3:GetObject", "arn:aws:s3:::b/keep/x"), Allow),
            (ask("s3:DeleteObject", "arn:aws:s3:::b/other"), Allow),
            (ask("s3:DeleteObject", "arn:aws:s3:::b/keep/x"), Deny),
            (ask("s3:GetObject", "arn:aws:s3:::c/x"), No),
        ],
    );
    // The order of statements does not matter.
    let reversed = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/keep/*"},
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}
        ]}"#,
    );
    check(
        &reversed,
        vec![(ask("s3:DeleteObject", "arn:aws:s3:::b/keep/x"), Deny)],
    );
}

#[test]
fn nothing_allowed_is_denied_by_default() {
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}"#,
    );
    check(
        &p,
        vec![
            (ask("s3:PutObject", OBJ), No),
            (ask("s3:GetObject", "arn:aws:s3:::b"), No),
            (ask("admin:ServerInfo", OBJ).on_nothing(), No),
        ],
    );
    let none = PolicySet::new();
    check_set(&none, vec![(ask("s3:GetObject", OBJ), No)]);
}

#[test]
fn action_wildcards_and_case() {
    let cases: &[(&str, &str, Decision)] = &[
        ("s3:Get*", "s3:GetObject", Allow),
        ("s3:Get*", "s3:GetObjectTagging", Allow),
        ("s3:Get*", "s3:PutObject", No),
        ("s3:*Object", "s3:DeleteObject", Allow),
        ("s3:*Object", "s3:DeleteObjectTagging", No),
        ("s3:?etObject", "s3:GetObject", Allow),
        ("s3:?etObject", "s3:SetObject", Allow),
        ("s3:?etObject", "s3:PutObject", No),
        ("*", "s3:PutObject", Allow),
        ("*", "admin:ServerInfo", Allow),
        ("s3:*", "admin:ServerInfo", No),
        ("S3:getobject", "s3:GetObject", Allow),
        ("s3:GetObject", "S3:GETOBJECT", Allow),
        ("s3:GetObject", "s3:GetObjectVersion", No),
    ];
    for (listed, action, want) in cases {
        let p = policy(&format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "{listed}", "Resource": "*"}}}}"#
        ));
        assert_eq!(
            p.evaluate(&ask(action, OBJ).request()),
            *want,
            "{listed} ∋ {action}"
        );
    }
}

#[test]
fn resource_wildcards() {
    let cases: &[(&str, &str, Decision)] = &[
        ("arn:aws:s3:::b", "arn:aws:s3:::b", Allow),
        ("arn:aws:s3:::b", "arn:aws:s3:::b/key", No),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b", No),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", Allow),
        ("arn:aws:s3:::b*", "arn:aws:s3:::b", Allow),
        ("arn:aws:s3:::b*", "arn:aws:s3:::backup/x", Allow),
        ("arn:aws:s3:::*", "arn:aws:s3:::any/thing", Allow),
        ("*", "arn:aws:s3:::any", Allow),
        ("arn:aws:s3:::logs-??/*", "arn:aws:s3:::logs-01/x", Allow),
        ("arn:aws:s3:::logs-??/*", "arn:aws:s3:::logs-1/x", No),
        ("arn:aws:s3:::b/*.jpg", "arn:aws:s3:::b/a/photo.jpg", Allow),
        ("arn:aws:s3:::b/*.jpg", "arn:aws:s3:::b/a/photo.png", No),
        // Resources are case-sensitive (keys are).
        ("arn:aws:s3:::b/Key", "arn:aws:s3:::b/key", No),
    ];
    for (listed, resource, want) in cases {
        let p = policy(&format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "s3:*", "Resource": "{listed}"}}}}"#
        ));
        assert_eq!(
            p.evaluate(&ask("s3:GetObject", resource).request()),
            *want,
            "{listed} ∋ {resource}"
        );
    }
}

#[test]
fn not_action_and_not_resource() {
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotAction": ["s3:DeleteObject", "s3:DeleteBucket"], "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": ["arn:aws:s3:::b/public/*", "arn:aws:s3:::b/shared/*"]}
        ]}"#,
    );
    check(
        &p,
        vec![
            (ask("s3:PutObject", "arn:aws:s3:::b/x"), Allow),
            (ask("s3:DeleteObject", "arn:aws:s3:::b/x"), No),
            (ask("s3:DeleteBucket", "arn:aws:s3:::b"), No),
            (ask("s3:GetObject", "arn:aws:s3:::b/public/x"), Allow),
            (ask("s3:GetObject", "arn:aws:s3:::b/shared/x"), Allow),
            (ask("s3:GetObject", "arn:aws:s3:::b/private/x"), Deny),
            // NotAction covers actions outside S3 as well.
            (
                ask("admin:ServerInfo", "arn:aws:s3:::b").on_nothing(),
                Allow,
            ),
        ],
    );
}

#[test]
fn requests_on_no_resource_ignore_resource_elements() {
    // MinIO's admin statements: the admin API's calls are on no resource.
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "admin:*"},
            {"Effect": "Deny", "Action": "admin:CreateUser", "Resource": "arn:aws:s3:::b"}
        ]}"#,
    );
    check(
        &p,
        vec![
            (ask("admin:ServerInfo", OBJ).on_nothing(), Allow),
            (ask("admin:ServerInfo", OBJ), Allow),
            (ask("admin:CreateUser", OBJ).on_nothing(), Deny),
            (ask("admin:CreateUser", "arn:aws:s3:::other"), Allow),
        ],
    );
}

#[test]
fn home_folder_with_username_variable() {
    // The AWS and MinIO example: each user lists and uses only home/<their name>/.
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "ListOwnHome", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": "arn:aws:s3:::team",
             "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}}},
            {"Sid": "UseOwnHome", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": "arn:aws:s3:::team/home/${aws:username}/*"}
        ]}"#,
    );
    let bucket = "arn:aws:s3:::team";
    let bob = || Principal::named(["bob"]);
    check(
        &p,
        vec![
            (
                ask("s3:ListBucket", bucket).with("s3:prefix", "home/alice/"),
                Allow,
            ),
            (
                ask("s3:ListBucket", bucket).with("s3:prefix", "home/alice/docs/"),
                Allow,
            ),
            (ask("s3:ListBucket", bucket).with("s3:prefix", ""), Allow),
            (
                ask("s3:ListBucket", bucket).with("s3:prefix", "home/bob/"),
                No,
            ),
            (ask("s3:ListBucket", bucket), No),
            (
                ask("s3:GetObject", "arn:aws:s3:::team/home/alice/a.txt"),
                Allow,
            ),
            (
                ask("s3:PutObject", "arn:aws:s3:::team/home/alice/d/b.txt"),
                Allow,
            ),
            (ask("s3:GetObject", "arn:aws:s3:::team/home/bob/a.txt"), No),
            (
                ask("s3:GetObject", "arn:aws:s3:::team/home/bob/a.txt")
                    .by(bob())
                    .with("aws:username", "bob"),
                Allow,
            ),
            // Without a user name the variable has no value: nothing matches.
            (
                ask("s3:GetObject", "arn:aws:s3:::team/home//a.txt").without("aws:username"),
                No,
            ),
            // A substituted name is literal: `*` in it is no wildcard.
            (
                ask("s3:GetObject", "arn:aws:s3:::team/home/anyone/a.txt")
                    .with("aws:username", "*"),
                No,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::team/home/*/a.txt").with("aws:username", "*"),
                Allow,
            ),
        ],
    );
}

#[test]
fn legacy_version_reads_variables_literally() {
    let p = policy(
        r#"{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/${aws:username}/*"}}"#,
    );
    check(
        &p,
        vec![
            (ask("s3:GetObject", "arn:aws:s3:::b/alice/x"), No),
            (
                ask("s3:GetObject", "arn:aws:s3:::b/${aws:username}/x"),
                Allow,
            ),
        ],
    );
}

#[test]
fn escapes_and_other_variables_in_resources() {
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject",
            "Resource": ["arn:aws:s3:::b/${aws:userid}/${*}${?}${$}", "arn:aws:s3:::b/by-type/${aws:principaltype, 'Anonymous'}/*"]}}"#,
    );
    check(
        &p,
        vec![
            (
                ask("s3:GetObject", "arn:aws:s3:::b/AID42/*?$").with("aws:userid", "AID42"),
                Allow,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::b/AID42/ab$").with("aws:userid", "AID42"),
                No,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::b/by-type/User/x")
                    .with("aws:principaltype", "User"),
                Allow,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::b/by-type/Anonymous/x"),
                Allow,
            ),
            (ask("s3:GetObject", "arn:aws:s3:::b/by-type/User/x"), No),
        ],
    );
}

#[test]
fn bucket_policy_principals() {
    let public = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/public/*"}}"#,
    );
    check(
        &public,
        vec![
            (
                ask("s3:GetObject", "arn:aws:s3:::site/public/index.html").anonymous(),
                Allow,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::site/public/index.html"),
                Allow,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::site/private/x").anonymous(),
                No,
            ),
            (
                ask("s3:PutObject", "arn:aws:s3:::site/public/x").anonymous(),
                No,
            ),
        ],
    );
    let aws_star = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": ["*"]},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"}}"#,
    );
    check(
        &aws_star,
        vec![(
            ask("s3:GetObject", "arn:aws:s3:::site/x").anonymous(),
            Allow,
        )],
    );
    let named = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam:::user/alice"}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Principal": {"Service": "*"}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}
        ]}"#,
    );
    check(
        &named,
        vec![
            (ask("s3:PutObject", OBJ), Allow),
            (ask("s3:PutObject", OBJ).by(Principal::named(["bob"])), No),
            (ask("s3:PutObject", OBJ).by(Principal::named(["Alice"])), No),
            (ask("s3:PutObject", OBJ).anonymous(), No),
        ],
    );
    let everyone_but_alice = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": ["alice"]}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret/*"}
        ]}"#,
    );
    check(
        &everyone_but_alice,
        vec![
            (ask("s3:GetObject", "arn:aws:s3:::b/secret/x"), Allow),
            (
                ask("s3:GetObject", "arn:aws:s3:::b/secret/x").by(Principal::named(["bob"])),
                Deny,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::b/secret/x").anonymous(),
                Deny,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::b/open/x").anonymous(),
                Allow,
            ),
        ],
    );
}

#[test]
fn deny_unless_secure_transport() {
    let bucket = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Sid": "TLSOnly", "Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}}"#,
    );
    let identity = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#,
    );
    let set = PolicySet::new().identity(&identity).bucket(&bucket);
    check_set(
        &set,
        vec![
            (
                ask("s3:GetObject", OBJ).with("aws:SecureTransport", "true"),
                Allow,
            ),
            (
                ask("s3:GetObject", OBJ).with("aws:SecureTransport", "false"),
                Deny,
            ),
            (
                ask("s3:ListBucket", "arn:aws:s3:::b").with("aws:SecureTransport", "false"),
                Deny,
            ),
            (
                ask("s3:GetObject", "arn:aws:s3:::c/x").with("aws:SecureTransport", "false"),
                Allow,
            ),
        ],
    );
}

#[test]
fn deny_outside_an_ip_range() {
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
             "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}}}
        ]}"#,
    );
    check(
        &p,
        vec![
            (
                ask("s3:GetObject", OBJ).with("aws:SourceIp", "192.0.2.77"),
                Allow,
            ),
            (
                ask("s3:GetObject", OBJ).with("aws:SourceIp", "2001:db8::9"),
                Allow,
            ),
            (
                ask("s3:GetObject", OBJ).with("aws:SourceIp", "198.51.100.1"),
                Deny,
            ),
            // No source address: a negated operator holds, so the Deny applies.
            (ask("s3:GetObject", OBJ), Deny),
        ],
    );
    let allow_in_range = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}}"#,
    );
    check(
        &allow_in_range,
        vec![
            (
                ask("s3:GetObject", OBJ).with("aws:SourceIp", "192.0.2.1"),
                Allow,
            ),
            (
                ask("s3:GetObject", OBJ).with("aws:SourceIp", "192.0.3.1"),
                No,
            ),
            (ask("s3:GetObject", OBJ), No),
        ],
    );
}

#[test]
fn conditions_combine_with_and_across_keys_and_operators() {
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
            "Condition": {"StringEquals": {"s3:prefix": ["docs/", "pics/"], "s3:delimiter": "/"},
                          "NumericLessThanEquals": {"s3:max-keys": "100"}}}}"#,
    );
    let list = || ask("s3:ListBucket", "arn:aws:s3:::b");
    check(
        &p,
        vec![
            (
                list()
                    .with("s3:prefix", "pics/")
                    .with("s3:delimiter", "/")
                    .with("s3:max-keys", "100"),
                Allow,
            ),
            (
                list()
                    .with("s3:prefix", "pics/")
                    .with("s3:delimiter", "/")
                    .with("s3:max-keys", "1000"),
                No,
            ),
            (
                list().with("s3:prefix", "pics/").with("s3:max-keys", "10"),
                No,
            ),
            (
                list()
                    .with("s3:prefix", "music/")
                    .with("s3:delimiter", "/")
                    .with("s3:max-keys", "10"),
                No,
            ),
        ],
    );
}

#[test]
fn object_tag_conditions() {
    // MinIO's tag-based access: read only objects tagged for the reader's team.
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
             "Condition": {"StringEquals": {"s3:ExistingObjectTag/team": "blue"}}},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
             "Condition": {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["team", "project"]},
                           "Null": {"s3:RequestObjectTagKeys": "false"}}}
        ]}"#,
    );
    let mut two_tags = ask("s3:PutObject", OBJ);
    two_tags
        .cx
        .set_all("s3:RequestObjectTagKeys", ["team", "project"]);
    let mut odd_tag = ask("s3:PutObject", OBJ);
    odd_tag
        .cx
        .set_all("s3:RequestObjectTagKeys", ["team", "cost"]);
    check(
        &p,
        vec![
            (
                ask("s3:GetObject", OBJ).with("s3:ExistingObjectTag/team", "blue"),
                Allow,
            ),
            (
                ask("s3:GetObject", OBJ).with("s3:ExistingObjectTag/team", "red"),
                No,
            ),
            (ask("s3:GetObject", OBJ), No),
            (two_tags, Allow),
            (odd_tag, No),
            // ForAllValues alone would pass an absent key; the Null condition closes that.
            (ask("s3:PutObject", OBJ), No),
        ],
    );
}

#[test]
fn time_window() {
    let p = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"},
                          "DateLessThan": {"aws:CurrentTime": "2024-12-31T23:59:59Z"}}}}"#,
    );
    check(
        &p,
        vec![
            (
                ask("s3:GetObject", OBJ).with("aws:CurrentTime", "2024-06-30T12:00:00Z"),
                Allow,
            ),
            (
                ask("s3:GetObject", OBJ).with("aws:CurrentTime", "2025-01-01T00:00:00Z"),
                No,
            ),
            (
                ask("s3:GetObject", OBJ).with("aws:CurrentTime", "2023-12-31T23:59:59Z"),
                No,
            ),
            (ask("s3:GetObject", OBJ), No),
        ],
    );
}

#[test]
fn identity_and_bucket_policies_add_up_and_any_deny_wins() {
    let identity = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::mine/*"}}"#,
    );
    let group = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::mine/*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::mine/locked/*"}
        ]}"#,
    );
    let bucket = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "alice"}, "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::mine/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::mine/ro/*"}
        ]}"#,
    );
    let set = PolicySet::new()
        .identity(&identity)
        .identity(&group)
        .bucket(&bucket);
    check_set(
        &set,
        vec![
            (ask("s3:GetObject", "arn:aws:s3:::mine/x"), Allow),
            (ask("s3:PutObject", "arn:aws:s3:::mine/x"), Allow),
            (ask("s3:DeleteObject", "arn:aws:s3:::mine/x"), Allow),
            (
                ask("s3:DeleteObject", "arn:aws:s3:::mine/x").by(Principal::named(["bob"])),
                No,
            ),
            (ask("s3:GetObject", "arn:aws:s3:::mine/locked/x"), Deny),
            (ask("s3:PutObject", "arn:aws:s3:::mine/ro/x"), Deny),
            (ask("s3:ListBucket", "arn:aws:s3:::mine"), No),
        ],
    );
    // The anonymous have no identity policies: only the bucket policy can grant.
    let anonymous_set = PolicySet::new().bucket(&bucket);
    check_set(
        &anonymous_set,
        vec![(
            ask("s3:DeleteObject", "arn:aws:s3:::mine/x").anonymous(),
            No,
        )],
    );
}

#[test]
fn a_session_policy_narrows_to_the_intersection() {
    let parent = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*"}}"#,
    );
    let session = policy(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "admin:*"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret/*"}
        ]}"#,
    );
    let bucket = policy(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}}"#,
    );
    let set = PolicySet::new()
        .identity(&parent)
        .bucket(&bucket)
        .session(&session);
    check_set(
        &set,
        vec![
            // Both allow.
            (ask("s3:GetObject", "arn:aws:s3:::b/x"), Allow),
            // The parent allows, the session does not.
            (ask("s3:DeleteObject", "arn:aws:s3:::b/x"), No),
            (ask("s3:GetObject", "arn:aws:s3:::c/x"), No),
            // The session allows what the parent does not: nothing gained.
            (ask("admin:ServerInfo", "arn:aws:s3:::b/x"), No),
            // The bucket policy's grant is narrowed too.
            (ask("s3:PutObject", "arn:aws:s3:::b/x"), No),
            // A session Deny is a Deny.
            (ask("s3:GetObject", "arn:aws:s3:::b/secret/x"), Deny),
        ],
    );
    let unrestricted = PolicySet::new().identity(&parent).bucket(&bucket);
    check_set(
        &unrestricted,
        vec![
            (ask("s3:DeleteObject", "arn:aws:s3:::b/x"), Allow),
            (ask("s3:GetObject", "arn:aws:s3:::b/secret/x"), Allow),
        ],
    );
}

#[test]
fn decisions_say_whether_allowed() {
    assert!(Allow.is_allowed());
    assert!(!Deny.is_allowed());
    assert!(!No.is_allowed());
}

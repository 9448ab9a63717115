use super::*;
use crate::evaluate::Decision;
use crate::request::{keys, Context};

const OBJ: &str = "arn:aws:s3:::photos/2024/a.jpg";

/// Whether `key` may do `action` on `resource`, with no bucket policy.
fn can(f: &Fixture, key: &str, action: &str, resource: &str) -> bool {
    let id = f
        .iam
        .identity(key, NOW)
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    id.is_allowed(action, Some(resource), &Context::new(), None)
}

#[test]
fn readonly_user_reads_but_does_not_write() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .attach_user("alice", &["readonly"]);
    f.user("bob", "bob-secret");
    assert!(can(&f, "alice", "s3:GetObject", OBJ));
    assert!(!can(&f, "alice", "s3:PutObject", OBJ));
    assert!(!can(&f, "bob", "s3:GetObject", OBJ));
}

#[test]
fn enabled_groups_grant_and_disabled_ones_do_not() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").group("writers", &["alice"]);
    assert!(!can(&f, "alice", "s3:PutObject", OBJ));
    f.attach_group("writers", &["readwrite"]);
    assert!(can(&f, "alice", "s3:PutObject", OBJ));
    assert_eq!(f.iam.identity("alice", NOW).unwrap().groups(), ["writers"]);
    f.iam
        .set_group_status("writers", Status::Disabled, NOW)
        .unwrap();
    assert!(!can(&f, "alice", "s3:PutObject", OBJ));
    assert!(f.iam.identity("alice", NOW).unwrap().groups().is_empty());
    f.iam
        .set_group_status("writers", Status::Enabled, NOW)
        .unwrap();
    f.iam
        .update_group_members("writers", &["alice"], true, NOW)
        .unwrap();
    assert!(!can(&f, "alice", "s3:PutObject", OBJ));
}

#[test]
fn service_account_is_narrowed_by_its_inline_policy() {
    let f = Fixture::new();
    let deny_secret = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*"},
        {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::photos/secret/*"}]}"#;
    f.policy("mostly", deny_secret);
    f.user("alice", "alice-secret")
        .attach_user("alice", &["mostly"]);
    f.user("reader", "reader-secret")
        .attach_user("reader", &["readonly"]);
    let photos_get = allow(&["s3:GetObject"], &["arn:aws:s3:::photos/*"]);
    let everything = allow(&["s3:*"], &["arn:aws:s3:::*"]);
    f.service_account("alice", "narrow", Some(&photos_get))
        .service_account("alice", "wide", Some(&everything))
        .service_account("alice", "inherits", None)
        .service_account("reader", "readerwide", Some(&everything));
    let cases = [
        ("narrow", "s3:GetObject", OBJ, true),
        ("narrow", "s3:PutObject", OBJ, false),
        ("narrow", "s3:GetObject", "arn:aws:s3:::other/a", false),
        // Within the parent's: the parent's Deny still applies.
        (
            "wide",
            "s3:DeleteObject",
            "arn:aws:s3:::photos/secret/x",
            false,
        ),
        (
            "wide",
            "s3:DeleteObject",
            "arn:aws:s3:::photos/public/x",
            true,
        ),
        ("inherits", "s3:PutObject", OBJ, true),
        (
            "inherits",
            "s3:DeleteObject",
            "arn:aws:s3:::photos/secret/x",
            false,
        ),
        // Never beyond the parent's: the inline policy grants nothing by itself.
        ("readerwide", "s3:GetObject", OBJ, true),
        ("readerwide", "s3:PutObject", OBJ, false),
    ];
    for (key, action, resource, want) in cases {
        assert_eq!(
            can(&f, key, action, resource),
            want,
            "{key} {action} {resource}"
        );
    }
}

#[test]
fn temporary_credentials_are_narrowed_by_their_session_policy() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .attach_user("alice", &["readwrite"]);
    let narrow = f.temporary(
        "alice",
        Some(&allow(&["s3:GetObject"], &["arn:aws:s3:::*"])),
    );
    let full = f.temporary("alice", None);
    assert!(can(&f, &narrow, "s3:GetObject", OBJ));
    assert!(!can(&f, &narrow, "s3:PutObject", OBJ));
    assert!(can(&f, &full, "s3:PutObject", OBJ));
    f.iam
        .detach_policies(PolicyTarget::User("alice"), &["readwrite"], NOW)
        .unwrap();
    assert!(!can(&f, &narrow, "s3:GetObject", OBJ));
}

#[test]
fn derived_credentials_act_as_their_parent_in_policy_variables() {
    let f = Fixture::new();
    f.policy(
        "home",
        &allow(&["s3:GetObject"], &["arn:aws:s3:::home/${aws:username}/*"]),
    );
    f.user("alice", "alice-secret")
        .attach_user("alice", &["home"]);
    f.service_account("alice", "alicesa", None);
    let sts = f.temporary("alice", None);
    for key in ["alice", "alicesa", sts.as_str()] {
        assert!(
            can(&f, key, "s3:GetObject", "arn:aws:s3:::home/alice/x"),
            "{key}"
        );
        assert!(
            !can(&f, key, "s3:GetObject", "arn:aws:s3:::home/bob/x"),
            "{key}"
        );
        assert!(
            !can(
                &f,
                key,
                "s3:GetObject",
                &format!("arn:aws:s3:::home/{key}x/x")
            ),
            "{key}"
        );
    }
    // The caller cannot pass another user name.
    let id = f.iam.identity("alicesa", NOW).unwrap();
    let spoofed = Context::new().with(keys::USERNAME, "bob");
    assert!(!id.is_allowed(
        "s3:GetObject",
        Some("arn:aws:s3:::home/bob/x"),
        &spoofed,
        None
    ));
    let mut cx = Context::new();
    f.iam.identity(&sts, NOW).unwrap().fill_context(&mut cx);
    assert_eq!(cx.variable(keys::PRINCIPAL_TYPE), Some("AssumedRole"));
}

#[test]
fn bucket_policies_see_the_user_and_its_arn() {
    let f = Fixture::new();
    f.user("bob", "bob-secret").user("carol", "carol-secret");
    f.service_account("bob", "bobsa", None);
    f.service_account(
        "bob",
        "bobnarrow",
        Some(&allow(&["s3:PutObject"], &["arn:aws:s3:::*"])),
    );
    let bucket = |principal: &str| {
        Policy::parse_bucket(
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{principal}"]}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}}]}}"#
            ),
            "photos",
        )
        .unwrap()
    };
    let cx = Context::new();
    for principal in ["bob", "arn:aws:iam:::user/bob"] {
        let policy = bucket(principal);
        for (key, want) in [
            ("bob", true),
            ("bobsa", true),
            ("bobnarrow", false),
            ("carol", false),
        ] {
            let id = f.iam.identity(key, NOW).unwrap();
            assert_eq!(
                id.is_allowed("s3:GetObject", Some(OBJ), &cx, Some(&policy)),
                want,
                "{principal}: {key}"
            );
        }
    }
}

#[test]
fn root_may_do_everything_and_its_service_accounts_are_narrowed() {
    let f = Fixture::new();
    let mut req = sa_request(
        ROOT,
        "ROOTREAD",
        Some(&allow(&["s3:GetObject"], &["arn:aws:s3:::*"])),
    );
    req.requested_by = ROOT.into();
    f.iam.add_service_account(req, NOW).unwrap();
    let mut req = sa_request(ROOT, "ROOTALL", None);
    req.requested_by = ROOT.into();
    f.iam.add_service_account(req, NOW).unwrap();
    for action in ["s3:PutObject", "admin:CreateUser", "sts:AssumeRole"] {
        assert!(can(&f, ROOT, action, OBJ), "{action}");
        assert!(can(&f, "ROOTALL", action, OBJ), "{action}");
    }
    assert!(can(&f, "ROOTREAD", "s3:GetObject", OBJ));
    assert!(!can(&f, "ROOTREAD", "s3:PutObject", OBJ));
    let id = f.iam.identity(ROOT, NOW).unwrap();
    let deny_all = Policy::parse_bucket(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::photos/*"}]}"#,
        "photos",
    )
    .unwrap();
    assert_eq!(
        id.decide("s3:GetObject", Some(OBJ), &Context::new(), Some(&deny_all)),
        Decision::Allow
    );
}

#[test]
fn lookups_follow_changes_to_policies() {
    let f = Fixture::new();
    f.policy("p", &allow(&["s3:GetObject"], &["arn:aws:s3:::*"]));
    f.user("alice", "alice-secret").attach_user("alice", &["p"]);
    assert!(can(&f, "alice", "s3:GetObject", OBJ));
    f.policy("p", &allow(&["s3:PutObject"], &["arn:aws:s3:::*"]));
    assert!(!can(&f, "alice", "s3:GetObject", OBJ));
    assert!(can(&f, "alice", "s3:PutObject", OBJ));
}

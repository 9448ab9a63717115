use super::*;
use crate::store::{PolicyEntities, PolicyOrigin};

#[test]
fn canned_policies_exist_from_the_start() {
    let f = Fixture::new();
    let list = f.iam.list_policies();
    let names: Vec<_> = list.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "consoleAdmin",
            "diagnostics",
            "readonly",
            "readwrite",
            "writeonly"
        ]
    );
    assert!(list
        .iter()
        .all(|p| p.origin == PolicyOrigin::Canned && p.created_at.is_none()));
    let e = err(f.iam.remove_policy("readonly"));
    assert!(matches!(e, IamError::NotAllowed(_)), "{e:?}");
}

#[test]
fn add_policy_creates_replaces_and_keeps_creation_time() {
    let f = Fixture::new();
    let get = allow(&["s3:GetObject"], &["arn:aws:s3:::photos/*"]);
    let put = allow(&["s3:PutObject"], &["arn:aws:s3:::photos/*"]);
    f.iam.add_policy("photos", &get, NOW).unwrap();
    f.iam.add_policy("photos", &put, NOW + 10).unwrap();
    let info = f.iam.policy_info("photos").unwrap();
    assert_eq!(info.origin, PolicyOrigin::UserDefined);
    assert_eq!(
        (info.created_at, info.updated_at),
        (Some(NOW), Some(NOW + 10))
    );
    assert_eq!(*info.policy, parse(&put));
    assert_eq!(f.iam.list_policies().len(), 6);
    f.assert_reloads();
}

#[test]
fn a_canned_policy_can_be_replaced_and_restored() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .attach_user("alice", &["readonly"]);
    let only_photos = allow(&["s3:GetObject"], &["arn:aws:s3:::photos/*"]);
    f.policy("readonly", &only_photos);
    let info = f.iam.policy_info("readonly").unwrap();
    assert_eq!(info.origin, PolicyOrigin::ReplacedCanned);
    let id = f.iam.identity("alice", NOW).unwrap();
    let cx = crate::Context::new();
    assert!(id.is_allowed("s3:GetObject", Some("arn:aws:s3:::photos/a"), &cx, None));
    assert!(!id.is_allowed("s3:GetObject", Some("arn:aws:s3:::other/a"), &cx, None));
    f.assert_reloads();
    // Removing the replacement (even while attached) brings the built-in back.
    f.iam.remove_policy("readonly").unwrap();
    assert_eq!(
        f.iam.policy_info("readonly").unwrap().origin,
        PolicyOrigin::Canned
    );
    let id = f.iam.identity("alice", NOW).unwrap();
    assert!(id.is_allowed("s3:GetObject", Some("arn:aws:s3:::other/a"), &cx, None));
    f.assert_reloads();
}

#[test]
fn add_policy_refuses_bad_names_and_documents() {
    let f = Fixture::new();
    let ok = allow(&["s3:GetObject"], &["arn:aws:s3:::*"]);
    let no_version = r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
    let cases: Vec<(&str, &str, Check)> = vec![
        ("a,b", &ok, |e| matches!(e, IamError::InvalidName { .. })),
        ("a/b", &ok, |e| matches!(e, IamError::InvalidName { .. })),
        (" p", &ok, |e| matches!(e, IamError::InvalidName { .. })),
        ("", &ok, |e| matches!(e, IamError::InvalidName { .. })),
        ("p", "{", |e| matches!(e, IamError::InvalidPolicy(_))),
        ("p", principal, |e| matches!(e, IamError::InvalidPolicy(_))),
        ("p", no_version, |e| {
            matches!(e, IamError::PolicyVersionMissing)
        }),
    ];
    for (name, json, want) in cases {
        let e = err(f.iam.add_policy(name, json, NOW));
        assert!(want(&e), "{name:?}: {e:?}");
    }
    assert_eq!(f.iam.list_policies().len(), 5);
}

#[test]
fn remove_policy_refuses_unknown_and_attached_policies() {
    let f = Fixture::new();
    let p = allow(&["s3:GetObject"], &["arn:aws:s3:::*"]);
    f.user("alice", "alice-secret").user("bob", "bob-secret");
    f.policy("p", &p).policy("q", &p);
    f.attach_user("alice", &["p"])
        .group("devs", &["bob"])
        .attach_group("devs", &["p"]);
    assert!(matches!(
        err(f.iam.remove_policy("nosuch")),
        IamError::NoSuchPolicy(_)
    ));
    match err(f.iam.remove_policy("p")) {
        IamError::PolicyInUse { users, groups, .. } => {
            assert_eq!((users, groups), (vec!["alice".into()], vec!["devs".into()]));
        }
        e => panic!("{e:?}"),
    }
    f.iam.remove_policy("q").unwrap();
    assert!(matches!(
        err(f.iam.policy_info("q")),
        IamError::NoSuchPolicy(_)
    ));
    f.iam
        .detach_policies(PolicyTarget::User("alice"), &["p"], NOW)
        .unwrap();
    f.iam
        .detach_policies(PolicyTarget::Group("devs"), &["p"], NOW)
        .unwrap();
    f.iam.remove_policy("p").unwrap();
    f.assert_reloads();
}

#[test]
fn attach_and_detach_report_what_changed() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").group("devs", &["alice"]);
    for target in [PolicyTarget::User("alice"), PolicyTarget::Group("devs")] {
        let added = f
            .iam
            .attach_policies(target, &["readonly", "writeonly"], NOW)
            .unwrap();
        assert_eq!(added, ["readonly", "writeonly"]);
        let added = f
            .iam
            .attach_policies(target, &["readonly", "diagnostics"], NOW)
            .unwrap();
        assert_eq!(added, ["diagnostics"]);
        let e = err(f.iam.attach_policies(target, &["readonly"], NOW));
        assert!(matches!(e, IamError::NoNetChange), "{e:?}");
        let removed = f
            .iam
            .detach_policies(target, &["readonly", "readwrite"], NOW)
            .unwrap();
        assert_eq!(removed, ["readonly"]);
        let e = err(f.iam.detach_policies(target, &["readonly"], NOW));
        assert!(matches!(e, IamError::NoNetChange), "{e:?}");
    }
    assert_eq!(
        f.iam.user_info("alice").unwrap().policies,
        ["diagnostics", "writeonly"]
    );
    assert_eq!(
        f.iam.group_info("devs").unwrap().policies,
        ["diagnostics", "writeonly"]
    );
    f.assert_reloads();
}

#[test]
fn attach_and_detach_refuse_unknown_targets_and_policies() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").group("devs", &["alice"]);
    f.user("bob", "bob-secret").group("off", &["bob"]);
    f.iam
        .set_group_status("off", Status::Disabled, NOW)
        .unwrap();
    let before = f.snapshot();
    let cases: Vec<(PolicyTarget, &[&str], bool, Check)> = vec![
        (PolicyTarget::User("nobody"), &["readonly"], true, |e| {
            matches!(e, IamError::NoSuchUser(_))
        }),
        (PolicyTarget::User(ROOT), &["readonly"], true, |e| {
            matches!(e, IamError::NotAllowed(_))
        }),
        (PolicyTarget::Group("nogroup"), &["readonly"], true, |e| {
            matches!(e, IamError::NoSuchGroup(_))
        }),
        (PolicyTarget::User("alice"), &["nosuch"], true, |e| {
            matches!(e, IamError::NoSuchPolicy(_))
        }),
        (
            PolicyTarget::User("alice"),
            &["readonly", "nosuch"],
            true,
            |e| matches!(e, IamError::NoSuchPolicy(_)),
        ),
        (PolicyTarget::User("alice"), &[], true, |e| {
            matches!(e, IamError::NoNetChange)
        }),
        (PolicyTarget::Group("off"), &["readonly"], true, |e| {
            matches!(e, IamError::GroupDisabled(_))
        }),
        (PolicyTarget::Group("off"), &["readonly"], false, |e| {
            matches!(e, IamError::GroupDisabled(_))
        }),
        (PolicyTarget::User("nobody"), &["readonly"], false, |e| {
            matches!(e, IamError::NoSuchUser(_))
        }),
    ];
    for (target, policies, attach, want) in cases {
        let r = match attach {
            true => f.iam.attach_policies(target, policies, NOW),
            false => f.iam.detach_policies(target, policies, NOW),
        };
        let e = err(r);
        assert!(want(&e), "{target:?} {policies:?} attach={attach}: {e:?}");
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn policy_entities_lists_users_and_groups_per_policy() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").user("bob", "bob-secret");
    f.attach_user("alice", &["readonly", "writeonly"])
        .attach_user("bob", &["readonly"]);
    f.group("devs", &["bob"])
        .attach_group("devs", &["readwrite", "readonly"]);
    let all = f.iam.policy_entities(&[]);
    let want = |policy: &str, users: &[&str], groups: &[&str]| PolicyEntities {
        policy: policy.into(),
        users: users.iter().map(|s| s.to_string()).collect(),
        groups: groups.iter().map(|s| s.to_string()).collect(),
    };
    assert_eq!(
        all,
        [
            want("readonly", &["alice", "bob"], &["devs"]),
            want("readwrite", &[], &["devs"]),
            want("writeonly", &["alice"], &[]),
        ]
    );
    assert_eq!(
        f.iam.policy_entities(&["writeonly", "diagnostics"]),
        [want("writeonly", &["alice"], &[])]
    );
}

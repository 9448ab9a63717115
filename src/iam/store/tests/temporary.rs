use super::*;
use crate::store::{IdentityKind, LookupError};

fn request(parent: &str, expiry: u64) -> NewTemporary {
    NewTemporary {
        parent: parent.to_string(),
        policy: None,
        expiry,
    }
}

#[test]
fn temporary_credentials_authenticate_until_their_expiry() {
    let f = Fixture::new();
    f.user("alice", "alice-secret");
    let creds = f
        .iam
        .add_temporary(request("alice", NOW + HOUR), NOW)
        .unwrap();
    assert_eq!(creds.access_key.len(), 20);
    assert_eq!(creds.secret_key.expose().len(), 40);
    let token = creds.session_token.clone().expect("a session token");
    assert_eq!(token.expose().len(), 64);
    assert_eq!(creds.expiry, Some(NOW + HOUR));
    let id = f.iam.identity(&creds.access_key, NOW + HOUR - 1).unwrap();
    assert!(id.secret().matches(creds.secret_key.expose()));
    match id.kind() {
        IdentityKind::Temporary {
            parent,
            session_token,
            expiry,
        } => {
            assert_eq!((parent.as_str(), *expiry), ("alice", NOW + HOUR));
            assert!(session_token.matches(token.expose()));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(id.username(), "alice");
    for t in [NOW + HOUR, NOW + HOUR + 1] {
        assert_eq!(
            f.iam.identity(&creds.access_key, t).unwrap_err(),
            LookupError::TemporaryExpired
        );
    }
    let info = f.iam.temporary_info(&creds.access_key).unwrap();
    assert_eq!(
        (info.parent.as_str(), info.expiry, info.created_at),
        ("alice", NOW + HOUR, NOW)
    );
    assert_eq!(f.iam.list_temporary("alice"), [info]);
    f.assert_reloads();
}

#[test]
fn add_temporary_refuses_bad_parents_expiries_and_policies() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").user("off", "off-secret");
    f.iam.set_user_status("off", Status::Disabled, NOW).unwrap();
    f.service_account("alice", "alicesa", None);
    let big = allow(
        &["s3:GetObject"],
        &[&format!("arn:aws:s3:::{}", "b".repeat(2100))],
    );
    let before = f.snapshot();
    let cases: Vec<(NewTemporary, Check)> = vec![
        (request("nobody", NOW + HOUR), |e| {
            matches!(e, IamError::NoSuchUser(_))
        }),
        (request("alicesa", NOW + HOUR), |e| {
            matches!(e, IamError::NoSuchUser(_))
        }),
        (request("off", NOW + HOUR), |e| {
            matches!(e, IamError::NotAllowed(_))
        }),
        (request("alice", NOW), |e| {
            matches!(e, IamError::InvalidExpiry { .. })
        }),
        (
            NewTemporary {
                policy: Some(parse(&big)),
                ..request("alice", NOW + HOUR)
            },
            |e| matches!(e, IamError::PolicyTooLarge { max: 2048, .. }),
        ),
    ];
    for (req, want) in cases {
        let what = format!("{req:?}");
        let e = err(f.iam.add_temporary(req, NOW));
        assert!(want(&e), "{what}: {e:?}");
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn root_may_have_temporary_credentials() {
    let f = Fixture::new();
    let key = f.temporary(ROOT, Some(&allow(&["s3:GetObject"], &["arn:aws:s3:::*"])));
    let id = f.iam.identity(&key, NOW).unwrap();
    let cx = crate::Context::new();
    assert!(id.is_allowed("s3:GetObject", Some("arn:aws:s3:::b/k"), &cx, None));
    assert!(!id.is_allowed("s3:PutObject", Some("arn:aws:s3:::b/k"), &cx, None));
}

#[test]
fn revoke_and_purge() {
    let f = Fixture::new();
    f.user("alice", "alice-secret");
    let a = f
        .iam
        .add_temporary(request("alice", NOW + HOUR), NOW)
        .unwrap()
        .access_key;
    let b = f
        .iam
        .add_temporary(request("alice", NOW + 2 * HOUR), NOW)
        .unwrap()
        .access_key;
    let c = f
        .iam
        .add_temporary(request("alice", NOW + 3 * HOUR), NOW)
        .unwrap()
        .access_key;
    f.iam.revoke_temporary(&c).unwrap();
    assert_eq!(
        f.iam.identity(&c, NOW).unwrap_err(),
        LookupError::UnknownAccessKey
    );
    assert!(matches!(
        err(f.iam.revoke_temporary(&c)),
        IamError::NoSuchTemporary(_)
    ));
    assert_eq!(f.iam.purge_expired(NOW + HOUR - 1).unwrap(), 0);
    assert_eq!(f.iam.purge_expired(NOW + HOUR).unwrap(), 1);
    assert!(matches!(
        err(f.iam.temporary_info(&a)),
        IamError::NoSuchTemporary(_)
    ));
    assert!(f.iam.temporary_info(&b).is_ok());
    assert_eq!(f.iam.purge_expired(NOW + 5 * HOUR).unwrap(), 1);
    assert!(f.iam.list_temporary("alice").is_empty());
    assert!(f.mem.documents().keys().all(|k| !k.starts_with("sts/")));
    f.assert_reloads();
}

#[test]
fn parent_disabled_or_removed_disables_temporary_credentials() {
    let f = Fixture::new();
    f.user("alice", "alice-secret");
    let key = f.temporary("alice", None);
    f.iam
        .set_user_status("alice", Status::Disabled, NOW)
        .unwrap();
    assert_eq!(
        f.iam.identity(&key, NOW).unwrap_err(),
        LookupError::ParentDisabled("alice".into())
    );
    let doc = f.mem.documents()[&format!("sts/{key}.json")].clone();
    f.iam.remove_user("alice", NOW).unwrap();
    f.mem.save(&format!("sts/{key}.json"), &doc).unwrap();
    assert_eq!(
        f.reload().identity(&key, NOW).unwrap_err(),
        LookupError::ParentMissing("alice".into())
    );
}

const ISSUER: &str = "https://issuer.example";
const SUBJECT: &str = "system:serviceaccount:ns:app";

fn federated(policies: &[&str], expiry: u64) -> NewFederated {
    NewFederated {
        issuer: ISSUER.into(),
        subject: SUBJECT.into(),
        policies: policies.iter().map(|p| p.to_string()).collect(),
        policy: None,
        expiry,
    }
}

#[test]
fn federated_credentials_have_the_policies_their_token_named() {
    let f = Fixture::new();
    f.policy("read-a", &allow(&["s3:GetObject"], &["arn:aws:s3:::a/*"]));
    let creds = f
        .iam
        .add_federated(federated(&["read-a", "no-such-policy"], NOW + HOUR), NOW)
        .unwrap();
    let token = creds.session_token.clone().expect("a session token");
    let parent = crate::store::federated_parent(ISSUER, SUBJECT);
    assert_eq!(parent.len(), 43, "{parent}");
    let id = f.iam.identity(&creds.access_key, NOW).unwrap();
    assert!(id.secret().matches(creds.secret_key.expose()));
    match id.kind() {
        IdentityKind::Temporary {
            parent: p,
            session_token,
            expiry,
        } => {
            assert_eq!((p.as_str(), *expiry), (parent.as_str(), NOW + HOUR));
            assert!(session_token.matches(token.expose()));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(id.username(), parent);
    assert!(!id.acts_as_root());
    let cx = crate::Context::new();
    assert!(id.is_allowed("s3:GetObject", Some("arn:aws:s3:::a/k"), &cx, None));
    assert!(!id.is_allowed("s3:GetObject", Some("arn:aws:s3:::b/k"), &cx, None));
    assert!(!id.is_allowed("s3:PutObject", Some("arn:aws:s3:::a/k"), &cx, None));
    // Only the policies that exist are kept.
    let info = f.iam.temporary_info(&creds.access_key).unwrap();
    let fed = info.federated.clone().expect("federated");
    assert_eq!(
        (fed.issuer.as_str(), fed.subject.as_str(), fed.policies),
        (ISSUER, SUBJECT, vec!["read-a".to_string()])
    );
    assert_eq!(f.iam.list_temporary(&parent), [info]);
    // Expired: refused, as any temporary credential.
    assert_eq!(
        f.iam.identity(&creds.access_key, NOW + HOUR).unwrap_err(),
        LookupError::TemporaryExpired
    );
    f.assert_reloads();
    // The policy is looked up by name at each use: removed, it grants nothing.
    f.iam.remove_policy("read-a").unwrap();
    let id = f.iam.identity(&creds.access_key, NOW).unwrap();
    assert!(!id.is_allowed("s3:GetObject", Some("arn:aws:s3:::a/k"), &cx, None));
}

#[test]
fn federated_credentials_are_narrowed_by_a_session_policy_and_sealed() {
    let f = Fixture::new();
    let creds = f
        .iam
        .add_federated(
            NewFederated {
                policy: Some(parse(&allow(&["s3:GetObject"], &["arn:aws:s3:::a/*"]))),
                ..federated(&["readwrite"], NOW + HOUR)
            },
            NOW,
        )
        .unwrap();
    let id = f.iam.identity(&creds.access_key, NOW).unwrap();
    let cx = crate::Context::new();
    assert!(id.is_allowed("s3:GetObject", Some("arn:aws:s3:::a/k"), &cx, None));
    assert!(!id.is_allowed("s3:PutObject", Some("arn:aws:s3:::a/k"), &cx, None));
    let doc = &f.mem.documents()[&format!("sts/{}.json", creds.access_key)];
    let text = String::from_utf8_lossy(doc);
    assert!(!text.contains(creds.secret_key.expose()), "{text}");
    let token = creds.session_token.unwrap();
    assert!(!text.contains(token.expose()), "{text}");
    assert!(text.contains(SUBJECT), "{text}");
}

#[test]
fn add_federated_refuses_and_creates_nothing() {
    let f = Fixture::new();
    let before = f.snapshot();
    let cases: Vec<(NewFederated, Check)> = vec![
        (federated(&["no-such-policy"], NOW + HOUR), |e| {
            matches!(e, IamError::NoSuchPolicy(_))
        }),
        (federated(&[], NOW + HOUR), |e| {
            matches!(e, IamError::NoSuchPolicy(_))
        }),
        (federated(&["readonly"], NOW), |e| {
            matches!(e, IamError::InvalidExpiry { .. })
        }),
        (
            NewFederated {
                subject: " ".into(),
                ..federated(&["readonly"], NOW + HOUR)
            },
            |e| matches!(e, IamError::InvalidName { .. }),
        ),
        (
            NewFederated {
                issuer: String::new(),
                ..federated(&["readonly"], NOW + HOUR)
            },
            |e| matches!(e, IamError::InvalidName { .. }),
        ),
    ];
    for (req, want) in cases {
        let what = format!("{req:?}");
        let e = err(f.iam.add_federated(req, NOW));
        assert!(want(&e), "{what}: {e:?}");
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn federated_credentials_are_no_users_and_outlive_none() {
    let f = Fixture::new();
    let parent = crate::store::federated_parent(ISSUER, SUBJECT);
    // A user that happens to have the subject's id as its name: removing it leaves the
    // federated credentials alone, and they never get its policies.
    f.user(&parent, "parent-secret")
        .attach_user(&parent, &["readwrite"]);
    let key = f
        .iam
        .add_federated(federated(&["readonly"], NOW + HOUR), NOW)
        .unwrap()
        .access_key;
    let cx = crate::Context::new();
    let id = f.iam.identity(&key, NOW).unwrap();
    assert!(!id.is_allowed("s3:PutObject", Some("arn:aws:s3:::a/k"), &cx, None));
    f.iam
        .set_user_status(&parent, Status::Disabled, NOW)
        .unwrap();
    assert!(f.iam.identity(&key, NOW).is_ok());
    f.iam.remove_user(&parent, NOW).unwrap();
    assert!(f.iam.identity(&key, NOW).is_ok());
    // Purged once expired, as the others.
    assert_eq!(f.iam.purge_expired(NOW + HOUR).unwrap(), 1);
    f.assert_reloads();
}

#[test]
fn documents_of_user_credentials_are_unchanged() {
    let f = Fixture::new();
    f.user("alice", "alice-secret");
    let key = f.temporary("alice", None);
    let doc = &f.mem.documents()[&format!("sts/{key}.json")];
    assert!(!String::from_utf8_lossy(doc).contains("federated"));
}

#[test]
fn one_parent_holds_a_bounded_number_of_live_temporary_credentials() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").user("bob", "bob-secret-1");
    let max = crate::store::MAX_TEMPORARY_PER_PARENT;
    // Half of them expire early: only live ones count.
    for i in 0..max {
        let expiry = if i % 2 == 0 { NOW + 10 } else { NOW + HOUR };
        f.iam.add_temporary(request("alice", expiry), NOW).unwrap();
    }
    let more = || f.iam.add_temporary(request("alice", NOW + HOUR), NOW + 20);
    for _ in 0..max / 2 {
        more().unwrap();
    }
    assert!(
        matches!(more(), Err(IamError::TooManyTemporary { ref parent, .. }) if parent == "alice"),
        "the {}th live credential must be refused",
        max + 1
    );
    // Another parent is not affected; purging the expired ones frees nothing live.
    f.iam
        .add_temporary(request("bob", NOW + HOUR), NOW + 20)
        .unwrap();
    assert_eq!(f.iam.purge_expired(NOW + 20).unwrap(), max / 2);
    assert!(more().is_err());
}

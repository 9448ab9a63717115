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

use super::*;
use crate::store::{
    IdentityKind, LookupError, PolicyUpdate, ServiceAccountInfo, ServiceAccountUpdate,
};

#[test]
fn generated_service_account_has_minio_shaped_keys_and_authenticates() {
    let f = Fixture::new();
    f.user("alice", "alice-secret");
    let creds = f
        .iam
        .add_service_account(
            NewServiceAccount {
                parent: "alice".into(),
                requested_by: "alice".into(),
                name: Some("backup".into()),
                description: Some("nightly".into()),
                expiry: Some(NOW + 24 * HOUR),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    assert_eq!(creds.access_key.len(), 20);
    assert_eq!(creds.secret_key.expose().len(), 40);
    assert_eq!(
        (creds.session_token, creds.expiry),
        (None, Some(NOW + 24 * HOUR))
    );
    let info = f.iam.service_account_info(&creds.access_key).unwrap();
    assert_eq!(
        info,
        ServiceAccountInfo {
            access_key: creds.access_key.clone(),
            parent: "alice".into(),
            name: Some("backup".into()),
            description: Some("nightly".into()),
            policy: None,
            expiry: Some(NOW + 24 * HOUR),
            status: Status::Enabled,
            updated_at: NOW,
        }
    );
    let id = f.iam.identity(&creds.access_key, NOW).unwrap();
    assert!(id.secret().matches(creds.secret_key.expose()));
    assert_eq!(
        id.kind(),
        &IdentityKind::ServiceAccount {
            parent: "alice".into(),
            expiry: Some(NOW + 24 * HOUR),
        }
    );
    assert_eq!(id.username(), "alice");
    assert_eq!(f.iam.list_service_accounts("alice"), [info]);
    f.assert_reloads();
}

#[test]
fn add_service_account_refuses_what_minio_refuses() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .service_account("alice", "alicesa", None);
    let sts = f.temporary("alice", None);
    let big = allow(
        &["s3:GetObject"],
        &[&format!("arn:aws:s3:::{}", "b".repeat(4100))],
    );
    type Edit = fn(&mut NewServiceAccount);
    let cases: Vec<(&str, Edit, Check)> = vec![
        (
            "no such parent",
            |r| r.parent = "nobody".into(),
            |e| matches!(e, IamError::NoSuchUser(_)),
        ),
        (
            "parent is a service account",
            |r| r.parent = "alicesa".into(),
            |e| matches!(e, IamError::NotAllowed(_)),
        ),
        (
            "root's, asked by a user",
            |r| r.parent = ROOT.into(),
            |e| matches!(e, IamError::NotAllowed(_)),
        ),
        (
            "parent's key",
            |r| r.access_key = Some("alice".into()),
            |e| matches!(e, IamError::NotAllowed(_)),
        ),
        (
            "taken by a service account",
            |r| r.access_key = Some("alicesa".into()),
            |e| matches!(e, IamError::AccessKeyTaken(_)),
        ),
        (
            "taken by root",
            |r| r.access_key = Some(ROOT.into()),
            |e| matches!(e, IamError::AccessKeyTaken(_)),
        ),
        (
            "key too long",
            |r| r.access_key = Some("A".repeat(21)),
            |e| matches!(e, IamError::InvalidAccessKey { .. }),
        ),
        (
            "key too short",
            |r| r.access_key = Some("AB".into()),
            |e| matches!(e, IamError::InvalidAccessKey { .. }),
        ),
        (
            "reserved character",
            |r| r.access_key = Some("AB=C".into()),
            |e| matches!(e, IamError::InvalidAccessKey { .. }),
        ),
        (
            "secret too long",
            |r| r.secret_key = Some(Secret::new("s".repeat(41))),
            |e| matches!(e, IamError::InvalidSecretKey(_)),
        ),
        (
            "secret too short",
            |r| r.secret_key = Some(Secret::new("short")),
            |e| matches!(e, IamError::InvalidSecretKey(_)),
        ),
        (
            "key without secret",
            |r| r.secret_key = None,
            |e| matches!(e, IamError::InvalidAccessKey { .. }),
        ),
        (
            "secret without key",
            |r| r.access_key = None,
            |e| matches!(e, IamError::InvalidSecretKey(_)),
        ),
        (
            "bad name",
            |r| r.name = Some("1st".into()),
            |e| matches!(e, IamError::InvalidName { .. }),
        ),
        (
            "long description",
            |r| r.description = Some("d".repeat(257)),
            |e| matches!(e, IamError::InvalidName { .. }),
        ),
        (
            "expiry too soon",
            |r| r.expiry = Some(NOW + 14 * 60),
            |e| matches!(e, IamError::InvalidExpiry { .. }),
        ),
        (
            "expiry too far",
            |r| r.expiry = Some(NOW + 366 * 24 * HOUR),
            |e| matches!(e, IamError::InvalidExpiry { .. }),
        ),
    ];
    let before = f.snapshot();
    for (what, edit, want) in cases {
        let mut req = sa_request("alice", "NEWKEY", None);
        edit(&mut req);
        let e = err(f.iam.add_service_account(req, NOW));
        assert!(want(&e), "{what}: {e:?}");
    }
    let mut req = sa_request("alice", "NEWKEY", None);
    req.access_key = Some(sts);
    assert!(matches!(
        err(f.iam.add_service_account(req, NOW)),
        IamError::AccessKeyTaken(_)
    ));
    let mut req = sa_request("alice", "NEWKEY", None);
    req.policy = Some(parse(&big));
    let e = err(f.iam.add_service_account(req, NOW));
    assert!(
        matches!(e, IamError::PolicyTooLarge { max: 4096, .. }),
        "{e:?}"
    );
    let mut req = sa_request("alice", "NEWKEY", None);
    req.policy = Some(Policy::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#).unwrap());
    assert!(matches!(
        err(f.iam.add_service_account(req, NOW)),
        IamError::InvalidPolicy(_)
    ));
    assert_eq!(f.snapshot(), before);
}

#[test]
fn root_creates_service_accounts_for_root() {
    let f = Fixture::new();
    let mut req = sa_request(ROOT, "ROOTSA", None);
    req.requested_by = ROOT.into();
    f.iam.add_service_account(req, NOW).unwrap();
    let id = f.iam.identity("ROOTSA", NOW).unwrap();
    assert!(id.acts_as_root());
    assert_eq!(id.username(), ROOT);
}

#[test]
fn update_changes_only_what_it_names() {
    let f = Fixture::new();
    let inline = allow(&["s3:GetObject"], &["arn:aws:s3:::photos/*"]);
    f.user("alice", "alice-secret")
        .service_account("alice", "alicesa", Some(&inline));
    let update = ServiceAccountUpdate {
        secret_key: Some(Secret::new("new-secret-1")),
        name: Some("renamed".into()),
        expiry: Some(NOW + 2 * HOUR),
        ..Default::default()
    };
    f.iam
        .update_service_account("alicesa", update, NOW + 1)
        .unwrap();
    let info = f.iam.service_account_info("alicesa").unwrap();
    assert_eq!(info.name.as_deref(), Some("renamed"));
    assert_eq!(info.expiry, Some(NOW + 2 * HOUR));
    assert_eq!(info.policy.as_deref(), Some(&parse(&inline)));
    assert_eq!(info.updated_at, NOW + 1);
    assert!(f
        .iam
        .identity("alicesa", NOW)
        .unwrap()
        .secret()
        .matches("new-secret-1"));

    let disable = ServiceAccountUpdate {
        status: Some(Status::Disabled),
        policy: PolicyUpdate::Remove,
        ..Default::default()
    };
    f.iam
        .update_service_account("alicesa", disable, NOW)
        .unwrap();
    let info = f.iam.service_account_info("alicesa").unwrap();
    assert_eq!((info.status, info.policy), (Status::Disabled, None));
    assert_eq!(info.name.as_deref(), Some("renamed"));
    assert_eq!(
        f.iam.identity("alicesa", NOW).unwrap_err(),
        LookupError::ServiceAccountDisabled
    );
    let set = ServiceAccountUpdate {
        status: Some(Status::Enabled),
        policy: PolicyUpdate::Set(parse(&inline)),
        ..Default::default()
    };
    f.iam.update_service_account("alicesa", set, NOW).unwrap();
    assert!(f
        .iam
        .identity("alicesa", NOW)
        .unwrap()
        .session_policy()
        .is_some());
    f.assert_reloads();
}

#[test]
fn update_refuses_unknown_accounts_and_bad_values() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .service_account("alice", "alicesa", None);
    let before = f.snapshot();
    let cases: Vec<(&str, ServiceAccountUpdate, Check)> = vec![
        ("nosuch", ServiceAccountUpdate::default(), |e| {
            matches!(e, IamError::NoSuchServiceAccount(_))
        }),
        ("alice", ServiceAccountUpdate::default(), |e| {
            matches!(e, IamError::NoSuchServiceAccount(_))
        }),
        (
            "alicesa",
            ServiceAccountUpdate {
                secret_key: Some(Secret::new("short")),
                ..Default::default()
            },
            |e| matches!(e, IamError::InvalidSecretKey(_)),
        ),
        (
            "alicesa",
            ServiceAccountUpdate {
                name: Some("a b".into()),
                ..Default::default()
            },
            |e| matches!(e, IamError::InvalidName { .. }),
        ),
        (
            "alicesa",
            ServiceAccountUpdate {
                expiry: Some(NOW),
                ..Default::default()
            },
            |e| matches!(e, IamError::InvalidExpiry { .. }),
        ),
    ];
    for (key, update, want) in cases {
        let e = err(f.iam.update_service_account(key, update, NOW));
        assert!(want(&e), "{key}: {e:?}");
    }
    assert_eq!(f.snapshot(), before);
}

#[test]
fn delete_removes_it_and_refuses_unknown_ones() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .service_account("alice", "alicesa", None);
    f.iam.delete_service_account("alicesa").unwrap();
    assert_eq!(
        f.iam.identity("alicesa", NOW).unwrap_err(),
        LookupError::UnknownAccessKey
    );
    let e = err(f.iam.delete_service_account("alicesa"));
    assert!(matches!(e, IamError::NoSuchServiceAccount(_)), "{e:?}");
    assert!(matches!(
        err(f.iam.service_account_info("alicesa")),
        IamError::NoSuchServiceAccount(_)
    ));
    f.assert_reloads();
}

#[test]
fn expired_service_account_is_refused_from_its_expiry() {
    let f = Fixture::new();
    f.user("alice", "alice-secret");
    let mut req = sa_request("alice", "alicesa", None);
    req.expiry = Some(NOW + HOUR);
    f.iam.add_service_account(req, NOW).unwrap();
    assert!(f.iam.identity("alicesa", NOW + HOUR - 1).is_ok());
    for t in [NOW + HOUR, NOW + 2 * HOUR] {
        assert_eq!(
            f.iam.identity("alicesa", t).unwrap_err(),
            LookupError::ServiceAccountExpired
        );
    }
}

#[test]
fn parent_disabled_or_missing_disables_its_service_accounts() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .service_account("alice", "alicesa", None);
    f.iam
        .set_user_status("alice", Status::Disabled, NOW)
        .unwrap();
    assert_eq!(
        f.iam.identity("alicesa", NOW).unwrap_err(),
        LookupError::ParentDisabled("alice".into())
    );
    f.iam
        .set_user_status("alice", Status::Enabled, NOW)
        .unwrap();
    assert!(f.iam.identity("alicesa", NOW).is_ok());
    // What a crash between deleting a user's documents could leave: a service account
    // whose parent is gone. It does not authenticate.
    let sa = f.mem.documents()["service-accounts/alicesa.json"].clone();
    f.iam.remove_user("alice", NOW).unwrap();
    f.mem.save("service-accounts/alicesa.json", &sa).unwrap();
    let iam = f.reload();
    assert_eq!(
        iam.identity("alicesa", NOW).unwrap_err(),
        LookupError::ParentMissing("alice".into())
    );
}

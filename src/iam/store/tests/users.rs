use super::*;
use crate::store::UserInfo;

#[test]
fn add_user_creates_then_updates_secret_and_status_keeping_policies() {
    let f = Fixture::new();
    f.user("alice", "alice-secret-1")
        .attach_user("alice", &["readonly"]);
    f.group("devs", &["alice"]);
    f.iam
        .add_user("alice", "alice-secret-2", Status::Disabled, NOW + 5)
        .unwrap();
    let info = f.iam.user_info("alice").unwrap();
    assert_eq!(
        info,
        UserInfo {
            access_key: "alice".into(),
            status: Status::Disabled,
            policies: vec!["readonly".into()],
            member_of: vec!["devs".into()],
            updated_at: NOW + 5,
        }
    );
    f.iam
        .set_user_status("alice", Status::Enabled, NOW)
        .unwrap();
    let id = f.iam.identity("alice", NOW).unwrap();
    assert!(id.secret().matches("alice-secret-2"));
    f.assert_reloads();
}

#[test]
fn add_user_refuses_bad_keys_root_and_derived_access_keys() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .service_account("alice", "alicesa", None);
    let sts = f.temporary("alice", None);
    let cases: Vec<(&str, &str, Check)> = vec![
        ("ab", "long-enough", |e| {
            matches!(e, IamError::InvalidAccessKey { .. })
        }),
        ("a=b", "long-enough", |e| {
            matches!(e, IamError::InvalidAccessKey { .. })
        }),
        ("a,b", "long-enough", |e| {
            matches!(e, IamError::InvalidAccessKey { .. })
        }),
        (" bob", "long-enough", |e| {
            matches!(e, IamError::InvalidAccessKey { .. })
        }),
        ("a/b", "long-enough", |e| {
            matches!(e, IamError::InvalidAccessKey { .. })
        }),
        ("bob", "short", |e| {
            matches!(e, IamError::InvalidSecretKey(_))
        }),
        (ROOT, "long-enough", |e| {
            matches!(e, IamError::NotAllowed(_))
        }),
        ("alicesa", "long-enough", |e| {
            matches!(e, IamError::AccessKeyTaken(_))
        }),
    ];
    let before = f.snapshot();
    for (key, secret, want) in cases {
        let e = err(f.iam.add_user(key, secret, Status::Enabled, NOW));
        assert!(want(&e), "{key:?}: {e:?}");
    }
    let e = err(f.iam.add_user(&sts, "long-enough", Status::Enabled, NOW));
    assert!(matches!(e, IamError::AccessKeyTaken(_)), "{e:?}");
    assert_eq!(f.snapshot(), before);
}

#[test]
fn remove_user_takes_its_credentials_and_memberships() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").user("bob", "bob-secret");
    f.group("devs", &["alice", "bob"]).group("ops", &["alice"]);
    f.service_account("alice", "alicesa1", None)
        .service_account("alice", "alicesa2", None)
        .service_account("bob", "bobsa", None);
    let alice_sts = f.temporary("alice", None);
    let bob_sts = f.temporary("bob", None);
    f.iam.remove_user("alice", NOW + 1).unwrap();
    assert!(matches!(
        err(f.iam.user_info("alice")),
        IamError::NoSuchUser(_)
    ));
    assert!(f.iam.list_service_accounts("alice").is_empty());
    assert!(f.iam.list_temporary("alice").is_empty());
    assert!(f.iam.temporary_info(&alice_sts).is_err());
    assert_eq!(f.iam.group_info("devs").unwrap().members, ["bob"]);
    let ops = f.iam.group_info("ops").unwrap();
    assert!(ops.members.is_empty());
    assert_eq!(ops.updated_at, NOW + 1);
    assert_eq!(f.iam.list_service_accounts("bob").len(), 1);
    assert!(f.iam.temporary_info(&bob_sts).is_ok());
    f.assert_reloads();
}

#[test]
fn remove_and_status_refuse_unknown_users_and_root() {
    let f = Fixture::new();
    f.user("alice", "alice-secret");
    assert!(matches!(
        err(f.iam.remove_user("bob", NOW)),
        IamError::NoSuchUser(_)
    ));
    assert!(matches!(
        err(f.iam.remove_user(ROOT, NOW)),
        IamError::NotAllowed(_)
    ));
    assert!(matches!(
        err(f.iam.set_user_status("bob", Status::Disabled, NOW)),
        IamError::NoSuchUser(_)
    ));
    assert!(matches!(
        err(f.iam.set_user_status(ROOT, Status::Disabled, NOW)),
        IamError::NotAllowed(_)
    ));
    assert!(matches!(
        err(f.iam.user_info(ROOT)),
        IamError::NoSuchUser(_)
    ));
}

#[test]
fn list_users_is_by_name() {
    let f = Fixture::new();
    f.user("carol", "carol-secret")
        .user("alice", "alice-secret");
    let names: Vec<_> = f
        .iam
        .list_users()
        .into_iter()
        .map(|u| u.access_key)
        .collect();
    assert_eq!(names, ["alice", "carol"]);
}

#[test]
fn disabled_user_does_not_authenticate() {
    let f = Fixture::new();
    f.user("alice", "alice-secret");
    f.iam
        .set_user_status("alice", Status::Disabled, NOW)
        .unwrap();
    assert_eq!(
        f.iam.identity("alice", NOW).unwrap_err(),
        crate::store::LookupError::UserDisabled("alice".into())
    );
    f.iam
        .set_user_status("alice", Status::Enabled, NOW)
        .unwrap();
    assert!(f.iam.identity("alice", NOW).is_ok());
}

use super::*;
use crate::store::GroupInfo;

#[test]
fn adding_members_creates_an_enabled_group_then_extends_it() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").user("bob", "bob-secret");
    f.group("devs", &["alice"]);
    f.iam
        .update_group_members("devs", &["bob", "alice"], false, NOW + 2)
        .unwrap();
    assert_eq!(
        f.iam.group_info("devs").unwrap(),
        GroupInfo {
            name: "devs".into(),
            status: Status::Enabled,
            members: vec!["alice".into(), "bob".into()],
            policies: vec![],
            updated_at: NOW + 2,
        }
    );
    assert_eq!(f.iam.user_info("bob").unwrap().member_of, ["devs"]);
    f.group("empty", &[]);
    assert_eq!(f.iam.list_groups(), ["devs", "empty"]);
    f.assert_reloads();
}

#[test]
fn removing_members_then_the_empty_group() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").user("bob", "bob-secret");
    f.group("devs", &["alice", "bob"])
        .attach_group("devs", &["readonly"]);
    f.iam
        .update_group_members("devs", &["alice"], true, NOW)
        .unwrap();
    assert_eq!(f.iam.group_info("devs").unwrap().members, ["bob"]);
    let e = err(f.iam.update_group_members("devs", &[], true, NOW));
    assert!(matches!(e, IamError::GroupNotEmpty(_)), "{e:?}");
    f.iam
        .update_group_members("devs", &["bob"], true, NOW)
        .unwrap();
    assert!(f.iam.group_info("devs").unwrap().members.is_empty());
    f.iam.update_group_members("devs", &[], true, NOW).unwrap();
    assert!(matches!(
        err(f.iam.group_info("devs")),
        IamError::NoSuchGroup(_)
    ));
    assert!(f.iam.policy_entities(&["readonly"]).is_empty());
    f.assert_reloads();
}

#[test]
fn group_changes_refuse_what_does_not_exist() {
    let f = Fixture::new();
    f.user("alice", "alice-secret")
        .service_account("alice", "alicesa", None);
    f.group("devs", &["alice"]);
    let before = f.snapshot();
    let cases: Vec<(&str, &[&str], bool, Check)> = vec![
        ("devs", &["nobody"], false, |e| {
            matches!(e, IamError::NoSuchUser(_))
        }),
        ("devs", &["alicesa"], false, |e| {
            matches!(e, IamError::NoSuchUser(_))
        }),
        ("devs", &[ROOT], false, |e| {
            matches!(e, IamError::NoSuchUser(_))
        }),
        ("devs", &["nobody"], true, |e| {
            matches!(e, IamError::NoSuchUser(_))
        }),
        ("ops", &["alice"], true, |e| {
            matches!(e, IamError::NoSuchGroup(_))
        }),
        ("ops", &[], true, |e| matches!(e, IamError::NoSuchGroup(_))),
        ("a/b", &["alice"], false, |e| {
            matches!(e, IamError::InvalidName { .. })
        }),
        ("", &["alice"], false, |e| {
            matches!(e, IamError::InvalidName { .. })
        }),
    ];
    for (group, members, remove, want) in cases {
        let e = err(f.iam.update_group_members(group, members, remove, NOW));
        assert!(want(&e), "{group:?} {members:?} remove={remove}: {e:?}");
    }
    let e = err(f.iam.set_group_status("ops", Status::Disabled, NOW));
    assert!(matches!(e, IamError::NoSuchGroup(_)), "{e:?}");
    assert_eq!(f.snapshot(), before);
}

#[test]
fn group_status_is_kept_and_reloaded() {
    let f = Fixture::new();
    f.user("alice", "alice-secret").group("devs", &["alice"]);
    f.iam
        .set_group_status("devs", Status::Disabled, NOW + 3)
        .unwrap();
    let g = f.iam.group_info("devs").unwrap();
    assert_eq!((g.status, g.updated_at), (Status::Disabled, NOW + 3));
    // Adding members to a disabled group keeps it disabled.
    f.user("bob", "bob-secret").group("devs", &["bob"]);
    assert_eq!(f.iam.group_info("devs").unwrap().status, Status::Disabled);
    f.assert_reloads();
}

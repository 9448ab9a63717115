//! A backend that fails at each call of each operation in turn: memory stays what the
//! backend holds, a change of one document leaves everything as it was, a change of several
//! leaves no orphan that could grant access, and retrying finishes it.

use super::*;
use crate::store::PolicyUpdate;
use crate::store::ServiceAccountUpdate;

type Op = fn(&Iam) -> Result<(), IamError>;

/// Users alice, bob and carol; policies p (attached to alice) and q; groups devs (alice and
/// bob, readonly) and empty; service accounts of alice and bob; temporary credentials of
/// alice (one expiring in an hour, one in three) and bob.
fn populated() -> Fixture {
    let f = Fixture::new();
    let p = allow(&["s3:GetObject"], &["arn:aws:s3:::*"]);
    f.user("alice", "alice-secret")
        .user("bob", "bob-secret")
        .user("carol", "carol-secret");
    f.policy("p", &p)
        .policy("q", &p)
        .attach_user("alice", &["p"]);
    f.group("devs", &["alice", "bob"])
        .attach_group("devs", &["readonly"])
        .group("empty", &[]);
    f.service_account("alice", "alicesa1", None)
        .service_account("alice", "alicesa2", Some(&p))
        .service_account("bob", "bobsa", None);
    f.temporary("alice", None);
    f.iam
        .add_temporary(
            NewTemporary {
                parent: "alice".into(),
                policy: None,
                expiry: NOW + 3 * HOUR,
            },
            NOW,
        )
        .unwrap();
    f.temporary("bob", None);
    f
}

fn ops() -> Vec<(&'static str, Op)> {
    vec![
        ("add user", |iam| {
            iam.add_user("dave", "dave-secret", Status::Enabled, NOW)
        }),
        ("update user", |iam| {
            iam.add_user("bob", "bob-secret-2", Status::Disabled, NOW)
        }),
        ("remove user", |iam| iam.remove_user("alice", NOW)),
        ("disable user", |iam| {
            iam.set_user_status("bob", Status::Disabled, NOW)
        }),
        ("add members", |iam| {
            iam.update_group_members("devs", &["carol"], false, NOW)
        }),
        ("new group", |iam| {
            iam.update_group_members("ops", &["carol"], false, NOW)
        }),
        ("remove members", |iam| {
            iam.update_group_members("devs", &["bob"], true, NOW)
        }),
        ("remove group", |iam| {
            iam.update_group_members("empty", &[], true, NOW)
        }),
        ("disable group", |iam| {
            iam.set_group_status("devs", Status::Disabled, NOW)
        }),
        ("add policy", |iam| {
            iam.add_policy("r", &allow(&["s3:*"], &["arn:aws:s3:::*"]), NOW)
        }),
        ("replace canned", |iam| {
            iam.add_policy("readonly", &allow(&["s3:*"], &["*"]), NOW)
        }),
        ("remove policy", |iam| iam.remove_policy("q")),
        ("attach", |iam| {
            iam.attach_policies(PolicyTarget::User("carol"), &["q"], NOW)
                .map(drop)
        }),
        ("detach", |iam| {
            iam.detach_policies(PolicyTarget::Group("devs"), &["readonly"], NOW)
                .map(drop)
        }),
        ("add service account", |iam| {
            iam.add_service_account(sa_request("carol", "carolsa", None), NOW)
                .map(drop)
        }),
        ("update service account", |iam| {
            let update = ServiceAccountUpdate {
                status: Some(Status::Disabled),
                policy: PolicyUpdate::Remove,
                ..Default::default()
            };
            iam.update_service_account("alicesa2", update, NOW)
        }),
        ("delete service account", |iam| {
            iam.delete_service_account("bobsa")
        }),
        ("add temporary", |iam| {
            let req = NewTemporary {
                parent: "carol".into(),
                policy: None,
                expiry: NOW + HOUR,
            };
            iam.add_temporary(req, NOW).map(drop)
        }),
        ("revoke temporary", |iam| {
            let key = iam.list_temporary("bob")[0].access_key.clone();
            iam.revoke_temporary(&key)
        }),
        ("purge expired", |iam| {
            iam.purge_expired(NOW + 2 * HOUR).map(drop)
        }),
    ]
}

/// Nothing outlives what it depends on: every derived credential's parent and every group
/// member is a user (or root).
fn assert_no_orphans(s: &State, what: &str) {
    let is_user = |name: &str| name == ROOT || s.users.contains_key(name);
    for sa in s.service_accounts.values() {
        assert!(
            is_user(&sa.parent),
            "{what}: service account {} orphaned",
            sa.access_key
        );
    }
    for t in s.temporary.values() {
        assert!(
            is_user(&t.parent),
            "{what}: temporary {} orphaned",
            t.access_key
        );
    }
    for g in s.groups.values() {
        for m in &g.members {
            assert!(is_user(m), "{what}: group {} keeps member {m}", g.name);
        }
    }
}

#[test]
fn a_failing_backend_leaves_a_consistent_safe_state() {
    for (what, op) in ops() {
        let f = populated();
        let start = f.faulty.calls();
        op(&f.iam).unwrap_or_else(|e| panic!("{what}: {e}"));
        let calls = f.faulty.calls() - start;
        assert!(calls >= 1, "{what} writes nothing");
        for i in 0..calls {
            let f = populated();
            let before = f.snapshot();
            f.faulty.fail_call(i);
            let e = op(&f.iam).expect_err(what);
            assert!(
                matches!(e, IamError::Backend(_)),
                "{what} at call {i}: {e:?}"
            );
            let after = f.snapshot();
            f.assert_reloads();
            assert_no_orphans(&after, what);
            if i == 0 {
                assert_eq!(after, before, "{what}: a failed first write changed memory");
            }
            op(&f.iam).unwrap_or_else(|e| panic!("{what}, retried after call {i}: {e}"));
            f.assert_reloads();
        }
    }
}

#[test]
fn removing_a_user_writes_its_documents_in_a_safe_order() {
    let f = populated();
    let start = f.faulty.calls();
    f.iam.remove_user("alice", NOW).unwrap();
    // Two service accounts, two temporary credentials, one group, the user.
    assert_eq!(f.faulty.calls() - start, 6);
    for i in 0..6 {
        let f = populated();
        f.faulty.fail_call(i);
        assert!(f.iam.remove_user("alice", NOW).is_err());
        assert!(
            f.iam.user_info("alice").is_ok(),
            "the user is deleted last (failed at {i})"
        );
    }
}

#[test]
fn a_failing_load_fails_whole() {
    let f = populated();
    let faulty = Arc::new(FaultyBackend::new(f.mem.clone()));
    let calls = {
        Iam::load(faulty.clone(), sealer()).unwrap();
        faulty.calls()
    };
    for i in 0..calls {
        let faulty = Arc::new(FaultyBackend::new(f.mem.clone()));
        faulty.fail_call(i);
        let e = Iam::load(faulty, sealer()).unwrap_err();
        assert!(matches!(e, IamError::Backend(_)), "call {i}: {e:?}");
    }
}

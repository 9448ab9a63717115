use super::*;
use crate::store::{LookupError, Resealed};

/// A store holding a user, a service account and temporary credentials; the plaintext
/// secrets it was given or gave out.
fn populated() -> (Fixture, Vec<String>) {
    let f = Fixture::new();
    f.user("alice", "alice-plaintext-secret")
        .user("bob", "bob-plaintext-secret")
        .service_account("alice", "alicesa", None);
    let generated = f
        .iam
        .add_service_account(
            NewServiceAccount {
                parent: "bob".into(),
                requested_by: "bob".into(),
                ..Default::default()
            },
            NOW,
        )
        .unwrap();
    let sts = f
        .iam
        .add_temporary(
            NewTemporary {
                parent: "alice".into(),
                policy: None,
                expiry: NOW + HOUR,
            },
            NOW,
        )
        .unwrap();
    let token = sts.session_token.clone().unwrap();
    let secrets = vec![
        "alice-plaintext-secret".to_string(),
        "bob-plaintext-secret".into(),
        "alicesa-secret".into(),
        generated.secret_key.expose().to_string(),
        sts.secret_key.expose().to_string(),
        token.expose().to_string(),
        ROOT_SECRET.into(),
    ];
    (f, secrets)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn no_secret_is_stored_in_the_clear() {
    let (f, secrets) = populated();
    let docs = f.mem.documents();
    assert_eq!(docs.len(), 5, "{:?}", docs.keys());
    for (key, bytes) in &docs {
        for s in &secrets {
            assert!(!contains(bytes, s), "{key} holds a secret in the clear");
        }
    }
    // The check can fail: the secrets are what the store hands back.
    assert!(f
        .iam
        .identity("alice", NOW)
        .unwrap()
        .secret()
        .matches(&secrets[0]));
}

#[test]
fn no_secret_shows_in_debug_output() {
    let (f, secrets) = populated();
    let mut shown = format!("{:?} {:?}", f.iam, f.iam.snapshot());
    for key in ["alice", "bob", "alicesa", ROOT] {
        shown.push_str(&format!("{:?}", f.iam.identity(key, NOW).unwrap()));
    }
    for sa in f.iam.list_service_accounts("bob") {
        shown.push_str(&format!(
            "{:?}",
            f.iam.identity(&sa.access_key, NOW).unwrap()
        ));
    }
    for t in f.iam.list_temporary("alice") {
        shown.push_str(&format!(
            "{:?}",
            f.iam.identity(&t.access_key, NOW).unwrap()
        ));
    }
    let creds = f
        .iam
        .add_service_account(sa_request("alice", "alicesa2", None), NOW)
        .unwrap();
    shown.push_str(&format!(
        "{creds:?} {:?} {:?}",
        sa_request("alice", "x", None),
        sealer()
    ));
    for s in secrets
        .iter()
        .map(String::as_str)
        .chain(["alicesa2-secret", "x-secret"])
    {
        assert!(!shown.contains(s), "Debug output shows a secret: {shown}");
    }
    assert!(shown.contains("alicesa"), "the output is not empty");
}

#[test]
fn a_sealed_secret_moved_to_another_user_does_not_open() {
    let (f, _) = populated();
    let docs = f.mem.documents();
    let doc = |k: &str| -> serde_json::Value { serde_json::from_slice(&docs[k]).unwrap() };
    let (mut alice, mut bob) = (doc("users/alice.json"), doc("users/bob.json"));
    std::mem::swap(&mut alice["secret"], &mut bob["secret"]);
    f.mem
        .save("users/alice.json", alice.to_string().as_bytes())
        .unwrap();
    f.mem
        .save("users/bob.json", bob.to_string().as_bytes())
        .unwrap();
    let iam = f.reload();
    for user in ["alice", "bob"] {
        assert_eq!(
            iam.identity(user, NOW).unwrap_err(),
            LookupError::Unsealable,
            "{user}"
        );
    }
    // A user's sealed secret in a service account's document does not open either.
    let mut sa = doc("service-accounts/alicesa.json");
    sa["secret"] = doc("users/alice.json")["secret"].clone();
    f.mem
        .save("service-accounts/alicesa.json", sa.to_string().as_bytes())
        .unwrap();
    assert_eq!(
        f.reload().identity("alicesa", NOW).unwrap_err(),
        LookupError::Unsealable
    );
}

#[test]
fn other_root_credentials_cannot_open_stored_secrets() {
    let (f, _) = populated();
    let other = Sealer::from_root(ROOT, "another-root-secret").unwrap();
    let iam = Iam::load(f.mem.clone(), other).unwrap();
    assert_eq!(
        iam.identity("alice", NOW).unwrap_err(),
        LookupError::Unsealable
    );
    assert!(iam.identity(ROOT, NOW).is_ok());
}

#[test]
fn a_document_under_another_name_is_refused_at_load() {
    let (f, _) = populated();
    let alice = f.mem.documents()["users/alice.json"].clone();
    f.mem.save("users/mallory.json", &alice).unwrap();
    let e = Iam::load(f.mem.clone(), sealer()).unwrap_err();
    assert!(
        matches!(&e, IamError::Corrupt { key, .. } if key == "users/mallory.json"),
        "{e:?}"
    );
    f.mem.delete("users/mallory.json").unwrap();
    f.mem.save("groups/g.json", b"{not json").unwrap();
    let e = Iam::load(f.mem.clone(), sealer()).unwrap_err();
    assert!(
        matches!(&e, IamError::Corrupt { key, .. } if key == "groups/g.json"),
        "{e:?}"
    );
}

#[test]
fn root_credentials_are_checked() {
    assert!(Sealer::from_root("ab", "long-enough").is_err());
    assert!(Sealer::from_root("root", "short").is_err());
    let f = Fixture::new();
    let id = f.iam.identity(ROOT, NOW).unwrap();
    assert!(id.secret().matches(ROOT_SECRET));
    assert!(id.acts_as_root());
    assert_eq!(f.iam.root_access_key(), ROOT);
    assert_eq!(
        f.iam.identity("nobody", NOW).unwrap_err(),
        LookupError::UnknownAccessKey
    );
}

#[test]
fn old_root_credentials_given_once_move_every_secret_to_the_new_key() {
    let (f, secrets) = populated();
    let old = sealer();
    let new = || Sealer::from_root("newroot", "new-root-secret").unwrap();
    let iam = Iam::load(f.mem.clone(), new()).unwrap();
    // Two users, two service accounts, one temporary credential: none opens.
    assert_eq!(iam.unopenable(), 5);
    let before = f.mem.documents();
    let report = iam.reseal_from(&old).unwrap();
    assert_eq!(
        report,
        Resealed {
            moved: 5,
            unopenable: 0
        }
    );
    assert_eq!(iam.unopenable(), 0);
    // Written back, still sealed: a fresh load under the new key alone opens them all.
    let reloaded = Iam::load(f.mem.clone(), new()).unwrap();
    assert_eq!(reloaded.unopenable(), 0);
    let alice = reloaded.identity("alice", NOW).unwrap();
    assert!(alice.secret().matches(&secrets[0]));
    let sts = &reloaded.list_temporary("alice")[0].access_key;
    assert!(reloaded
        .identity(sts, NOW)
        .unwrap()
        .secret()
        .matches(&secrets[4]));
    for (key, bytes) in &f.mem.documents() {
        assert_ne!(before.get(key), Some(bytes), "{key} was not written again");
        for s in &secrets {
            assert!(!contains(bytes, s), "{key} holds a secret in the clear");
        }
    }
    // Once moved, doing it again changes nothing; the old key opens nothing any more.
    assert_eq!(reloaded.reseal_from(&old).unwrap(), Resealed::default());
    assert_eq!(
        Iam::load(f.mem.clone(), old).unwrap().unopenable(),
        5,
        "the old key still opens a secret"
    );
}

#[test]
fn a_secret_that_opens_with_neither_key_is_left_and_counted() {
    let (f, _) = populated();
    let wrong = Sealer::from_root("someone", "not-the-old-secret").unwrap();
    let iam = Iam::load(
        f.mem.clone(),
        Sealer::from_root(ROOT, "new-root-secret").unwrap(),
    )
    .unwrap();
    let before = f.mem.documents();
    assert_eq!(
        iam.reseal_from(&wrong).unwrap(),
        Resealed {
            moved: 0,
            unopenable: 5
        }
    );
    assert_eq!(f.mem.documents(), before, "nothing is rewritten");
}

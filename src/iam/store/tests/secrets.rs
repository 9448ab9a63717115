use super::*;
use crate::store::LookupError;

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

//! The system area: the deployment's own documents (IAM state) as erasure-coded objects that
//! no S3 bucket operation can reach.

use crate::support::{cfg, data, Dirs};
use std::fs;
use strata_engine::{EngineError, SYSTEM_BUCKET};

#[test]
fn system_documents_round_trip_list_and_delete() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    assert_eq!(e.get_system("iam/users/alice.json").unwrap(), None);
    let big = data(300_000, 3); // larger than the inline limit: shard files on the drives
    e.put_system("iam/users/alice.json", b"{\"a\":1}").unwrap();
    e.put_system("iam/users/bob.json", &big).unwrap();
    e.put_system("iam/groups/dev.json", b"{}").unwrap();
    e.put_system("iam/users/alice.json", b"{\"a\":2}").unwrap(); // replaces
    assert_eq!(
        e.get_system("iam/users/alice.json").unwrap().as_deref(),
        Some(&b"{\"a\":2}"[..])
    );
    assert_eq!(e.get_system("iam/users/bob.json").unwrap(), Some(big));
    assert_eq!(
        e.list_system("iam/users/").unwrap(),
        ["iam/users/alice.json", "iam/users/bob.json"]
    );
    assert_eq!(e.list_system("").unwrap().len(), 3);
    e.delete_system("iam/users/alice.json").unwrap();
    e.delete_system("iam/users/alice.json").unwrap(); // a missing one: fine
    assert_eq!(e.get_system("iam/users/alice.json").unwrap(), None);
    assert_eq!(e.list_system("iam/users/").unwrap(), ["iam/users/bob.json"]);
}

#[test]
fn the_system_area_is_no_bucket_and_survives_lost_drives() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.put_system("iam/policies/p.json", b"policy").unwrap();
    // Not a bucket: not listed, and the object calls refuse its name.
    assert!(e.list_buckets().unwrap().is_empty());
    assert!(matches!(
        e.get_object(SYSTEM_BUCKET, "config/iam/policies/p.json", None),
        Err(EngineError::InvalidBucketName(_))
    ));
    assert!(matches!(
        e.make_bucket(SYSTEM_BUCKET),
        Err(EngineError::InvalidBucketName(_))
    ));
    // Keys stay inside the area.
    assert!(e.put_system("../format.json", b"x").is_err());
    assert!(e.get_system("/abs").is_err());
    drop(e);
    // Erasure-coded like any object: one of four drives lost (parity 2), still there.
    fs::remove_dir_all(&d.paths[1]).unwrap();
    fs::create_dir_all(&d.paths[1]).unwrap();
    let e = d.open(cfg());
    assert_eq!(
        e.get_system("iam/policies/p.json").unwrap().as_deref(),
        Some(&b"policy"[..])
    );
}

#[test]
fn a_system_document_without_read_quorum_is_an_error_not_none() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.put_system("iam/users/carol.json", b"{}").unwrap();
    // Three of four drives gone: the one left cannot tell whether carol exists. "None" would
    // read as "no such user" (a revoked key could come back as unknown, a new one be refused).
    for p in &d.paths[..3] {
        fs::remove_dir_all(p).unwrap();
    }
    let r = e.get_system("iam/users/carol.json");
    assert!(matches!(r, Err(EngineError::ReadQuorum { .. })), "{r:?}");
    assert!(e.get_system("iam/users/nobody.json").is_err());
    assert!(e.list_system("iam/").is_err());
    assert!(e.put_system("iam/users/dave.json", b"{}").is_err());
}

//! Every crash point: an operation is run with its drives wrapped in `drive::faulty`, which
//! makes every drive call fail from the n-th change on — the process "dies" there, nothing it
//! would still have done (rollback, phase two, cleanup) reaches the drives — for every n from 0
//! to the number of changes the operation makes. After each, a fresh engine on the same drives
//! must read the key as its state before or after the operation (after, if the operation
//! returned success), never unreadable, with GET, HEAD and the listing agreeing; and a heal
//! must leave that state in place, one version per drive, no leftover. Geometries 2+2, 4+2
//! and 12+4; operations: first write, overwrite (inline and multi-block), delete, multipart
//! completion, metadata update.

use crate::support::{cfg, data, get, Dirs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_engine::drive::faulty::{FaultPlan, FaultyDrive};
use strata_engine::drive::Drive;
use strata_engine::meta::MetaFile;
use strata_engine::{Config, Engine, EngineError, ListQuery, PutOptions};

const B: &str = "points";

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

/// What a key can hold: nothing, or these bytes.
type Held = Option<Vec<u8>>;

fn held(e: &Engine, key: &str) -> Result<Held, String> {
    match get(e, B, key) {
        Ok(b) => Ok(Some(b)),
        Err(EngineError::NoSuchKey { .. }) => Ok(None),
        Err(err) => Err(err.to_string()),
    }
}

fn show(h: &Held) -> String {
    match h {
        None => "absent".into(),
        Some(b) => format!("{} bytes", b.len()),
    }
}

/// An operation on the key, and what it leaves when it completes.
struct Op {
    name: &'static str,
    /// Sets the state before (with a normal engine).
    setup: fn(&Engine),
    run: fn(&Engine) -> Result<(), EngineError>,
    before: fn() -> Held,
    after: fn() -> Held,
}

fn small() -> Vec<u8> {
    data(900, 1)
}
fn big() -> Vec<u8> {
    data(200_000, 2)
}
fn other() -> Vec<u8> {
    data(150_000, 3)
}

fn put(e: &Engine, body: &[u8]) -> Result<(), EngineError> {
    e.put_object(B, "k", &mut &body[..], &PutOptions::default())
        .map(drop)
}

fn ops() -> Vec<Op> {
    vec![
        Op {
            name: "first write",
            setup: |_| {},
            run: |e| put(e, &big()),
            before: || None,
            after: || Some(big()),
        },
        Op {
            name: "inline overwrite",
            setup: |e| put(e, &small()).unwrap(),
            run: |e| put(e, &data(700, 9)),
            before: || Some(small()),
            after: || Some(data(700, 9)),
        },
        Op {
            name: "multi-block overwrite",
            setup: |e| put(e, &big()).unwrap(),
            run: |e| put(e, &other()),
            before: || Some(big()),
            after: || Some(other()),
        },
        Op {
            name: "delete",
            setup: |e| put(e, &big()).unwrap(),
            run: |e| e.delete_object(B, "k"),
            before: || Some(big()),
            after: || None,
        },
        Op {
            name: "multipart completion",
            setup: |e| {
                put(e, &small()).unwrap();
                let id = e.new_multipart(B, "k", &PutOptions::default()).unwrap();
                let p1 = data(100 * 1024, 5);
                let p2 = data(3000, 6);
                e.put_part(B, "k", &id, 1, &mut &p1[..], None).unwrap();
                e.put_part(B, "k", &id, 2, &mut &p2[..], None).unwrap();
            },
            run: |e| {
                let id = e.list_multipart(B, "")?[0].upload_id.clone();
                let parts = e.list_parts(B, "k", &id)?;
                let named: Vec<(u32, String)> =
                    parts.iter().map(|p| (p.number, p.etag.clone())).collect();
                e.complete_multipart(B, "k", &id, &named).map(drop)
            },
            before: || Some(small()),
            after: || Some([data(100 * 1024, 5), data(3000, 6)].concat()),
        },
        Op {
            name: "metadata update",
            setup: |e| put(e, &big()).unwrap(),
            run: |e| {
                e.update_metadata(B, "k", &|m| {
                    m.tags.insert("t".into(), "v".into());
                })
                .map(drop)
            },
            before: || Some(big()),
            after: || Some(big()),
        },
    ]
}

/// Leftovers in the key's directory on every drive, and the versions each drive lists.
fn on_disk(paths: &[PathBuf]) -> (usize, Vec<usize>) {
    let (mut left, mut versions) = (0, Vec::new());
    for p in paths {
        let dir = p.join(B).join("k");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            versions.push(0);
            continue;
        };
        let meta = std::fs::read(dir.join("%meta"))
            .ok()
            .map(|b| MetaFile::decode(&b).unwrap());
        versions.push(meta.as_ref().map_or(0, |m| m.versions.len()));
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let referenced = meta
                .as_ref()
                .is_some_and(|m| m.data_dirs().any(|d| name == format!("%d{d}")));
            if (name.starts_with("%d") && !referenced) || name.starts_with("%meta.tmp-") {
                left += 1;
            }
        }
    }
    (left, versions)
}

fn every_crash_point(drives: usize, parity: usize) {
    let config = Config {
        parity: Some(parity),
        ..cfg()
    };
    let mut runs = 0;
    for op in ops() {
        // The state before, made once.
        let template = Dirs::new(drives);
        {
            let e = template.open(config.clone());
            e.make_bucket(B).unwrap();
            (op.setup)(&e);
        }
        // How many changes the operation makes when nothing fails.
        let count = {
            let d = Dirs::new(drives);
            for (t, p) in template.paths.iter().zip(&d.paths) {
                copy_tree(t, p);
            }
            let plan = FaultPlan::new();
            let e = open_faulty(&d.paths, config.clone(), &plan);
            (op.run)(&e).unwrap();
            plan.changes()
        };
        for crash in 0..=count {
            runs += 1;
            let d = Dirs::new(drives);
            for (t, p) in template.paths.iter().zip(&d.paths) {
                copy_tree(t, p);
            }
            let plan = FaultPlan::new();
            plan.crash_after(crash);
            let acked = {
                let e = open_faulty(&d.paths, config.clone(), &plan);
                (op.run)(&e).is_ok() && !plan.crashed()
            };
            let what = format!(
                "{}+{parity}, {} killed after {crash} of {count} changes",
                drives - parity,
                op.name
            );
            let e = d.open(config.clone());
            let now = held(&e, "k").unwrap_or_else(|err| panic!("{what}: unreadable: {err}"));
            let (before, after) = ((op.before)(), (op.after)());
            assert!(
                now == after || (!acked && now == before),
                "{what} (acknowledged: {acked}): holds {}, before {}, after {}",
                show(&now),
                show(&before),
                show(&after)
            );
            assert_eq!(
                e.head_object(B, "k").is_ok(),
                now.is_some(),
                "{what}: HEAD and GET disagree"
            );
            let listed = e
                .list_objects(
                    B,
                    &ListQuery {
                        max_keys: 10,
                        ..Default::default()
                    },
                )
                .unwrap()
                .objects
                .len();
            assert_eq!(
                listed,
                usize::from(now.is_some()),
                "{what}: listing disagrees"
            );
            e.heal_object(B, "k")
                .unwrap_or_else(|err| panic!("{what}: heal failed: {err}"));
            assert_eq!(
                held(&e, "k").unwrap(),
                now,
                "{what}: heal changed the state"
            );
            let (left, versions) = on_disk(&d.paths);
            assert_eq!(left, 0, "{what}: leftovers after heal");
            assert!(
                versions.iter().all(|v| *v == usize::from(now.is_some())),
                "{what}: versions per drive after heal {versions:?}"
            );
        }
    }
    eprintln!("{}+{parity}: {runs} crash points checked", drives - parity);
}

fn open_faulty(paths: &[PathBuf], config: Config, plan: &Arc<FaultPlan>) -> Engine {
    let plan = plan.clone();
    Engine::open_with(&[paths.to_vec()], config, &move |d: Arc<dyn Drive>| {
        Arc::new(FaultyDrive::new(d, plan.clone())) as Arc<dyn Drive>
    })
    .unwrap()
}

#[test]
fn every_crash_point_2_plus_2() {
    every_crash_point(4, 2);
}

#[test]
fn every_crash_point_4_plus_2() {
    every_crash_point(6, 2);
}

#[test]
fn every_crash_point_12_plus_4() {
    every_crash_point(16, 4);
}

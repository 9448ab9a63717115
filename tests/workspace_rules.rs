//! The dependency rules of ARCHITECTURE.md, checked on the workspace's manifests (through
//! `cargo metadata`): which crate of ours may depend on which, and that only the binaries'
//! package parses command lines.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Each workspace crate's normal (not dev, not build) dependencies.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let mut crates = BTreeMap::new();
    for p in meta["packages"].as_array().expect("packages") {
        let deps = p["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().expect("name").to_string())
            .collect();
        crates.insert(p["name"].as_str().expect("name").to_string(), deps);
    }
    crates
}

#[test]
fn crates_depend_only_on_what_the_rules_allow() {
    let crates = dependencies();
    let allowed: &[(&str, &[&str])] = &[
        ("strata-util", &[]),
        ("strata-codec", &[]),
        ("strata-iam", &[]),
        ("strata-s3client", &[]),
        ("strata-engine", &["strata-codec"]),
        ("strata-s3", &["strata-engine", "strata-iam"]),
        (
            "strata-server",
            &["strata-admin", "strata-engine", "strata-iam", "strata-s3"],
        ),
        ("strata-drive", &["strata-util"]),
        ("strata-kube", &["strata-drive"]),
        ("strata-csi", &["strata-drive", "strata-kube"]),
        ("strata-bench", &["strata-s3client", "strata-util"]),
        ("strata-testkit", &["strata-drive"]),
        ("strata-admin", &[]),
        ("strata-adminclient", &["strata-admin", "strata-s3client"]),
    ];
    assert_eq!(
        crates.len(),
        allowed.len() + 1,
        "every crate has its rule (and `strata`): {:?}",
        crates.keys()
    );
    for (name, may) in allowed {
        let ours: BTreeSet<&str> = crates[*name]
            .iter()
            .map(String::as_str)
            .filter(|d| d.starts_with("strata"))
            .collect();
        let may: BTreeSet<&str> = may.iter().copied().collect();
        assert!(
            ours.is_subset(&may),
            "{name} depends on {ours:?}, may on {may:?}"
        );
    }
}

#[test]
fn only_the_binaries_parse_command_lines() {
    for (name, deps) in dependencies() {
        assert_eq!(deps.contains("clap"), name == "strata", "{name}: clap");
    }
}

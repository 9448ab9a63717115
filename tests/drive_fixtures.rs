//! Discovery over fixture trees that copy real machines (see tests/fixtures/machines/README.md):
//! NVMe namespaces, SATA/SAS/USB disks, partitions, LVM, md, dm, swap, zram, virtio, loop,
//! with and without a udev database.

use serde::Deserialize;
use std::path::PathBuf;
use strata::drive::discover::discover;
use strata::drive::{Device, HostRoot};

#[derive(Deserialize, Debug)]
struct Expected {
    devices: Vec<ExpectedDevice>,
}

#[derive(Deserialize, Debug)]
struct ExpectedDevice {
    name: String,
    major_minor: String,
    size: u64,
    transport: String,
    rotational: bool,
    tier: String,
    filesystem: Option<String>,
    status: String,
    reasons: Vec<String>,
    drive_id: Option<String>,
    model: Option<String>,
    serial: Option<String>,
    wwn: Option<String>,
}

fn machine(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/machines")
        .join(name)
}

fn check_machine(name: &str) {
    let root = machine(name);
    let expected: Expected =
        serde_yaml::from_str(&std::fs::read_to_string(root.join("expected.yaml")).unwrap())
            .unwrap();
    let found = discover(&HostRoot::new(&root)).unwrap();
    let mut found_names: Vec<&str> = found.iter().map(|d| d.name.as_str()).collect();
    let mut want_names: Vec<&str> = expected.devices.iter().map(|d| d.name.as_str()).collect();
    found_names.sort();
    want_names.sort();
    assert_eq!(found_names, want_names, "{name}: device set");
    for want in &expected.devices {
        let got: &Device = found.iter().find(|d| d.name == want.name).unwrap();
        let json = serde_json::to_value(got).unwrap();
        let ctx = format!("{name}/{}: {json}", want.name);
        assert_eq!(got.major_minor, want.major_minor, "{ctx}");
        assert_eq!(got.size, want.size, "{ctx}");
        assert_eq!(json["transport"], want.transport.as_str(), "{ctx}");
        assert_eq!(got.rotational, want.rotational, "{ctx}");
        assert_eq!(json["tier"], want.tier.as_str(), "{ctx}");
        assert_eq!(got.filesystem, want.filesystem, "{ctx}");
        assert_eq!(json["status"], want.status.as_str(), "{ctx}");
        let reasons: Vec<&str> = got.reasons.iter().map(|r| r.as_str()).collect();
        assert_eq!(reasons, want.reasons, "{ctx}");
        assert_eq!(got.drive_id, want.drive_id, "{ctx}");
        for (field, value, got) in [
            ("model", &want.model, &got.model),
            ("serial", &want.serial, &got.serial),
            ("wwn", &want.wwn, &got.wwn),
        ] {
            if value.is_some() {
                assert_eq!(got, value, "{ctx}: {field}");
            }
        }
        // Every reason has a human explanation naming what was found.
        for r in &got.reasons {
            assert!(!got.explain(*r).is_empty());
        }
    }
}

#[test]
fn baremetal_server() {
    check_machine("baremetal");
}

#[test]
fn cloud_vm() {
    check_machine("cloud-vm");
}

#[test]
fn container_without_udev() {
    check_machine("container");
}

#[test]
fn drivectl_lists_a_fixture_machine_as_json_and_table() {
    let root = machine("baremetal");
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_drivectl"))
            .arg("--host-root")
            .arg(&root)
            .arg("--state-dir")
            .arg(state.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["list"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    // Usable devices only by default: available and Strata drives.
    assert!(
        table.contains("/dev/nvme0n1 ") && table.contains("/dev/sda "),
        "{table}"
    );
    assert!(
        table.contains("6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b"),
        "{table}"
    );
    assert!(!table.contains("/dev/sdc"), "{table}");
    let out = run(&["list", "--all"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("held by dm-0"), "{table}");
    assert!(table.contains("is in use as swap"), "{table}");

    let out = run(&[
        "list",
        "-o",
        "json",
        "--tier",
        "cold",
        "--status",
        "available",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["sdb"]);

    // Refusals work over fixtures too, before anything would be touched.
    let out = run(&["format", "sdc", "--dangerous", "--force"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("held by dm-0"));
}

//! The CSI driver over its real unix socket, on loop drives formatted by drivectl, with the
//! state in a file (run as root). Quota enforcement is asserted where the kernel has XFS
//! quotas (the VM lab runs this file with STRATA_REQUIRE_QUOTA=1).

use crate::common;
use crate::csi_support;

use common::{quota_supported, MIB};
use csi_support::*;
use std::fs;
use std::path::Path;
use strata::csi::proto::volume_capability::access_mode::Mode;
use strata::csi::proto::*;
use tonic::Code;

const DRIVE: u64 = 512 * MIB;

fn code<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> Code {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(s) => s.code(),
    }
}

fn bytes_usage(stats: &NodeGetVolumeStatsResponse) -> &VolumeUsage {
    stats
        .usage
        .iter()
        .find(|u| u.unit == volume_usage::Unit::Bytes as i32)
        .expect("bytes usage")
}

#[test]
fn identity_and_node_info_describe_the_plugin() {
    let mut csi = Csi::start(1, DRIVE);
    let mut id = csi.identity();
    let info = csi
        .call(id.get_plugin_info(GetPluginInfoRequest {}))
        .unwrap();
    assert_eq!(info.name, "csi.strata.dev");
    assert_eq!(info.vendor_version, env!("CARGO_PKG_VERSION"));
    let caps = csi
        .call(id.get_plugin_capabilities(GetPluginCapabilitiesRequest {}))
        .unwrap();
    use plugin_capability::{service::Type as Svc, volume_expansion::Type as Exp, Type};
    let got: Vec<Type> = caps.capabilities.iter().filter_map(|c| c.r#type).collect();
    for want in [
        Type::Service(plugin_capability::Service {
            r#type: Svc::ControllerService as i32,
        }),
        Type::Service(plugin_capability::Service {
            r#type: Svc::VolumeAccessibilityConstraints as i32,
        }),
        Type::VolumeExpansion(plugin_capability::VolumeExpansion {
            r#type: Exp::Online as i32,
        }),
    ] {
        assert!(got.contains(&want), "{want:?} missing from {got:?}");
    }
    assert_eq!(
        csi.call(id.probe(ProbeRequest {})).unwrap().ready,
        Some(true)
    );

    let node = csi.lab.node.clone();
    let mut n = csi.node();
    let info = csi.call(n.node_get_info(NodeGetInfoRequest {})).unwrap();
    assert_eq!(info.node_id, node);
    assert_eq!(info.max_volumes_per_node, 100);
    assert_eq!(info.accessible_topology.unwrap(), topology(&node));
    let caps = csi
        .call(n.node_get_capabilities(NodeGetCapabilitiesRequest {}))
        .unwrap();
    let types: Vec<i32> = caps
        .capabilities
        .iter()
        .filter_map(|c| match c.r#type {
            Some(node_service_capability::Type::Rpc(r)) => Some(r.r#type),
            _ => None,
        })
        .collect();
    for t in [1, 2, 3, 4] {
        assert!(types.contains(&t), "node capability {t} missing: {types:?}");
    }
    let again = csi
        .call(n.node_get_capabilities(NodeGetCapabilitiesRequest {}))
        .unwrap();
    assert_eq!(caps, again);
    assert_eq!(
        csi.call(n.node_get_info(NodeGetInfoRequest {})).unwrap(),
        csi.call(n.node_get_info(NodeGetInfoRequest {})).unwrap()
    );

    use controller_service_capability::rpc::Type as Rpc;
    let mut c = csi.controller();
    let caps = csi
        .call(c.controller_get_capabilities(ControllerGetCapabilitiesRequest {}))
        .unwrap();
    let types: Vec<i32> = caps
        .capabilities
        .iter()
        .filter_map(|c| match c.r#type {
            Some(controller_service_capability::Type::Rpc(r)) => Some(r.r#type),
            _ => None,
        })
        .collect();
    for t in [
        Rpc::CreateDeleteVolume,
        Rpc::ListVolumes,
        Rpc::GetCapacity,
        Rpc::ExpandVolume,
    ] {
        assert!(types.contains(&(t as i32)), "{t:?} missing: {types:?}");
    }
    // Strata has no attach step: Kubernetes must not wait for ControllerPublishVolume.
    assert!(!types.contains(&(Rpc::PublishUnpublishVolume as i32)));
    let again = csi
        .call(c.controller_get_capabilities(ControllerGetCapabilitiesRequest {}))
        .unwrap();
    assert_eq!(caps, again);
    let mut id = csi.identity();
    assert_eq!(
        csi.call(id.get_plugin_info(GetPluginInfoRequest {}))
            .unwrap(),
        csi.call(id.get_plugin_info(GetPluginInfoRequest {}))
            .unwrap()
    );
}

#[test]
fn python_grpc_clients_are_served_whatever_authority_they_send() {
    // gRPC's C core (Python, C++) sends the socket path, percent-encoded, as :authority,
    // grpc-java the bare path: h2 alone refuses both before tonic sees the call.
    let csi = Csi::start(1, DRIVE);
    let out = std::process::Command::new(venv_python())
        .arg(client_script("csi_grpc.py"))
        .arg(&csi.socket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "csi_grpc.py failed:\n{}\nplugin log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        csi.log_text()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for authority in ["default", "path"] {
        let s = &v[authority];
        assert_eq!(s["name"], "csi.strata.dev", "{authority}: {v}");
        assert_eq!(s["ready"], true, "{authority}: {v}");
        assert_eq!(
            s["create_without_name"], "INVALID_ARGUMENT",
            "{authority}: {v}"
        );
    }
}

#[test]
fn a_volume_lives_its_whole_life_and_gives_its_capacity_back() {
    let mut csi = Csi::start(1, DRIVE);
    let (available, largest) = csi.capacity(None);
    assert!(
        available > 400 * MIB as i64 && available <= DRIVE as i64,
        "{available}"
    );
    assert_eq!(
        largest, available,
        "one drive: the largest volume is all of it"
    );

    let vol = csi.create("pvc-life", (16 * MIB) as i64, &[]).unwrap();
    assert_eq!(vol.capacity_bytes, (16 * MIB) as i64);
    assert_eq!(
        vol.accessible_topology,
        vec![topology(&csi.lab.node.clone())]
    );
    assert_eq!(csi.capacity(None).0, available - (16 * MIB) as i64);
    let id = vol.volume_id.clone();

    let (staging, target) = csi.paths("life");
    csi.stage(&id, &staging).unwrap();
    csi.publish(&id, &staging, &target, false).unwrap();

    // Write until the quota stops the writer.
    let file = Path::new(&target).join("data.bin");
    let (written, err) = write_until_full(&file, 64 * MIB);
    if quota_supported() {
        let err = err.expect("the quota must stop the writer");
        // XFS reports a full project quota as ENOSPC (EDQUOT for user/group quotas).
        assert!(
            matches!(err.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)),
            "{err}"
        );
        assert!((14 * MIB..=16 * MIB).contains(&written), "wrote {written}");
    } else {
        assert!(err.is_none(), "{err:?}");
    }
    let stats = csi.stats(&id, &target).unwrap();
    let b = bytes_usage(&stats);
    assert_eq!(b.total, (16 * MIB) as i64);
    // What the volume really holds: up to its quota, or (no quotas) all that was written.
    assert!(
        (b.used - written as i64).abs() <= MIB as i64,
        "{b:?} vs {written}"
    );
    assert_eq!(b.available, (b.total - b.used).max(0), "{b:?}");
    assert_eq!(
        stats.volume_condition.as_ref().map(|c| c.abnormal),
        Some(false)
    );

    // Expand: the controller reserves, the node raises the quota.
    let mut c = csi.controller();
    let expanded = csi
        .call(c.controller_expand_volume(ControllerExpandVolumeRequest {
            volume_id: id.clone(),
            capacity_range: Some(CapacityRange {
                required_bytes: (32 * MIB) as i64,
                limit_bytes: 0,
            }),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(expanded.capacity_bytes, (32 * MIB) as i64);
    assert!(expanded.node_expansion_required);
    let mut n = csi.node();
    let grown = csi
        .call(n.node_expand_volume(NodeExpandVolumeRequest {
            volume_id: id.clone(),
            volume_path: target.clone(),
            capacity_range: Some(CapacityRange {
                required_bytes: (32 * MIB) as i64,
                limit_bytes: 0,
            }),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(grown.capacity_bytes, (32 * MIB) as i64);
    let more = Path::new(&target).join("more.bin");
    let (written2, err2) = write_until_full(&more, 8 * MIB);
    assert_eq!(written2, 8 * MIB, "{err2:?}");
    let stats = csi.stats(&id, &target).unwrap();
    let b = bytes_usage(&stats);
    assert_eq!(b.total, (32 * MIB) as i64);
    let expect = (written + written2) as i64;
    assert!((b.used - expect).abs() <= MIB as i64, "{b:?} vs {expect}");

    csi.unpublish(&id, &target).unwrap();
    assert!(!Path::new(&target).exists(), "target path removed");
    csi.unstage(&id, &staging).unwrap();
    csi.delete(&id).unwrap();
    let drive = csi.drive_ids()[0].clone();
    assert!(!csi.mount_point(&drive).join("volumes").join(&id).exists());
    assert_eq!(csi.capacity(None).0, available, "capacity back");
    assert_eq!(csi.state()["volumes"], serde_json::json!({}));
}

#[test]
fn stats_report_what_the_volume_holds_and_what_its_drive_has_left() {
    let mut csi = Csi::start(1, DRIVE);
    let id = csi
        .create("pvc-stats", (16 * MIB) as i64, &[])
        .unwrap()
        .volume_id;
    let (staging, target) = csi.paths("stats");
    csi.stage(&id, &staging).unwrap();
    csi.publish(&id, &staging, &target, false).unwrap();
    let file = Path::new(&target).join("data.bin");
    let (written, err) = write_until_full(&file, 4 * MIB);
    assert_eq!(written, 4 * MIB, "{err:?}");
    let stats = csi.stats(&id, &target).unwrap();
    let b = *bytes_usage(&stats);
    assert_eq!(b.total, (16 * MIB) as i64);
    assert!(
        (b.used - (4 * MIB) as i64).abs() <= (MIB / 4) as i64,
        "{b:?}"
    );
    assert_eq!(b.available, b.total - b.used, "{b:?}");

    // Something else fills the drive (another tenant, its own files) up to 2 MiB: the
    // volume cannot have more than that, whatever its quota leaves it. (Nothing was removed
    // from the drive before: XFS frees a removed file's blocks in the background.)
    let mount_point = csi.mount_point(&csi.drive_ids()[0]);
    let free = drive_free(&mount_point);
    let filler = mount_point.join("filler");
    let status = std::process::Command::new("fallocate")
        .args(["-l", &(free - 2 * MIB).to_string()])
        .arg(&filler)
        .status()
        .unwrap();
    assert!(status.success());
    let left = drive_free(&mount_point);
    assert!(left <= 2 * MIB + MIB / 2, "{left}");
    let stats = csi.stats(&id, &target).unwrap();
    let b = *bytes_usage(&stats);
    assert!(
        b.available as u64 <= left,
        "{b:?}, the drive has {left} bytes left"
    );
    assert!(
        b.available as u64 + MIB / 2 >= left,
        "{b:?}, the drive has {left} bytes left"
    );
    fs::remove_file(&filler).unwrap();

    if !quota_supported() {
        // Unlimited on this kernel: the volume holds more than its capacity, and says so.
        // A file of its own: XFS keeps the blocks it preallocated past the end of a file
        // that was opened for writing more than once, and the volume really holds them.
        let more = Path::new(&target).join("more.bin");
        let (written, err) = write_until_full(&more, 16 * MIB);
        assert_eq!(written, 16 * MIB, "{err:?}");
        let stats = csi.stats(&id, &target).unwrap();
        let b = *bytes_usage(&stats);
        assert!(
            (b.used - (20 * MIB) as i64).abs() <= (MIB / 4) as i64,
            "{b:?}"
        );
        assert_eq!(b.available, 0, "{b:?}");
    }
}

/// Bytes the filesystem at `path` has left for unprivileged writers (df's "Avail").
fn drive_free(path: &Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn read_only_publish_refuses_writes() {
    let mut csi = Csi::start(1, DRIVE);
    let id = csi
        .create("pvc-ro", (8 * MIB) as i64, &[])
        .unwrap()
        .volume_id;
    let (staging, target) = csi.paths("ro");
    csi.stage(&id, &staging).unwrap();
    fs::write(Path::new(&staging).join("seed"), b"hello").unwrap();
    csi.publish(&id, &staging, &target, true).unwrap();
    assert_eq!(fs::read(Path::new(&target).join("seed")).unwrap(), b"hello");
    let err = fs::write(Path::new(&target).join("x"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    // The same publish again is fine; a writable one at the same path is not.
    csi.publish(&id, &staging, &target, true).unwrap();
    assert_eq!(
        code(csi.publish(&id, &staging, &target, false)),
        Code::AlreadyExists
    );
}

#[test]
fn mount_options_a_bind_mount_takes_are_applied_and_the_others_refused() {
    let mut csi = Csi::start(1, DRIVE);
    let node = csi.lab.node.clone();
    let flags = ["nosuid,nodev", "noexec", "noatime"];
    // CreateVolume carries the StorageClass's mountOptions in its capabilities.
    let mut req = create_request("pvc-opts", (8 * MIB) as i64, &[], &node);
    req.volume_capabilities = vec![cap_with_flags(&["noatime", "discard"])];
    let mut c = csi.controller();
    let err = csi.call(c.create_volume(req.clone())).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("\"discard\""), "{}", err.message());
    assert!(!err.message().contains("\"noatime\""), "{}", err.message());
    req.volume_capabilities = vec![cap_with_flags(&flags)];
    let id = csi
        .call(c.create_volume(req))
        .unwrap()
        .volume
        .unwrap()
        .volume_id;
    let validate = ValidateVolumeCapabilitiesRequest {
        volume_id: id.clone(),
        volume_capabilities: vec![cap_with_flags(&["sync"])],
        ..Default::default()
    };
    let v = csi.call(c.validate_volume_capabilities(validate)).unwrap();
    assert!(
        v.confirmed.is_none() && v.message.contains("\"sync\""),
        "{v:?}"
    );

    let (staging, target) = csi.paths("opts");
    let stage = |flags: &[&str]| NodeStageVolumeRequest {
        volume_id: id.clone(),
        staging_target_path: staging.clone(),
        volume_capability: Some(cap_with_flags(flags)),
        ..Default::default()
    };
    let publish = |target: &str, flags: &[&str]| NodePublishVolumeRequest {
        volume_id: id.clone(),
        staging_target_path: staging.clone(),
        target_path: target.to_string(),
        volume_capability: Some(cap_with_flags(flags)),
        ..Default::default()
    };
    let mut n = csi.node();
    // A filesystem option is refused by name, and nothing is mounted.
    let err = csi
        .call(n.node_stage_volume(stage(&["inode64", "noatime"])))
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("\"inode64\""), "{}", err.message());
    assert_eq!(mount_options(&staging), None);

    csi.call(n.node_stage_volume(stage(&flags))).unwrap();
    let has_all = |opts: Option<String>, want: &[&str]| {
        let opts = opts.expect("mounted");
        for w in want {
            assert!(opts.split(',').any(|o| o == *w), "{w} missing from {opts}");
        }
    };
    let applied = ["nosuid", "nodev", "noexec", "noatime"];
    has_all(mount_options(&staging), &applied);
    csi.call(n.node_stage_volume(stage(&flags))).unwrap();
    assert_eq!(
        code(csi.call(n.node_stage_volume(stage(&["ro"])))),
        Code::AlreadyExists
    );

    csi.call(n.node_publish_volume(publish(&target, &flags)))
        .unwrap();
    has_all(mount_options(&target), &applied);
    // noexec is real: a program in the volume does not run.
    let program = Path::new(&target).join("run.sh");
    fs::write(&program, "#!/bin/sh\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
    let err = std::process::Command::new(&program).status().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied, "{err}");
    csi.call(n.node_publish_volume(publish(&target, &flags)))
        .unwrap();
    assert_eq!(
        code(csi.call(n.node_publish_volume(publish(&target, &["exec"])))),
        Code::AlreadyExists
    );
    // `ro` among the mount options makes a read-only publish; `exec` clears the inherited
    // noexec of the staging mount.
    let (_, second) = csi.paths("opts-ro");
    csi.call(n.node_publish_volume(publish(&second, &["ro", "exec"])))
        .unwrap();
    let opts = mount_options(&second).unwrap();
    assert!(
        opts.starts_with("ro,") && !opts.contains("noexec"),
        "{opts}"
    );
    let err = fs::write(Path::new(&second).join("x"), b"x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
}

#[test]
fn a_volume_whose_directory_vanished_is_reported_lost_not_recreated_empty() {
    let mut csi = Csi::start(1, DRIVE);
    let id = csi
        .create("pvc-gone", (8 * MIB) as i64, &[])
        .unwrap()
        .volume_id;
    let (staging, _) = csi.paths("gone");
    csi.stage(&id, &staging).unwrap();
    fs::write(Path::new(&staging).join("precious"), b"data").unwrap();
    csi.unstage(&id, &staging).unwrap();
    let dir = csi
        .mount_point(&csi.drive_ids()[0])
        .join("volumes")
        .join(&id);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code(csi.stage(&id, &staging)), Code::DataLoss);
    assert!(
        !dir.exists(),
        "an empty directory must not stand in for the lost one"
    );
}

#[test]
fn a_single_writer_volume_is_published_at_one_target_only() {
    let mut csi = Csi::start(1, DRIVE);
    let id = csi
        .create("pvc-sw", (8 * MIB) as i64, &[])
        .unwrap()
        .volume_id;
    let (staging, target) = csi.paths("sw");
    let (_, second) = csi.paths("sw-second");
    csi.stage(&id, &staging).unwrap();
    let publish = |target: &str| NodePublishVolumeRequest {
        volume_id: id.clone(),
        staging_target_path: staging.clone(),
        target_path: target.into(),
        volume_capability: Some(cap_with_mode(Mode::SingleNodeSingleWriter)),
        ..Default::default()
    };
    let mut n = csi.node();
    csi.call(n.node_publish_volume(publish(&target))).unwrap();
    csi.call(n.node_publish_volume(publish(&target))).unwrap();
    assert_eq!(
        code(csi.call(n.node_publish_volume(publish(&second)))),
        Code::FailedPrecondition
    );
    // Multi-writer on one node may publish at both.
    csi.publish(&id, &staging, &second, false).unwrap();
}

#[test]
fn volumes_of_one_pod_land_on_distinct_drives() {
    let mut csi = Csi::start(2, DRIVE);
    let pod = |claim: &'static str, spread: &'static str| {
        [
            ("csi.storage.k8s.io/pvc/name", claim),
            ("csi.storage.k8s.io/pvc/namespace", "tenant-a"),
            ("spread", spread),
        ]
    };
    let a = csi
        .create(
            "pvc-a",
            (8 * MIB) as i64,
            &pod("data0-pool-0-0", "required"),
        )
        .unwrap();
    let b = csi
        .create(
            "pvc-b",
            (8 * MIB) as i64,
            &pod("data1-pool-0-0", "required"),
        )
        .unwrap();
    let drive_of = |v: &Volume| v.volume_context["strata.dev/drive"].clone();
    assert_ne!(
        drive_of(&a),
        drive_of(&b),
        "two volumes of one pod share a drive"
    );
    // A third volume of the same pod has no distinct drive left: strictly refused...
    let err = csi
        .create(
            "pvc-c",
            (8 * MIB) as i64,
            &pod("data2-pool-0-0", "required"),
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("same pod"), "{}", err.message());
    // ...and shared when spreading is only preferred.
    csi.create(
        "pvc-c",
        (8 * MIB) as i64,
        &pod("data2-pool-0-0", "preferred"),
    )
    .unwrap();
    // Another pod's volume is free to use either drive.
    csi.create(
        "pvc-d",
        (8 * MIB) as i64,
        &pod("data0-pool-0-1", "required"),
    )
    .unwrap();
}

#[test]
fn fifty_parallel_creates_never_overcommit() {
    let mut csi = Csi::start(2, DRIVE);
    let ids = csi.drive_ids();
    let state = csi.state();
    let caps: Vec<u64> = ids
        .iter()
        .map(|id| state["drives"][id]["capacityBytes"].as_u64().unwrap())
        .collect();
    let size = 24 * MIB;
    let fit: u64 = caps.iter().map(|c| c / size).sum();
    assert!(fit < 50, "the test needs more requests than room ({fit})");
    let node = csi.lab.node.clone();
    let controller = csi.controller();
    let results: Vec<Result<Volume, tonic::Status>> = csi.rt.block_on(async {
        let calls = (0..50).map(|i| {
            let mut c = controller.clone();
            let req = create_request(&format!("pvc-par-{i}"), size as i64, &[], &node);
            async move {
                c.create_volume(req)
                    .await
                    .map(|r| r.into_inner().volume.unwrap())
            }
        });
        futures_util::future::join_all(calls).await
    });
    let ok = results.iter().filter(|r| r.is_ok()).count() as u64;
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
        }
    }
    assert_eq!(ok, fit, "every volume that fits is created, no more");
    let state = csi.state();
    for (id, cap) in ids.iter().zip(&caps) {
        let used: u64 = state["volumes"]
            .as_object()
            .unwrap()
            .values()
            .filter(|v| v["driveId"] == id.as_str())
            .map(|v| v["capacityBytes"].as_u64().unwrap())
            .sum();
        assert!(used <= *cap, "drive {id} overcommitted: {used} > {cap}");
    }
    // Every project id on a drive is distinct.
    let mut pids: Vec<(String, u64)> = state["volumes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| {
            (
                v["driveId"].as_str().unwrap().to_string(),
                v["projectId"].as_u64().unwrap(),
            )
        })
        .collect();
    pids.sort();
    let before = pids.len();
    pids.dedup();
    assert_eq!(pids.len(), before, "a project id was handed out twice");
}

#[test]
fn a_restarted_plugin_keeps_every_volume_usable() {
    let mut csi = Csi::start(2, DRIVE);
    let mut vols = Vec::new();
    for i in 0..3 {
        let id = csi
            .create(&format!("pvc-r{i}"), (8 * MIB) as i64, &[])
            .unwrap()
            .volume_id;
        let (staging, target) = csi.paths(&format!("r{i}"));
        csi.stage(&id, &staging).unwrap();
        csi.publish(&id, &staging, &target, false).unwrap();
        fs::write(Path::new(&target).join("before"), format!("volume {i}")).unwrap();
        vols.push((id, staging, target));
    }
    csi.restart();
    for (i, (id, staging, target)) in vols.iter().enumerate() {
        // Kubelet repeats stage and publish after a plugin restart: both are no-ops now.
        csi.stage(id, staging).unwrap();
        csi.publish(id, staging, target, false).unwrap();
        assert_eq!(
            fs::read_to_string(Path::new(target).join("before")).unwrap(),
            format!("volume {i}")
        );
        fs::write(Path::new(target).join("after"), b"ok").unwrap();
        let stats = csi.stats(id, target).unwrap();
        assert_eq!(bytes_usage(&stats).total, (8 * MIB) as i64);
    }
    // New volumes after the restart get fresh project ids.
    let new = csi
        .create("pvc-after", (8 * MIB) as i64, &[])
        .unwrap()
        .volume_id;
    let state = csi.state();
    let key = |id: &str| {
        let v = &state["volumes"][id];
        (v["driveId"].clone(), v["projectId"].as_u64().unwrap())
    };
    for (id, _, _) in &vols {
        assert_ne!(key(id), key(&new), "project id reused on one drive");
    }
}

#[test]
fn an_interrupted_delete_finishes_at_the_next_start() {
    let mut csi = Csi::start(1, DRIVE);
    let (available, _) = csi.capacity(None);
    let id = csi
        .create("pvc-del", (8 * MIB) as i64, &[])
        .unwrap()
        .volume_id;
    let (staging, _) = csi.paths("del");
    csi.stage(&id, &staging).unwrap();
    fs::write(Path::new(&staging).join("payload"), vec![1u8; 1 << 20]).unwrap();
    csi.unstage(&id, &staging).unwrap();
    csi.kill();
    // A crash mid-delete: the record says deleting and the data is half renamed away.
    let drive = csi.drive_ids()[0].clone();
    let volumes = csi.mount_point(&drive).join("volumes");
    fs::rename(volumes.join(&id), volumes.join(format!(".deleting-{id}"))).unwrap();
    let mut state = csi.state();
    state["volumes"][&id]["phase"] = "Deleting".into();
    fs::write(&csi.state_file, serde_json::to_vec(&state).unwrap()).unwrap();

    csi.launch();
    assert_eq!(csi.state()["volumes"], serde_json::json!({}));
    assert_eq!(
        fs::read_dir(&volumes).unwrap().count(),
        0,
        "data left behind"
    );
    assert_eq!(csi.capacity(None).0, available);
    // Deleting again is still fine (idempotent).
    csi.delete(&id).unwrap();
}

#[test]
fn a_lost_drive_makes_its_volumes_abnormal_and_leaves_capacity() {
    let mut csi = Csi::start(2, DRIVE);
    let ids = csi.drive_ids();
    let vol = csi.create("pvc-lost", (8 * MIB) as i64, &[]).unwrap();
    let lost = vol.volume_context["strata.dev/drive"].clone();
    let lost_index = ids.iter().position(|d| *d == lost).unwrap();
    let (_, largest_before) = csi.capacity(None);
    csi.kill();
    // The drive disappears: unmounted and its loop device detached.
    let mp = csi.mount_point(&lost);
    assert!(std::process::Command::new("umount")
        .arg(&mp)
        .status()
        .unwrap()
        .success());
    csi.drives[lost_index].detach_and_wait();
    csi.launch();

    let state = csi.state();
    assert_eq!(
        state["drives"][&lost]["state"],
        "Lost",
        "{state}\n{}",
        csi.log_text()
    );
    let mut c = csi.controller();
    let listed = csi
        .call(c.list_volumes(ListVolumesRequest::default()))
        .unwrap();
    let cond = listed.entries[0]
        .status
        .as_ref()
        .unwrap()
        .volume_condition
        .clone()
        .unwrap();
    assert!(cond.abnormal, "{cond:?}");
    let (_, largest_after) = csi.capacity(None);
    assert!(largest_after <= largest_before);
    let stats = csi.stats(&vol.volume_id, "/nonexistent").unwrap();
    assert!(stats.volume_condition.unwrap().abnormal);
    // Staging a volume of a lost drive is refused, not faked.
    let (staging, _) = csi.paths("lost");
    assert_eq!(
        code(csi.stage(&vol.volume_id, &staging)),
        Code::FailedPrecondition
    );
    // New volumes avoid the lost drive.
    let other = csi.create("pvc-other", (8 * MIB) as i64, &[]).unwrap();
    assert_ne!(other.volume_context["strata.dev/drive"], lost);
    // Deleting a volume of a lost drive answers OK and hides it; its data and reservation
    // wait for the drive (the record stays, deleting).
    csi.delete(&vol.volume_id).unwrap();
    let mut c = csi.controller();
    let listed = csi
        .call(c.list_volumes(ListVolumesRequest::default()))
        .unwrap();
    let ids: Vec<String> = listed
        .entries
        .iter()
        .map(|e| e.volume.as_ref().unwrap().volume_id.clone())
        .collect();
    assert_eq!(ids, vec![other.volume_id.clone()]);
    assert_eq!(csi.state()["volumes"][&vol.volume_id]["phase"], "Deleting");
}

#[test]
fn a_drive_that_vanishes_is_lost_at_the_next_pass_and_ready_again_when_it_returns() {
    let mut csi = Csi::start(2, DRIVE);
    let ids = csi.drive_ids();
    let (kept, gone) = (ids[0].clone(), ids[1].clone());
    let (total, _) = csi.capacity(None);
    // Pulled while the plugin runs: its loop device goes as soon as it is unmounted.
    let mp = csi.mount_point(&gone);
    let detached = std::process::Command::new("losetup")
        .args(["-d", &csi.drives[1].dev])
        .status()
        .unwrap();
    assert!(detached.success());
    let unmounted = std::process::Command::new("umount")
        .arg(&mp)
        .status()
        .unwrap();
    assert!(unmounted.success());
    csi.drives[1].detach_and_wait();
    let state_of = |c: &Csi, id: &str| c.state()["drives"][id]["state"].clone();
    csi.wait_for("the pulled drive marked Lost", |c| {
        state_of(c, &gone) == "Lost"
    });
    let message = csi.state()["drives"][&gone]["message"].to_string();
    assert!(message.contains("not found"), "{message}");
    let (without, largest) = csi.capacity(None);
    assert!(without < total, "{without} of {total}");
    assert!(largest <= without);
    // Placement no longer offers it.
    for i in 0..3 {
        let v = csi
            .create(&format!("pvc-v{i}"), (8 * MIB) as i64, &[])
            .unwrap();
        assert_eq!(v.volume_context["strata.dev/drive"], kept);
    }

    // Put back, under another device name: mounted by its filesystem UUID again, Ready.
    csi.drives[1].reattach();
    csi.wait_for("the drive back and Ready", |c| {
        state_of(c, &gone) == "Ready"
    });
    assert!(csi.state()["drives"][&gone].get("message").is_none());
    assert!(mp.join("volumes").is_dir(), "mounted at its place again");
    assert_eq!(csi.capacity(None).0, total - (24 * MIB) as i64);
    // The emptier drive takes the next volume, which works.
    let v = csi.create("pvc-back", (8 * MIB) as i64, &[]).unwrap();
    assert_eq!(v.volume_context["strata.dev/drive"], gone);
    let (staging, target) = csi.paths("back");
    csi.stage(&v.volume_id, &staging).unwrap();
    csi.publish(&v.volume_id, &staging, &target, false).unwrap();
    fs::write(Path::new(&target).join("f"), b"back").unwrap();
}

#[test]
fn a_drive_that_does_not_enforce_its_quotas_serves_no_volume_unlimited() {
    let mut csi = Csi::start(1, DRIVE);
    let id = csi
        .create("pvc-q", (8 * MIB) as i64, &[])
        .unwrap()
        .volume_id;
    let drive = csi.drive_ids()[0].clone();
    let mp = csi.mount_point(&drive);
    csi.kill();
    if quota_supported() {
        // Mounted again by hand without prjquota: the quotas it was formatted with are off.
        let dev = csi.drives[0].dev.clone();
        for cmd in [
            vec!["umount", mp.to_str().unwrap()],
            vec!["mount", "-t", "xfs", &dev, mp.to_str().unwrap()],
        ] {
            let ok = std::process::Command::new(cmd[0])
                .args(&cmd[1..])
                .status()
                .unwrap();
            assert!(ok.success(), "{cmd:?}");
        }
    } else {
        // This kernel has no XFS quotas: the drive says it was formatted with them (as on
        // a node whose kernel lost them), and nothing here enforces them.
        let identity = mp.join(".strata/drive.json");
        let mut id_json: serde_json::Value =
            serde_json::from_slice(&fs::read(&identity).unwrap()).unwrap();
        id_json["project_quota"] = true.into();
        fs::write(&identity, serde_json::to_vec(&id_json).unwrap()).unwrap();
        let registry = csi.lab.state().join("drives.json");
        let mut reg: serde_json::Value =
            serde_json::from_slice(&fs::read(&registry).unwrap()).unwrap();
        reg["drives"][0]["project_quota"] = true.into();
        fs::write(&registry, serde_json::to_vec(&reg).unwrap()).unwrap();
    }
    csi.launch();
    let d = &csi.state()["drives"][&drive];
    assert_eq!(d["state"], "Lost", "{d}");
    assert!(d["message"].to_string().contains("quota"), "{d}");
    // Staging is refused, saying why, rather than giving the pod an unlimited volume.
    let (staging, _) = csi.paths("q");
    let err = csi.stage(&id, &staging).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("quota"), "{}", err.message());
    assert_eq!(mount_options(&staging), None);
    let stats = csi.stats(&id, "/nonexistent").unwrap();
    let condition = stats.volume_condition.unwrap();
    assert!(
        condition.abnormal && condition.message.contains("quota"),
        "{condition:?}"
    );
    let log = csi.log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains(&drive) && l.contains("quota")),
        "{log}"
    );
}

#[test]
fn a_plugin_whose_node_id_names_none_of_its_drives_is_not_ready_and_says_why() {
    // Drives formatted with the host's name, the plugin started with another (the
    // Kubernetes node name): it serves nothing, so it must not say it is ready.
    let mut csi = Csi::formatted(2, DRIVE, "all", Some("host-a.example"));
    let ids = csi.drive_ids();
    csi.spawn();
    let node = csi.lab.node.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !csi.log_text().contains("drives published") {
        assert!(std::time::Instant::now() < deadline, "{}", csi.log_text());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for _ in 0..5 {
        assert_eq!(csi.probe(), Some(false), "{}", csi.log_text());
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let log = csi.log_text();
    let loud = log
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("host-a.example"))
        .unwrap_or_else(|| panic!("no error naming the drives' node:\n{log}"));
    for id in &ids {
        assert!(loud.contains(id.as_str()), "{id} not named: {loud}");
    }
    assert!(loud.contains(&node), "{loud}");
    // None of them published for placement (nothing changed: no state written at all).
    assert!(!csi.state_file.exists() || csi.state()["drives"] == serde_json::json!({}));
}

#[test]
fn errors_are_the_codes_the_spec_names() {
    let mut csi = Csi::start(1, DRIVE);
    let node = csi.lab.node.clone();
    let mut c = csi.controller();
    let mut req = create_request("", MIB as i64, &[], &node);
    assert_eq!(
        code(csi.call(c.create_volume(req.clone()))),
        Code::InvalidArgument
    );
    req.name = "pvc-e".into();
    req.volume_capabilities.clear();
    assert_eq!(
        code(csi.call(c.create_volume(req.clone()))),
        Code::InvalidArgument
    );
    req.volume_capabilities = vec![cap_with_mode(Mode::MultiNodeMultiWriter)];
    assert_eq!(
        code(csi.call(c.create_volume(req.clone()))),
        Code::InvalidArgument
    );
    assert_eq!(
        code(csi.create("pvc-e", MIB as i64, &[("teir", "hot")])),
        Code::InvalidArgument
    );
    // A key with a `/` is no exception: only Kubernetes' own csi.storage.k8s.io/ keys pass.
    for key in ["strata.dev/teir", "example.com/tier"] {
        let err = csi
            .create("pvc-e", MIB as i64, &[(key, "hot")])
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{key}: {err:?}");
        assert!(err.message().contains(key), "{key}: {}", err.message());
    }
    assert!(csi.state()["volumes"].get("pvc-e").is_none());
    assert_eq!(
        code(csi.create("pvc-e", MIB as i64, &[("tier", "lukewarm")])),
        Code::InvalidArgument
    );
    // Larger than any drive: OutOfRange; larger than the free space: ResourceExhausted.
    assert_eq!(
        code(csi.create("pvc-huge", (10 * 1024 * MIB) as i64, &[])),
        Code::OutOfRange
    );
    let mut bad_range = create_request("pvc-range", (2 * MIB) as i64, &[], &node);
    bad_range.capacity_range.as_mut().unwrap().limit_bytes = MIB as i64;
    assert_eq!(code(csi.call(c.create_volume(bad_range))), Code::OutOfRange);
    let (available, _) = csi.capacity(None);
    csi.create("pvc-big", available - (4 * MIB) as i64, &[])
        .unwrap();
    assert_eq!(
        code(csi.create("pvc-next", (8 * MIB) as i64, &[])),
        Code::ResourceExhausted
    );
    // No hot drive on this node when the loop drive is another tier, and vice versa.
    let tier = csi.state()["drives"][&csi.drive_ids()[0]]["tier"]
        .as_str()
        .unwrap()
        .to_string();
    let other = if tier == "cold" { "hot" } else { "cold" };
    assert_eq!(
        code(csi.create("pvc-tier", MIB as i64, &[("tier", other)])),
        Code::ResourceExhausted
    );
    // Same name, other size.
    csi.create("pvc-e", MIB as i64, &[]).unwrap();
    assert_eq!(
        code(csi.create("pvc-e", (2 * MIB) as i64, &[])),
        Code::AlreadyExists
    );
    // A name that is another name's volume id: that volume exists, and is not this one.
    let long = "n".repeat(200);
    let hashed = csi.create(&long, MIB as i64, &[]).unwrap().volume_id;
    assert_eq!(hashed, strata::csi::request::volume_id_for(&long));
    assert_eq!(
        code(csi.create(&hashed, MIB as i64, &[])),
        Code::AlreadyExists
    );

    // Volume ids and paths.
    let mut c = csi.controller();
    assert_eq!(
        code(csi.call(c.delete_volume(DeleteVolumeRequest::default()))),
        Code::InvalidArgument
    );
    let unknown = ValidateVolumeCapabilitiesRequest {
        volume_id: "pvc-nope".into(),
        volume_capabilities: vec![mount_cap()],
        ..Default::default()
    };
    assert_eq!(
        code(csi.call(c.validate_volume_capabilities(unknown))),
        Code::NotFound
    );
    let no_caps = ValidateVolumeCapabilitiesRequest {
        volume_id: "pvc-e".into(),
        ..Default::default()
    };
    assert_eq!(
        code(csi.call(c.validate_volume_capabilities(no_caps))),
        Code::InvalidArgument
    );
    let expand_unknown = ControllerExpandVolumeRequest {
        volume_id: "pvc-nope".into(),
        capacity_range: Some(CapacityRange {
            required_bytes: MIB as i64,
            limit_bytes: 0,
        }),
        ..Default::default()
    };
    assert_eq!(
        code(csi.call(c.controller_expand_volume(expand_unknown))),
        Code::NotFound
    );
    let expand_too_far = ControllerExpandVolumeRequest {
        volume_id: "pvc-e".into(),
        capacity_range: Some(CapacityRange {
            required_bytes: (64 * MIB) as i64,
            limit_bytes: 0,
        }),
        ..Default::default()
    };
    assert_eq!(
        code(csi.call(c.controller_expand_volume(expand_too_far))),
        Code::OutOfRange
    );
    let token = ListVolumesRequest {
        max_entries: 1,
        starting_token: "bogus".into(),
    };
    assert_eq!(code(csi.call(c.list_volumes(token))), Code::Aborted);
    let negative = ListVolumesRequest {
        max_entries: -1,
        starting_token: String::new(),
    };
    assert_eq!(
        code(csi.call(c.list_volumes(negative))),
        Code::InvalidArgument
    );
    assert_eq!(
        code(csi.call(c.create_snapshot(CreateSnapshotRequest::default()))),
        Code::Unimplemented
    );

    let (staging, target) = csi.paths("err");
    assert_eq!(code(csi.stage("", &staging)), Code::InvalidArgument);
    assert_eq!(code(csi.stage("pvc-e", "")), Code::InvalidArgument);
    // Relative mount paths would land in the plugin's working directory.
    assert_eq!(
        code(csi.stage("pvc-e", "relative/staging")),
        Code::InvalidArgument
    );
    assert_eq!(
        code(csi.publish("pvc-e", &staging, "relative/target", false)),
        Code::InvalidArgument
    );
    assert_eq!(
        code(csi.unpublish("pvc-e", "relative/target")),
        Code::InvalidArgument
    );
    assert_eq!(code(csi.stage("pvc-nope", &staging)), Code::NotFound);
    let mut n = csi.node();
    let no_cap = NodeStageVolumeRequest {
        volume_id: "pvc-e".into(),
        staging_target_path: staging.clone(),
        ..Default::default()
    };
    assert_eq!(
        code(csi.call(n.node_stage_volume(no_cap))),
        Code::InvalidArgument
    );
    // Publishing what was never staged, or without a staging path.
    assert_eq!(
        code(csi.publish("pvc-e", &staging, &target, false)),
        Code::FailedPrecondition
    );
    assert_eq!(
        code(csi.publish("pvc-e", "", &target, false)),
        Code::FailedPrecondition
    );
    // A capability the plugin cannot serve "exceeds capabilities".
    let block = NodeStageVolumeRequest {
        volume_id: "pvc-e".into(),
        staging_target_path: staging.clone(),
        volume_capability: Some(VolumeCapability {
            access_type: Some(volume_capability::AccessType::Block(
                volume_capability::BlockVolume {},
            )),
            ..mount_cap()
        }),
        ..Default::default()
    };
    let mut n = csi.node();
    assert_eq!(
        code(csi.call(n.node_stage_volume(block))),
        Code::FailedPrecondition
    );
    assert_eq!(
        code(csi.publish("pvc-e", &staging, "", false)),
        Code::InvalidArgument
    );
    assert_eq!(code(csi.unpublish("", &target)), Code::InvalidArgument);
    assert_eq!(code(csi.unpublish("pvc-e", "")), Code::InvalidArgument);
    assert_eq!(code(csi.unstage("pvc-e", "")), Code::InvalidArgument);
    assert_eq!(code(csi.stats("pvc-nope", &target)), Code::NotFound);
    assert_eq!(code(csi.stats("pvc-e", "")), Code::InvalidArgument);
    assert_eq!(
        code(csi.stats("pvc-e", &target)),
        Code::NotFound,
        "not published there"
    );
    let expand = NodeExpandVolumeRequest {
        volume_id: "pvc-e".into(),
        volume_path: String::new(),
        ..Default::default()
    };
    assert_eq!(
        code(csi.call(n.node_expand_volume(expand))),
        Code::InvalidArgument
    );
    // Deleting the volume while it is staged is refused and leaves it usable; unstaged, it goes.
    csi.stage("pvc-e", &staging).unwrap();
    assert_eq!(code(csi.delete("pvc-e")), Code::FailedPrecondition);
    csi.publish("pvc-e", &staging, &target, false).unwrap();
    csi.unpublish("pvc-e", &target).unwrap();
    csi.unstage("pvc-e", &staging).unwrap();
    csi.delete("pvc-e").unwrap();
    // A deleted volume is gone for ValidateVolumeCapabilities too.
    let validate = ValidateVolumeCapabilitiesRequest {
        volume_id: "pvc-e".into(),
        volume_capabilities: vec![mount_cap()],
        ..Default::default()
    };
    let mut c = csi.controller();
    assert_eq!(
        code(csi.call(c.validate_volume_capabilities(validate))),
        Code::NotFound
    );
}

#[test]
fn every_rpc_twice_gives_the_same_answer() {
    let mut csi = Csi::start(1, DRIVE);
    let node = csi.lab.node.clone();
    let req = create_request("pvc-twice", (8 * MIB) as i64, &[], &node);
    let mut c = csi.controller();
    let a = csi.call(c.create_volume(req.clone())).unwrap();
    let b = csi.call(c.create_volume(req)).unwrap();
    assert_eq!(a, b);
    let id = a.volume.unwrap().volume_id;
    let validate = ValidateVolumeCapabilitiesRequest {
        volume_id: id.clone(),
        volume_capabilities: vec![mount_cap()],
        ..Default::default()
    };
    let v1 = csi
        .call(c.validate_volume_capabilities(validate.clone()))
        .unwrap();
    assert!(v1.confirmed.is_some());
    assert_eq!(
        v1,
        csi.call(c.validate_volume_capabilities(validate)).unwrap()
    );
    let l1 = csi
        .call(c.list_volumes(ListVolumesRequest::default()))
        .unwrap();
    assert_eq!(
        l1,
        csi.call(c.list_volumes(ListVolumesRequest::default()))
            .unwrap()
    );
    assert_eq!(csi.capacity(None), csi.capacity(None));
    let expand = ControllerExpandVolumeRequest {
        volume_id: id.clone(),
        capacity_range: Some(CapacityRange {
            required_bytes: (12 * MIB) as i64,
            limit_bytes: 0,
        }),
        ..Default::default()
    };
    let e1 = csi
        .call(c.controller_expand_volume(expand.clone()))
        .unwrap();
    assert_eq!(e1, csi.call(c.controller_expand_volume(expand)).unwrap());

    let (staging, target) = csi.paths("twice");
    csi.stage(&id, &staging).unwrap();
    csi.stage(&id, &staging).unwrap();
    csi.publish(&id, &staging, &target, false).unwrap();
    csi.publish(&id, &staging, &target, false).unwrap();
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let count = |p: &str| {
        mounts
            .lines()
            .filter(|l| l.split(' ').nth(4) == Some(p))
            .count()
    };
    assert_eq!(count(&staging), 1, "staging mounted once");
    assert_eq!(count(&target), 1, "target mounted once");
    let s1 = csi.stats(&id, &target).unwrap();
    assert_eq!(s1, csi.stats(&id, &target).unwrap());
    let mut n = csi.node();
    let grow = NodeExpandVolumeRequest {
        volume_id: id.clone(),
        volume_path: target.clone(),
        capacity_range: Some(CapacityRange {
            required_bytes: (12 * MIB) as i64,
            limit_bytes: 0,
        }),
        ..Default::default()
    };
    let g1 = csi.call(n.node_expand_volume(grow.clone())).unwrap();
    assert_eq!(g1, csi.call(n.node_expand_volume(grow)).unwrap());
    csi.unpublish(&id, &target).unwrap();
    csi.unpublish(&id, &target).unwrap();
    csi.unstage(&id, &staging).unwrap();
    csi.unstage(&id, &staging).unwrap();
    csi.delete(&id).unwrap();
    csi.delete(&id).unwrap();
    // Unpublish/unstage of a volume that is gone altogether is still fine.
    csi.unpublish(&id, &target).unwrap();
    csi.unstage(&id, &staging).unwrap();
}

#[test]
fn a_separate_controller_and_node_plugin_share_the_state_file() {
    let mut csi = Csi::start_mode(1, DRIVE, "node");
    let ctl = Controller::start(&csi);
    let node = csi.lab.node.clone();
    let mut c = ctl.client.clone();
    let (available, _) = csi.capacity_from(&mut c);
    let req = create_request("pvc-split", (8 * MIB) as i64, &[], &node);
    let vol = csi.call(c.create_volume(req)).unwrap().volume.unwrap();
    let id = vol.volume_id;
    let (staging, target) = csi.paths("split");
    csi.stage(&id, &staging).unwrap();
    csi.publish(&id, &staging, &target, false).unwrap();
    fs::write(Path::new(&target).join("f"), b"data").unwrap();
    let delete = DeleteVolumeRequest {
        volume_id: id.clone(),
        ..Default::default()
    };
    // In use: refused by the controller, which sees the node's mounts only in the state.
    let err = csi.call(c.delete_volume(delete.clone())).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains(&target), "{}", err.message());
    csi.unpublish(&id, &target).unwrap();
    let err = csi.call(c.delete_volume(delete.clone())).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains(&staging), "{}", err.message());
    // Refused means untouched: after the node plugin's next passes the data is still there.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(csi.state()["volumes"][&id]["phase"], "Ready");
    assert_eq!(fs::read(Path::new(&staging).join("f")).unwrap(), b"data");
    csi.unstage(&id, &staging).unwrap();
    csi.call(c.delete_volume(delete)).unwrap();
    // The controller only marks it; the node plugin's next pass removes it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while csi.state()["volumes"].get(&id).is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the node plugin did not finish the delete:\n{}",
            csi.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let drive = csi.drive_ids()[0].clone();
    assert!(!csi.mount_point(&drive).join("volumes").join(&id).exists());
    assert_eq!(csi.capacity_from(&mut c).0, available);
}

#[test]
fn a_mount_record_left_behind_does_not_block_deletes_for_ever() {
    // The node lost its mounts without the plugin unstaging (a reboot; an operator's umount):
    // its next pass finds the recorded mount gone and drops the record.
    let mut csi = Csi::start_mode(1, DRIVE, "node");
    let ctl = Controller::start(&csi);
    let node = csi.lab.node.clone();
    let mut c = ctl.client.clone();
    let req = create_request("pvc-stale", (8 * MIB) as i64, &[], &node);
    let id = csi
        .call(c.create_volume(req))
        .unwrap()
        .volume
        .unwrap()
        .volume_id;
    let (staging, _) = csi.paths("stale");
    csi.stage(&id, &staging).unwrap();
    let delete = DeleteVolumeRequest {
        volume_id: id.clone(),
        ..Default::default()
    };
    assert_eq!(
        code(csi.call(c.delete_volume(delete.clone()))),
        Code::FailedPrecondition
    );
    assert!(std::process::Command::new("umount")
        .arg(&staging)
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        match csi.call(c.delete_volume(delete.clone())) {
            Ok(_) => break,
            Err(e) if e.code() == Code::FailedPrecondition => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "record never dropped: {e:?}\n{}",
                    csi.log_text()
                );
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

#[test]
fn failed_calls_are_logged_with_their_method_and_code() {
    let mut csi = Csi::start(1, DRIVE);
    let (staging, _) = csi.paths("logged");
    assert_eq!(code(csi.stage("pvc-nobody", &staging)), Code::NotFound);
    csi.wait_for("the failed call in the log", |c| {
        c.log_text().lines().any(|l| {
            l.contains("/csi.v1.Node/NodeStageVolume")
                && l.contains("NotFound")
                && l.contains("volume pvc-nobody does not exist")
        })
    });
}

/// A volume created but never staged is on its drive at once (`all`: at CreateVolume), or by the
/// node plugin's next pass (a separate controller): `drivectl release` counts it and refuses,
/// instead of wiping the drive under a volume Kubernetes has bound.
#[test]
fn a_drive_holding_only_unstaged_volumes_is_not_released() {
    for mode in ["all", "node"] {
        let mut csi = Csi::start_mode(1, DRIVE, mode);
        let node = csi.lab.node.clone();
        let ctl = (mode == "node").then(|| Controller::start(&csi));
        let req = create_request("pvc-unstaged", (8 * MIB) as i64, &[], &node);
        let vol = match &ctl {
            Some(ctl) => csi
                .call(ctl.client.clone().create_volume(req))
                .map(|r| r.volume.unwrap()),
            None => csi.create("pvc-unstaged", (8 * MIB) as i64, &[]),
        };
        let id = vol.unwrap().volume_id;
        let drive = csi.drive_ids()[0].clone();
        let dir = csi.mount_point(&drive).join("volumes").join(&id);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !dir.is_dir() {
            assert!(
                std::time::Instant::now() < deadline,
                "{mode}: the volume never reached its drive:\n{}",
                csi.log_text()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let out = csi.lab.drivectl(&["release", &drive, "--dangerous"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{mode}: released: {err}");
        assert!(err.contains("holds 1 volume"), "{mode}: {err}");
        assert!(dir.is_dir(), "{mode}");
    }
}

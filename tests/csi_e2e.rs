//! Drives to objects, end to end: four loop drives formatted by drivectl, four volumes
//! provisioned, staged and published through the CSI socket (one per drive), `strata server`
//! on the four published paths, objects round-tripped with the AWS CLI, then one drive taken
//! away and every object still read back (run as root).

use crate::common;
use crate::csi_support;
use crate::s3_support;

use common::MIB;
use csi_support::Csi;
use s3_support::Server;
use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn umount_lazy(path: &str) {
    let ok = Command::new("umount")
        .arg("-l")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "umount -l {path}");
}

#[test]
fn drives_to_objects_and_one_drive_lost() {
    let mut csi = Csi::start(4, 512 * MIB);
    let mut published = Vec::new();
    let mut drives = HashSet::new();
    for i in 0..4 {
        let claim = format!("data{i}-tenant-pool-0-0");
        let params = [
            ("csi.storage.k8s.io/pvc/name", claim.as_str()),
            ("csi.storage.k8s.io/pvc/namespace", "tenant"),
            ("spread", "required"),
        ];
        let vol = csi
            .create(&format!("pvc-e2e-{i}"), (256 * MIB) as i64, &params)
            .unwrap();
        drives.insert(vol.volume_context["strata.dev/drive"].clone());
        let (staging, target) = csi.paths(&format!("e2e-{i}"));
        csi.stage(&vol.volume_id, &staging).unwrap();
        csi.publish(&vol.volume_id, &staging, &target, false)
            .unwrap();
        published.push((vol, staging, target));
    }
    assert_eq!(drives.len(), 4, "one volume per drive");

    let paths: Vec<PathBuf> = published.iter().map(|(_, _, t)| t.into()).collect();
    let server = Server::start_on(paths, &[]);
    let work = server.work();
    let objects: Vec<(String, usize)> = vec![
        ("small.txt".into(), 1000),
        ("one-block.bin".into(), 1 << 20),
        ("multi-block.bin".into(), 5 * (1 << 20) + 123),
        ("dir/multipart.bin".into(), 20 * (1 << 20)),
    ];
    server.aws_ok(&["s3", "mb", "s3://e2e"]);
    for (i, (key, len)) in objects.iter().enumerate() {
        let data: Vec<u8> = (0..*len).map(|b| (b * 31 + i * 7) as u8).collect();
        let src = work.join(format!("src-{i}"));
        fs::write(&src, &data).unwrap();
        server.aws_ok(&[
            "s3",
            "cp",
            src.to_str().unwrap(),
            &format!("s3://e2e/{key}"),
        ]);
    }
    let listing = server.aws_ok(&["s3", "ls", "--recursive", "s3://e2e"]);
    for (key, _) in &objects {
        assert!(
            listing.contains(key.as_str()),
            "{key} not listed:\n{listing}"
        );
    }
    // The objects' shards really are on the CSI volumes.
    for (_, _, target) in &published {
        let entries = fs::read_dir(target).unwrap().count();
        assert!(entries > 0, "nothing written to {target}");
    }

    // One drive goes away: its publish, staging and drive mounts are pulled and the loop
    // device detached, while the server keeps running.
    let (lost, staging, target) = &published[1];
    let drive = lost.volume_context["strata.dev/drive"].clone();
    umount_lazy(target);
    umount_lazy(staging);
    umount_lazy(csi.mount_point(&drive).to_str().unwrap());
    let index = csi
        .drive_ids()
        .iter()
        .position(|d| *d == drive)
        .expect("lost drive among the loop devices");
    csi.drives[index].detach_and_wait();
    assert_eq!(
        fs::read_dir(target).unwrap().count(),
        0,
        "{target} still shows data"
    );

    for (i, (key, len)) in objects.iter().enumerate() {
        let out = work.join(format!("out-{i}"));
        server.aws_ok(&[
            "s3",
            "cp",
            &format!("s3://e2e/{key}"),
            out.to_str().unwrap(),
        ]);
        let got = fs::read(&out).unwrap();
        assert_eq!(got.len(), *len, "{key}");
        let want: Vec<u8> = (0..*len).map(|b| (b * 31 + i * 7) as u8).collect();
        assert!(got == want, "{key} differs after losing a drive");
    }
}

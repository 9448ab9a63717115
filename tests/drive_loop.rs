//! drivectl on real loop devices with real XFS (run as root).

use crate::common;

use common::{quota_supported, stderr, Lab, LoopDevice, MIB};
use std::fs;
use std::process::Command;

const SIZE: u64 = 600 * MIB;

/// Formats `dev` for the lab; the new drive's id.
fn format_id(lab: &Lab, dev: &str) -> String {
    format(lab, dev)["drive_id"].as_str().unwrap().to_string()
}

/// Unmounts the lab's drive `id` from its place (as an operator's `umount`); the place.
fn unmount(lab: &Lab, id: &str) -> std::path::PathBuf {
    let mnt = lab.state().join("mnt").join(id);
    assert!(Command::new("umount").arg(&mnt).status().unwrap().success());
    mnt
}

fn format(lab: &Lab, dev: &str) -> serde_json::Value {
    lab.ok(&["format", dev, "--dangerous", "--allow-no-quota"]);
    let name = dev.trim_start_matches("/dev/");
    let d = lab.device(name);
    assert_eq!(d["status"], "strata", "{d}");
    d
}

#[test]
fn discovery_reports_loop_devices_with_size_and_transport() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let d = lab.device(&disk.name());
    assert_eq!(d["size"], SIZE);
    assert_eq!(d["transport"], "loop");
    assert_eq!(d["status"], "available");
    assert_eq!(d["reasons"], serde_json::json!([]));
    assert_eq!(d["logical_block_size"], 512);
    // The default table lists it as usable, the yaml output carries it too.
    assert!(lab.ok(&["list"]).contains(&disk.dev));
    let yaml = lab.ok(&["list", "-o", "yaml", "--drive", &disk.dev]);
    assert!(yaml.contains(&format!("name: {}", disk.name())), "{yaml}");
}

#[test]
fn format_makes_a_mounted_xfs_drive_with_identity_and_registry() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let d = format(&lab, &disk.dev);
    let id = d["drive_id"].as_str().unwrap().to_string();
    let mnt = lab.state().join("mnt").join(&id);
    assert_eq!(
        d["mount_points"],
        serde_json::json!([mnt.to_str().unwrap()])
    );
    assert_eq!(d["filesystem"], "xfs");
    assert_eq!(d["fs_uuid"], id.as_str());

    let blkid = Command::new("blkid")
        .args(["-o", "export", &disk.dev])
        .output()
        .unwrap();
    let blkid = String::from_utf8_lossy(&blkid.stdout);
    assert!(
        blkid.contains("TYPE=xfs") && blkid.contains("LABEL=STRATA"),
        "{blkid}"
    );
    assert!(blkid.contains(&format!("UUID={id}")), "{blkid}");

    let identity: serde_json::Value =
        serde_json::from_slice(&fs::read(mnt.join(".strata/drive.json")).unwrap()).unwrap();
    assert_eq!(identity["drive_id"], id.as_str());
    assert_eq!(identity["node"], lab.node.as_str());
    assert_eq!(identity["tier"], d["tier"]);
    assert_eq!(identity["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(identity["formatted_at"].as_str().unwrap().ends_with('Z'));

    let reg = lab.registry();
    assert_eq!(reg["drives"][0]["drive_id"], id.as_str());
    assert_eq!(reg["drives"][0]["device"], disk.dev.as_str());
    assert_eq!(reg["drives"][0]["state"], "ready");

    // Formatting it again is a no-op that says so.
    let again = lab.ok(&["format", &disk.dev, "--dangerous", "--allow-no-quota"]);
    assert!(again.contains("already a Strata drive"), "{again}");
    assert_eq!(lab.device(&disk.name())["drive_id"], id.as_str());
}

#[test]
fn project_quotas_are_enabled_or_the_format_is_refused_untouched() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    if quota_supported() {
        let d = {
            lab.ok(&["format", &disk.dev, "--dangerous"]);
            lab.device(&disk.name())
        };
        let mnt = lab
            .state()
            .join("mnt")
            .join(d["drive_id"].as_str().unwrap());
        let state = Command::new("xfs_quota")
            .args(["-x", "-c", "state -p"])
            .arg(&mnt)
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&state.stdout);
        assert!(state.contains("Accounting: ON"), "{state}");
        assert!(state.contains("Enforcement: ON"), "{state}");
        assert_eq!(lab.registry()["drives"][0]["project_quota"], true);
    } else {
        let before = disk.fingerprint();
        let out = lab.drivectl(&["format", &disk.dev, "--dangerous"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("project quotas"), "{}", stderr(&out));
        assert_eq!(
            disk.fingerprint(),
            before,
            "device changed by a refused format"
        );
        assert_eq!(lab.device(&disk.name())["status"], "available");
    }
}

#[test]
fn format_records_the_node_name_from_the_environment() {
    // In the node plugin's DaemonSet, NODE_NAME is the Kubernetes node name (downward API),
    // the plugin's node id: a drive formatted there names the node the plugin serves.
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let out = Command::new(env!("CARGO_BIN_EXE_drivectl"))
        .arg("--state-dir")
        .arg(lab.state())
        .args(["format", &disk.dev, "--dangerous", "--allow-no-quota"])
        .env("NODE_NAME", "ip-10-0-3-17.eu-west-1.compute.internal")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rec = &lab.registry()["drives"][0];
    assert_eq!(rec["node"], "ip-10-0-3-17.eu-west-1.compute.internal");
    let identity = lab
        .state()
        .join("mnt")
        .join(rec["drive_id"].as_str().unwrap())
        .join(".strata/drive.json");
    let identity: serde_json::Value = serde_json::from_slice(&fs::read(identity).unwrap()).unwrap();
    assert_eq!(identity["node"], "ip-10-0-3-17.eu-west-1.compute.internal");
}

#[test]
fn format_refuses_untouched_when_nothing_tells_whether_the_kernel_has_quotas() {
    // A container's view: no kernel config, and /proc/fs/xfs (whose xqm says whether XFS
    // has quotas) hidden. XFS is loaded first, so that drivectl cannot make it appear.
    // SAFETY: fsopen takes a NUL-terminated name; the descriptor is closed at once.
    let fd = unsafe { libc::syscall(libc::SYS_fsopen, c"xfs".as_ptr(), 1) };
    assert!(fd >= 0, "no XFS in this kernel");
    // SAFETY: fd is ours.
    unsafe { libc::close(fd as i32) };
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let empty = tempfile::tempdir().unwrap();
    let hidden = |extra: &str| {
        let script = format!(
            "mount --bind {empty} /proc/fs/xfs && mount --bind {empty} /boot && \
             {{ [ ! -e /proc/config.gz ] || mount --bind /dev/null /proc/config.gz; }} && \
             exec {drivectl} --state-dir {state} --node {node} format {dev} --dangerous {extra}",
            empty = empty.path().display(),
            drivectl = env!("CARGO_BIN_EXE_drivectl"),
            state = lab.state().display(),
            node = lab.node,
            dev = disk.dev,
        );
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .output()
            .unwrap()
    };
    let before = disk.fingerprint();
    let out = hidden("");
    let err = stderr(&out);
    assert!(!out.status.success(), "format was not refused: {err}");
    assert!(
        err.contains(&disk.dev) && err.contains("cannot tell"),
        "{err}"
    );
    assert_eq!(
        disk.fingerprint(),
        before,
        "a refused format changed the device"
    );
    assert!(lab.registry_missing_or_empty());
    assert_eq!(lab.device(&disk.name())["status"], "available");
    // --allow-no-quota takes the risk: formatted, with quotas if the mount gets them.
    let out = hidden("--allow-no-quota");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lab.device(&disk.name())["status"], "strata");
    assert_eq!(
        lab.registry()["drives"][0]["project_quota"],
        quota_supported()
    );
}

/// Asserts that formatting is refused with `reason` in the message and the device unchanged.
fn assert_refused(lab: &Lab, disk: &LoopDevice, extra: &[&str], reason: &str) {
    let before = disk.fingerprint();
    let mut args = vec![
        "format",
        disk.dev.as_str(),
        "--dangerous",
        "--allow-no-quota",
    ];
    args.extend_from_slice(extra);
    let out = lab.drivectl(&args);
    let err = stderr(&out);
    assert!(!out.status.success(), "format was not refused: {err}");
    assert!(
        err.contains(&disk.dev),
        "refusal must name the device: {err}"
    );
    assert!(err.contains(reason), "refusal must say {reason:?}: {err}");
    assert_eq!(
        disk.fingerprint(),
        before,
        "a refused format changed the device"
    );
    assert!(lab.registry_missing_or_empty());
}

trait RegistryCheck {
    fn registry_missing_or_empty(&self) -> bool;
}

impl RegistryCheck for Lab {
    fn registry_missing_or_empty(&self) -> bool {
        !self.state().join("drives.json").exists()
            || self.registry()["drives"]
                .as_array()
                .is_none_or(|d| d.is_empty())
    }
}

#[test]
fn refuses_without_dangerous() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let before = disk.fingerprint();
    let out = lab.drivectl(&["format", &disk.dev]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--dangerous"), "{}", stderr(&out));
    assert_eq!(disk.fingerprint(), before);
}

#[test]
fn refuses_a_device_with_a_filesystem_unless_forced() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    assert!(Command::new("mkfs.ext4")
        .args(["-q", "-F", &disk.dev])
        .status()
        .unwrap()
        .success());
    assert_eq!(lab.device(&disk.name())["filesystem"], "ext4");
    assert_refused(&lab, &disk, &[], "carries a ext4 signature");
    // --force takes it.
    lab.ok(&[
        "format",
        &disk.dev,
        "--dangerous",
        "--force",
        "--allow-no-quota",
    ]);
    assert_eq!(lab.device(&disk.name())["status"], "strata");
}

#[test]
fn refuses_a_mounted_device_even_when_forced() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    assert!(Command::new("mkfs.ext4")
        .args(["-q", "-F", &disk.dev])
        .status()
        .unwrap()
        .success());
    let mnt = tempfile::tempdir().unwrap();
    assert!(Command::new("mount")
        .arg(&disk.dev)
        .arg(mnt.path())
        .status()
        .unwrap()
        .success());
    let d = lab.device(&disk.name());
    assert_eq!(
        d["reasons"],
        serde_json::json!(["mounted", "has-filesystem"])
    );
    let out = lab.drivectl(&[
        "format",
        &disk.dev,
        "--dangerous",
        "--force",
        "--allow-no-quota",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("mounted at"), "{}", stderr(&out));
    let _ = Command::new("umount").arg(mnt.path()).status();
}

#[test]
fn refuses_a_partitioned_device() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    // BLKPG partitions: this kernel parses no partition tables, the ioctl still works.
    assert!(Command::new("addpart")
        .args([&disk.dev, "1", "2048", "204800"])
        .status()
        .unwrap()
        .success());
    let d = lab.device(&disk.name());
    assert_eq!(
        d["partitions"],
        serde_json::json!([format!("{}p1", disk.name())])
    );
    assert_refused(&lab, &disk, &["--force"], "has partitions");
    let p = lab.device(&format!("{}p1", disk.name()));
    assert_eq!(p["kind"], "partition");
    assert_eq!(p["parent"], disk.name().as_str());
}

#[test]
fn refuses_read_only_and_too_small_devices() {
    let lab = Lab::new();
    let ro = LoopDevice::read_only(SIZE);
    assert_refused(&lab, &ro, &["--force"], "read-only");
    let small = LoopDevice::new(100 * MIB);
    assert_refused(&lab, &small, &["--force"], "too small");
    assert_eq!(
        lab.device(&small.name())["reasons"],
        serde_json::json!(["too-small"])
    );
}

#[test]
fn refuses_the_root_disk() {
    let lab = Lab::new();
    let out = lab.ok(&["list", "--all", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let root = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| {
            d["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "root-disk")
        })
        .expect("discovery finds the root disk")
        .clone();
    let path = root["path"].as_str().unwrap();
    let out = lab.drivectl(&["format", path, "--dangerous", "--force", "--allow-no-quota"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("root disk"), "{}", stderr(&out));
}

#[test]
fn refuses_a_device_held_open_exclusively() {
    use std::os::unix::fs::OpenOptionsExt;
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let before = disk.fingerprint();
    let holder = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL)
        .open(&disk.dev)
        .unwrap();
    let out = lab.drivectl(&["format", &disk.dev, "--dangerous", "--allow-no-quota"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("busy"), "{}", stderr(&out));
    drop(holder);
    assert_eq!(disk.fingerprint(), before);
}

#[test]
fn formats_several_devices_in_parallel_and_reports_each() {
    let lab = Lab::new();
    let a = LoopDevice::new(SIZE);
    let b = LoopDevice::new(SIZE);
    let small = LoopDevice::new(64 * MIB);
    let out = lab.drivectl(&[
        "format",
        &a.dev,
        &small.dev,
        &b.dev,
        "--dangerous",
        "--allow-no-quota",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "one device failed, so the exit code must say so"
    );
    assert!(
        text.contains("2 of 3 device(s) ready, 1 failed"),
        "{text}\n{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(&format!("failed {}", small.dev)));
    for d in [&a, &b] {
        assert_eq!(lab.device(&d.name())["status"], "strata");
    }
    assert_eq!(lab.device(&small.name())["status"], "unavailable");
    assert_eq!(lab.registry()["drives"].as_array().unwrap().len(), 2);
}

#[test]
fn renamed_drive_is_mounted_again_with_its_identity_and_tier() {
    let lab = Lab::new();
    let mut disk = LoopDevice::new(SIZE);
    let id = format_id(&lab, &disk.dev);
    let out = lab.ok(&["tier", &id, "hot"]);
    assert!(out.contains("is now hot"), "{out}");

    // Unplug: unmount and detach; plug back in under another loop number.
    let mnt = unmount(&lab, &id);
    let old = disk.dev.clone();
    let _blocker = disk.reattach_renamed();
    assert_ne!(disk.dev, old, "the drive must come back under another name");

    let out = lab.ok(&["mount"]);
    assert!(
        out.contains(&format!("mounted drive {id} ({})", disk.dev)),
        "{out}"
    );
    let d = lab.device(&disk.name());
    assert_eq!(d["drive_id"], id.as_str());
    assert_eq!(
        d["mount_points"],
        serde_json::json!([mnt.to_str().unwrap()])
    );
    assert_eq!(
        d["tier"], "hot",
        "the tier override must survive the remount"
    );
    let reg = lab.registry();
    assert_eq!(reg["drives"][0]["device"], disk.dev.as_str());
    assert_eq!(reg["drives"][0]["tier"], "hot");
    assert_eq!(reg["drives"][0]["tier_overridden"], true);
    // Mounting again changes nothing.
    lab.ok(&["mount"]);
    assert_eq!(
        lab.device(&disk.name())["mount_points"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn missing_drive_is_reported_and_registry_rebuilds_from_drives() {
    let lab = Lab::new();
    let gone = LoopDevice::new(SIZE);
    let kept = LoopDevice::new(SIZE);
    let gone_id = format_id(&lab, &gone.dev);
    let kept_id = format_id(&lab, &kept.dev);
    let gone_mnt = lab.state().join("mnt").join(&gone_id);
    assert!(Command::new("umount")
        .arg(&gone_mnt)
        .status()
        .unwrap()
        .success());
    gone.detach_and_wait();
    let out = lab.ok(&["mount"]);
    assert!(out.contains(&format!("missing drive {gone_id}")), "{out}");
    let reg = lab.registry();
    let state_of = |id: &str| {
        reg["drives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["drive_id"] == id)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state_of(&gone_id), "missing");
    assert_eq!(state_of(&kept_id), "ready");

    // Lose the registry: a plain mount knows nothing, --rebuild adopts the drive found.
    fs::remove_file(lab.state().join("drives.json")).unwrap();
    assert!(lab.ok(&["mount"]).contains("no Strata drives registered"));
    let out = lab.ok(&["mount", "--rebuild"]);
    assert!(out.contains(&kept_id), "{out}");
    assert_eq!(lab.registry()["drives"][0]["drive_id"], kept_id.as_str());
}

/// Holds the lock drivectl takes on a device node (flock, as udev and systemd do).
fn lock_device(dev: &str) -> fs::File {
    use std::os::fd::AsRawFd;
    let f = fs::File::open(dev).unwrap();
    // SAFETY: a valid descriptor owned by `f`.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    f
}

#[test]
fn rebuild_leaves_alone_a_drive_another_drivectl_is_working_on() {
    // Another drivectl (another state directory, or the CSI node plugin) formatting, mounting
    // or releasing a device holds its lock: `mount --rebuild` must not mount it meanwhile to
    // read its identity, which broke that other run's own mount.
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let id = format_id(&lab, &disk.dev);
    unmount(&lab, &id);
    fs::remove_file(lab.state().join("drives.json")).unwrap();

    let held = lock_device(&disk.dev);
    let out = lab.ok(&["mount", "--rebuild"]);
    assert!(
        out.contains(&format!("skipped drive {id}: locked")),
        "{out}"
    );
    assert!(lab.registry_missing_or_empty());
    assert_eq!(
        lab.device(&disk.name())["mount_points"],
        serde_json::json!([])
    );

    drop(held);
    let out = lab.ok(&["mount", "--rebuild"]);
    assert!(out.contains(&format!("mounted drive {id}")), "{out}");
}

#[test]
fn a_drive_already_at_its_place_is_not_waited_for() {
    // The CSI plugin runs `mount` on every pass: a drive mounted where it belongs is only
    // looked at, even while another drivectl holds its lock (a release counting its volumes).
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let id = format_id(&lab, &disk.dev);
    let held = lock_device(&disk.dev);
    let mut child = Command::new(env!("CARGO_BIN_EXE_drivectl"))
        .arg("--state-dir")
        .arg(lab.state())
        .arg("--node")
        .arg(&lab.node)
        .arg("mount")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let finished = child.try_wait().unwrap().is_some();
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert!(
        finished,
        "mount waited for the lock of a drive already at its place"
    );
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("mounted drive {id}")), "{text}");
}

#[test]
fn format_waits_for_the_device_lock() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let held = lock_device(&disk.dev);
    let mut child = Command::new(env!("CARGO_BIN_EXE_drivectl"))
        .arg("--state-dir")
        .arg(lab.state())
        .arg("--node")
        .arg(&lab.node)
        .args(["format", &disk.dev, "--dangerous", "--allow-no-quota"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let waiting = child.try_wait().unwrap().is_none();
    let untouched = lab.device(&disk.name())["status"] == "available";
    drop(held);
    let status = child.wait().unwrap();
    assert!(
        waiting && untouched,
        "format went ahead while the device was locked"
    );
    assert!(status.success());
    assert_eq!(lab.device(&disk.name())["status"], "strata");
}

#[test]
fn a_format_killed_before_its_identity_record_is_made_again_with_force() {
    // kill -9 between mkfs.xfs and the identity record: an XFS labelled STRATA, mounted at its
    // place, that no registry lists and that has no identity. `format` alone must not call it
    // done; `format --force` makes it again.
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let old = format_id(&lab, &disk.dev);
    let place = lab.state().join("mnt").join(&old);
    fs::remove_file(place.join(".strata/drive.json")).unwrap();
    fs::remove_file(lab.state().join("drives.json")).unwrap();

    let out = lab.drivectl(&["format", &disk.dev, "--dangerous", "--allow-no-quota"]);
    assert!(!out.status.success(), "a half-made drive was called ready");
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));

    let out = lab.ok(&[
        "format",
        &disk.dev,
        "--dangerous",
        "--allow-no-quota",
        "--force",
    ]);
    assert!(out.contains("1 of 1 device(s) ready"), "{out}");
    let d = lab.device(&disk.name());
    assert_eq!(d["status"], "strata", "{d}");
    let new = d["drive_id"].as_str().unwrap().to_string();
    assert_ne!(new, old, "made again, with a new identity");
    assert_eq!(lab.registry()["drives"][0]["drive_id"], new.as_str());
    assert!(lab
        .state()
        .join("mnt")
        .join(&new)
        .join(".strata/drive.json")
        .is_file());
    assert!(
        !place.exists(),
        "the half-made drive's place is left behind"
    );

    // The same when the interrupted format never mounted it.
    let id = new;
    let mnt = lab.state().join("mnt").join(&id);
    fs::remove_file(mnt.join(".strata/drive.json")).unwrap();
    assert!(Command::new("umount").arg(&mnt).status().unwrap().success());
    fs::remove_file(lab.state().join("drives.json")).unwrap();
    let out = lab.ok(&[
        "format",
        &disk.dev,
        "--dangerous",
        "--allow-no-quota",
        "--force",
    ]);
    assert!(out.contains("1 of 1 device(s) ready"), "{out}");
    assert_ne!(lab.device(&disk.name())["drive_id"], id.as_str());
}

#[test]
fn another_state_directory_s_drive_is_neither_called_ready_nor_made_again() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let id = format_id(&lab, &disk.dev);
    let mnt = unmount(&lab, &id);
    let before = disk.fingerprint();
    let other = Lab::new();
    for force in [false, true] {
        let mut args = vec![
            "format",
            disk.dev.as_str(),
            "--dangerous",
            "--allow-no-quota",
        ];
        if force {
            args.push("--force");
        }
        let out = other.drivectl(&args);
        assert!(!out.status.success(), "force {force}: called ready");
        assert!(stderr(&out).contains("mount --rebuild"), "{}", stderr(&out));
        if !force {
            assert_eq!(
                disk.fingerprint(),
                before,
                "another node's drive was changed"
            );
        }
    }
    // With --force it was mounted read-only to look for its identity (XFS may log that it
    // was mounted): the drive, its identity and its files are its owner's still.
    assert!(other.registry_missing_or_empty());
    let out = lab.ok(&["mount"]);
    assert!(out.contains(&format!("mounted drive {id}")), "{out}");
    assert!(mnt.join(".strata/drive.json").is_file());
    assert!(mnt.join("volumes").is_dir());
}

#[test]
fn release_refuses_while_volumes_exist_then_wipes() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let id = format_id(&lab, &disk.dev);
    let mnt = lab.state().join("mnt").join(&id);
    fs::create_dir_all(mnt.join("volumes/pvc-1")).unwrap();

    let out = lab.drivectl(&["release", &id]);
    assert!(!out.status.success() && stderr(&out).contains("--dangerous"));
    let out = lab.drivectl(&["release", &id, "--dangerous"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("holds 1 volume"), "{}", stderr(&out));
    assert_eq!(lab.device(&disk.name())["status"], "strata");

    fs::remove_dir(mnt.join("volumes/pvc-1")).unwrap();
    lab.ok(&["release", &disk.dev, "--dangerous"]);
    let d = lab.device(&disk.name());
    assert_eq!(d["status"], "available", "{d}");
    assert_eq!(d["filesystem"], serde_json::Value::Null);
    assert!(!mnt.exists());
    assert!(lab.registry_missing_or_empty());
    let out = lab.drivectl(&["release", &id, "--dangerous"]);
    assert!(stderr(&out).contains("no Strata drive"), "{}", stderr(&out));
}

/// A drive that is not mounted at its place (after a reboot before `drivectl mount`, or an
/// operator's umount) still holds its volumes: release counts them on a read-only mount and
/// refuses, touching nothing. One mounted elsewhere is refused too. Without volumes, an
/// unmounted drive is released and nothing of the counting stays behind.
#[test]
fn release_never_wipes_a_drive_it_cannot_see_mounted_at_its_place() {
    let lab = Lab::new();
    let disk = LoopDevice::new(SIZE);
    let id = format_id(&lab, &disk.dev);
    let mnt = lab.state().join("mnt").join(&id);
    fs::create_dir_all(mnt.join("volumes/pvc-1")).unwrap();
    fs::write(mnt.join("volumes/pvc-1/object"), b"a tenant's data").unwrap();
    let umount = |path: &std::path::Path| {
        assert!(Command::new("umount").arg(path).status().unwrap().success());
    };
    umount(&mnt);

    // (Not a byte-for-byte check: even a read-only XFS mount writes its log's unmount record.)
    let out = lab.drivectl(&["release", &id, "--dangerous"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "an unmounted drive holding a volume was released: {err}"
    );
    assert!(err.contains(&id) && err.contains("holds 1 volume"), "{err}");
    let d = lab.device(&disk.name());
    assert_eq!(d["status"], "strata", "{d}");
    assert_eq!(d["drive_id"], id.as_str());
    assert_eq!(
        d["mount_points"],
        serde_json::json!([]),
        "the count's mount stayed"
    );
    assert_eq!(lab.registry()["drives"][0]["drive_id"], id.as_str());

    // Mounted, but not at its place: in use by something else.
    let elsewhere = lab.state().join("mnt").join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let mounted = Command::new("mount")
        .arg(&disk.dev)
        .arg(&elsewhere)
        .status()
        .unwrap();
    assert!(mounted.success());
    let out = lab.drivectl(&["release", &disk.dev, "--dangerous"]);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "a drive mounted elsewhere was released: {err}"
    );
    let at = format!("mounted at {}", elsewhere.display());
    assert!(err.contains(&id) && err.contains(&at), "{err}");
    umount(&elsewhere);
    fs::remove_dir(&elsewhere).unwrap();
    assert_eq!(lab.device(&disk.name())["status"], "strata");

    // Back at its place, the volume is all there; emptied and unmounted, the drive goes.
    lab.ok(&["mount"]);
    assert_eq!(
        fs::read(mnt.join("volumes/pvc-1/object")).unwrap(),
        b"a tenant's data"
    );
    fs::remove_dir_all(mnt.join("volumes/pvc-1")).unwrap();
    umount(&mnt);
    let out = lab.ok(&["release", &id, "--dangerous"]);
    assert!(out.contains(&format!("released drive {id}")), "{out}");
    let d = lab.device(&disk.name());
    assert_eq!(d["status"], "available", "{d}");
    assert_eq!(d["mount_points"], serde_json::json!([]));
    assert!(lab.registry_missing_or_empty());
    let left: Vec<_> = fs::read_dir(lab.state().join("mnt"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind in mnt/: {left:?}");
}

#[test]
fn bad_input_gets_a_clear_error_and_non_zero_exit() {
    let lab = Lab::new();
    let file = tempfile::NamedTempFile::new().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["format", "/dev/strata-no-such-disk", "--dangerous"],
            "no such block device",
        ),
        (
            vec!["format", file.path().to_str().unwrap(), "--dangerous"],
            "not a block device",
        ),
        (
            vec!["tier", "some-drive", "lukewarm"],
            "expected hot, warm or cold",
        ),
        (vec!["tier", "no-such-drive", "hot"], "no Strata drive"),
        (vec!["list", "-o", "xml"], "invalid value 'xml'"),
        (vec!["list", "--status", "broken"], "unknown status"),
        (vec!["list", "--tier", "tepid"], "unknown tier"),
        (
            vec!["format", "/dev/loop0", "--dangerous", "--tier", "lava"],
            "unknown tier",
        ),
    ];
    for (args, want) in cases {
        let out = lab.drivectl(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
}

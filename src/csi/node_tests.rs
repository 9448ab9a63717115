//! The node service's decisions against an in-memory mount table ([`FakeMounter`]): no root,
//! no loop devices. The loop-device tests (tests/csi_driver.rs) run the same calls for real.

use super::drives::Mounted;
use super::error::VolumeError;
use super::fake_mounter::FakeMounter;
use super::model::{
    DriveEntry, DriveSpec, DriveState, DriveStatus, VolumeEntry, VolumePhase, VolumeSpec,
    VolumeStatus,
};
use super::mounter::Mounter;
use super::node::NodeService;
use super::proto::volume_capability::{access_mode::Mode, AccessMode, AccessType, MountVolume};
use super::proto::*;
use super::store::{FileStore, Store};
use super::volumes::NodeVolumes;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_drive::ops::Node as DriveNode;
use strata_drive::{HostRoot, StateDir, Tier};
use tonic::Code;

const MIB: u64 = 1 << 20;
const DRIVE: &str = "drive-1";

struct Lab {
    dir: tempfile::TempDir,
    mounter: Arc<FakeMounter>,
    store: Store,
    node: NodeService,
}

fn code<T: std::fmt::Debug>(r: Result<T, VolumeError>) -> Code {
    tonic::Status::from(r.expect_err("the call must fail")).code()
}

fn volume(node: &str) -> VolumeEntry {
    VolumeEntry {
        spec: VolumeSpec {
            name: "pvc".into(),
            node: node.into(),
            drive_id: DRIVE.into(),
            tier: Tier::Hot,
            capacity_bytes: 8 * MIB,
            project_id: 7,
            pvc_namespace: None,
            pvc_name: None,
            created_at: "2026-01-01T00:00:00Z".into(),
        },
        status: VolumeStatus::default(),
    }
}

fn drive() -> DriveEntry {
    DriveEntry {
        spec: DriveSpec {
            node: "n1".into(),
            tier: Tier::Hot,
            capacity_bytes: 100 * MIB,
            reservations: Default::default(),
            next_project_id: 8,
            project_quota: true,
        },
        status: DriveStatus {
            state: DriveState::Ready,
            message: None,
            allocated_bytes: 0,
            free_bytes: 100 * MIB,
        },
    }
}

impl Lab {
    /// Node `n1` with one drive (a temporary directory "mounted" in the fake table) holding
    /// volumes `v1` and `v2`, and `elsewhere` of node `n2`.
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let mp = dir.path().join("drive");
        std::fs::create_dir_all(mp.join("volumes")).unwrap();
        let mounter = Arc::new(FakeMounter::default());
        mounter.add_drive(&mp);
        let store = Store::File(FileStore::new(dir.path().join("state.json")));
        store
            .transact(|st| {
                st.drives.insert(DRIVE.into(), drive());
                for id in ["v1", "v2"] {
                    st.volumes.insert(id.into(), volume("n1"));
                }
                st.volumes.insert("elsewhere".into(), volume("n2"));
                Ok::<_, ()>(())
            })
            .unwrap()
            .unwrap();
        let drives = DriveNode::new(
            HostRoot::new(dir.path().join("host")),
            StateDir::new(dir.path().join("strata")),
            "n1".into(),
        );
        let volumes = NodeVolumes::new(drives, store.clone(), mounter.clone());
        volumes.serve_drive(
            DRIVE,
            Mounted {
                mount_point: mp,
                quota: true,
            },
        );
        let node = NodeService::new(Arc::new(volumes), store.clone(), 0);
        Lab {
            dir,
            mounter,
            store,
            node,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn volume_dir(&self, id: &str) -> PathBuf {
        self.dir.path().join("drive/volumes").join(id)
    }

    fn record(&self, id: &str) -> VolumeStatus {
        self.store.load().unwrap().volumes[id].status.clone()
    }

    fn stage(&self, id: &str, at: &str, cap: VolumeCapability) -> Result<(), VolumeError> {
        self.node
            .stage(NodeStageVolumeRequest {
                volume_id: id.into(),
                staging_target_path: at.into(),
                volume_capability: Some(cap),
                ..Default::default()
            })
            .map(drop)
    }

    fn publish(
        &self,
        id: &str,
        staging: &str,
        target: &str,
        cap: VolumeCapability,
        ro: bool,
    ) -> Result<(), VolumeError> {
        self.node
            .publish(NodePublishVolumeRequest {
                volume_id: id.into(),
                staging_target_path: staging.into(),
                target_path: target.into(),
                volume_capability: Some(cap),
                readonly: ro,
                ..Default::default()
            })
            .map(drop)
    }

    fn unstage(&self, id: &str, at: &str) -> Result<(), VolumeError> {
        self.node
            .unstage(NodeUnstageVolumeRequest {
                volume_id: id.into(),
                staging_target_path: at.into(),
            })
            .map(drop)
    }

    fn unpublish(&self, id: &str, target: &str) -> Result<(), VolumeError> {
        self.node
            .unpublish(NodeUnpublishVolumeRequest {
                volume_id: id.into(),
                target_path: target.into(),
            })
            .map(drop)
    }

    fn stats(&self, id: &str, path: &str) -> Result<NodeGetVolumeStatsResponse, VolumeError> {
        self.node.stats(NodeGetVolumeStatsRequest {
            volume_id: id.into(),
            volume_path: path.into(),
            ..Default::default()
        })
    }

    fn options_at(&self, path: &str) -> Option<String> {
        let m = self.mounter.mount_at(Path::new(path)).unwrap();
        m.map(|m| m.options)
    }
}

fn cap(mode: Mode, flags: &[&str]) -> VolumeCapability {
    VolumeCapability {
        access_type: Some(AccessType::Mount(MountVolume {
            mount_flags: flags.iter().map(|f| f.to_string()).collect(),
            ..Default::default()
        })),
        access_mode: Some(AccessMode { mode: mode as i32 }),
    }
}

fn rw() -> VolumeCapability {
    cap(Mode::SingleNodeWriter, &[])
}

#[test]
fn stage_binds_the_quota_directory_once_and_a_repeat_succeeds() {
    let lab = Lab::new();
    let staging = lab.path("staging");
    lab.stage("v1", &staging, rw()).unwrap();
    assert!(lab
        .mounter
        .same_file(Path::new(&staging), &lab.volume_dir("v1"))
        .unwrap());
    let mp = lab.dir.path().join("drive");
    assert_eq!(
        lab.mounter.limit(&mp, 7),
        Some(8 * MIB),
        "quota set to the capacity"
    );
    assert_eq!(lab.mounter.project_of(&lab.volume_dir("v1")).unwrap(), 7);
    let v = lab.record("v1");
    assert_eq!((v.staged_at, v.on_drive), (vec![staging.clone()], true));

    lab.stage("v1", &staging, rw()).unwrap();
    assert_eq!(
        lab.mounter.binds(),
        1,
        "a repeated stage mounts nothing more"
    );
    assert_eq!(lab.record("v1").staged_at, vec![staging]);
}

#[test]
fn a_staging_path_showing_something_else_is_already_exists() {
    let lab = Lab::new();
    let staging = lab.path("staging");
    lab.stage("v1", &staging, rw()).unwrap();
    assert_eq!(code(lab.stage("v2", &staging, rw())), Code::AlreadyExists);
    let ro = cap(Mode::SingleNodeWriter, &["ro"]);
    assert_eq!(code(lab.stage("v1", &staging, ro)), Code::AlreadyExists);
    assert!(lab.record("v2").staged_at.is_empty());
}

#[test]
fn volumes_of_other_nodes_unknown_or_being_deleted_are_refused() {
    let lab = Lab::new();
    let staging = lab.path("staging");
    assert_eq!(
        code(lab.stage("elsewhere", &staging, rw())),
        Code::FailedPrecondition
    );
    assert_eq!(code(lab.stage("nope", &staging, rw())), Code::NotFound);
    lab.store
        .transact(|st| {
            st.volumes.get_mut("v1").unwrap().status.phase = VolumePhase::Deleting;
            Ok::<_, ()>(())
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        code(lab.stage("v1", &staging, rw())),
        Code::FailedPrecondition
    );
    assert_eq!(lab.mounter.binds(), 0);
}

#[test]
fn publish_needs_the_volume_staged_at_the_staging_path() {
    let lab = Lab::new();
    let (staging, target) = (lab.path("staging"), lab.path("target"));
    assert_eq!(
        code(lab.publish("v1", &staging, &target, rw(), false)),
        Code::FailedPrecondition
    );
    assert_eq!(
        code(lab.publish("v1", "", &target, rw(), false)),
        Code::FailedPrecondition
    );
    lab.stage("v2", &staging, rw()).unwrap();
    lab.stage("v1", &lab.path("own"), rw()).unwrap();
    assert_eq!(
        code(lab.publish("v1", &staging, &target, rw(), false)),
        Code::FailedPrecondition,
        "staged there is another volume"
    );
    assert_eq!(lab.options_at(&target), None);
}

#[test]
fn read_only_publish_is_a_read_only_mount_and_a_writable_repeat_is_refused() {
    let lab = Lab::new();
    let (staging, target) = (lab.path("staging"), lab.path("target"));
    lab.stage("v1", &staging, rw()).unwrap();
    lab.publish("v1", &staging, &target, rw(), true).unwrap();
    assert!(lab
        .options_at(&target)
        .unwrap()
        .split(',')
        .any(|o| o == "ro"));
    assert!(lab
        .mounter
        .same_file(Path::new(&target), &lab.volume_dir("v1"))
        .unwrap());
    lab.publish("v1", &staging, &target, rw(), true).unwrap();
    assert_eq!(lab.mounter.binds(), 2, "the repeat mounts nothing");
    assert_eq!(
        code(lab.publish("v1", &staging, &target, rw(), false)),
        Code::AlreadyExists
    );
    // A reader-only access mode is read-only too.
    let other = lab.path("reader");
    lab.publish(
        "v1",
        &staging,
        &other,
        cap(Mode::SingleNodeReaderOnly, &[]),
        false,
    )
    .unwrap();
    assert!(lab.options_at(&other).unwrap().starts_with("ro"));
    assert_eq!(lab.record("v1").published_at, vec![target, other]);
}

#[test]
fn mount_options_are_applied_and_filesystem_options_refused() {
    let lab = Lab::new();
    let (staging, target) = (lab.path("staging"), lab.path("target"));
    let flags = cap(Mode::SingleNodeWriter, &["noatime", "nosuid,nodev"]);
    lab.stage("v1", &staging, flags.clone()).unwrap();
    let shown = lab.options_at(&staging).unwrap();
    for o in ["rw", "noatime", "nosuid", "nodev"] {
        assert!(shown.split(',').any(|s| s == o), "{o} in {shown}");
    }
    lab.publish("v1", &staging, &target, flags, false).unwrap();
    assert!(lab.options_at(&target).unwrap().contains("noatime"));
    let discard = cap(Mode::SingleNodeWriter, &["discard"]);
    let other = lab.path("other");
    let err = tonic::Status::from(lab.stage("v2", &other, discard).unwrap_err());
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("\"discard\""), "{}", err.message());
}

#[test]
fn a_single_writer_volume_is_published_at_one_target_only() {
    let lab = Lab::new();
    let staging = lab.path("staging");
    let (one, two) = (lab.path("one"), lab.path("two"));
    let single = cap(Mode::SingleNodeSingleWriter, &[]);
    lab.stage("v1", &staging, single.clone()).unwrap();
    lab.publish("v1", &staging, &one, single.clone(), false)
        .unwrap();
    let err = tonic::Status::from(
        lab.publish("v1", &staging, &two, single.clone(), false)
            .unwrap_err(),
    );
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains(&one), "{}", err.message());
    lab.publish("v1", &staging, &one, single.clone(), false)
        .unwrap();
    lab.unpublish("v1", &one).unwrap();
    lab.publish("v1", &staging, &two, single, false).unwrap();
    // A multi-writer mode may publish anywhere.
    lab.publish("v1", &staging, &one, rw(), false).unwrap();
}

#[test]
fn unpublish_and_unstage_undo_everything_and_repeat_cleanly() {
    let lab = Lab::new();
    let (staging, target) = (lab.path("staging"), lab.path("target"));
    lab.stage("v1", &staging, rw()).unwrap();
    lab.publish("v1", &staging, &target, rw(), false).unwrap();
    for _ in 0..2 {
        lab.unpublish("v1", &target).unwrap();
        assert_eq!(lab.options_at(&target), None);
        assert!(!Path::new(&target).exists(), "the target path is removed");
        lab.unstage("v1", &staging).unwrap();
        assert_eq!(lab.options_at(&staging), None);
    }
    let v = lab.record("v1");
    assert!(v.staged_at.is_empty() && v.published_at.is_empty(), "{v:?}");
    // Unknown volumes too: nothing is mounted there, nothing to do.
    lab.unstage("nope", &staging).unwrap();
}

#[test]
fn a_failed_mount_leaves_no_record_behind() {
    let lab = Lab::new();
    let file = lab.path("file");
    std::fs::write(&file, b"").unwrap();
    let staging = format!("{file}/staging");
    assert_eq!(code(lab.stage("v1", &staging, rw())), Code::Internal);
    assert!(lab.record("v1").staged_at.is_empty());
}

#[test]
fn stats_answer_not_found_unless_the_volume_is_mounted_there() {
    let lab = Lab::new();
    let staging = lab.path("staging");
    assert_eq!(code(lab.stats("v1", &staging)), Code::NotFound);
    assert_eq!(code(lab.stats("nope", &staging)), Code::NotFound);
    assert_eq!(code(lab.stats("elsewhere", &staging)), Code::NotFound);
    lab.stage("v1", &staging, rw()).unwrap();
    let stats = lab.stats("v1", &staging).unwrap();
    let bytes = &stats.usage[0];
    assert_eq!(bytes.total, (8 * MIB) as i64);
    assert!(!stats.volume_condition.unwrap().abnormal);

    // The drive unmounted under the plugin: abnormal, saying why.
    lab.mounter.remove_drive(&lab.dir.path().join("drive"));
    let stats = lab.stats("v1", &staging).unwrap();
    let condition = stats.volume_condition.unwrap();
    assert!(
        condition.abnormal && condition.message.contains("not mounted"),
        "{condition:?}"
    );
    assert_eq!(
        code(lab.stage("v2", &lab.path("s2"), rw())),
        Code::FailedPrecondition
    );
}

#[test]
fn a_second_call_on_a_volume_in_flight_is_aborted() {
    let lab = Lab::new();
    let staging = lab.path("staging");
    lab.mounter.hold_binds(true);
    std::thread::scope(|s| {
        let first = s.spawn(|| lab.stage("v1", &staging, rw()));
        lab.mounter.wait_for_held_bind();
        assert_eq!(code(lab.stage("v1", &staging, rw())), Code::Aborted);
        assert_eq!(code(lab.unstage("v1", &staging)), Code::Aborted);
        let target = lab.path("target");
        assert_eq!(
            code(lab.publish("v1", &staging, &target, rw(), false)),
            Code::Aborted
        );
        lab.mounter.hold_binds(false);
        first.join().unwrap().unwrap();
    });
    // Once the first call is done, the volume is free again.
    lab.stage("v1", &staging, rw()).unwrap();
    lab.unstage("v1", &staging).unwrap();
}

#[test]
fn symlinked_paths_and_paths_on_drives_are_invalid_arguments() {
    let lab = Lab::new();
    // A staging path that is a symbolic link would mount where it points, and an unstage of
    // the path named would find nothing mounted there.
    let outside = lab.path("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let link = lab.path("link");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    assert_eq!(code(lab.stage("v1", &link, rw())), Code::InvalidArgument);
    assert_eq!(code(lab.unstage("v1", &link)), Code::InvalidArgument);
    assert_eq!(lab.mounter.binds(), 0);
    assert!(lab.record("v1").staged_at.is_empty());

    // A target on a drive (over its volumes/) would put other volumes inside this one.
    let staging = lab.path("staging");
    lab.stage("v1", &staging, rw()).unwrap();
    let on_drive = lab.dir.path().join("drive/volumes").display().to_string();
    assert_eq!(
        code(lab.publish("v1", &staging, &on_drive, rw(), false)),
        Code::InvalidArgument
    );
    assert_eq!(code(lab.unpublish("v1", &on_drive)), Code::InvalidArgument);
    assert!(lab.dir.path().join("drive/volumes").is_dir());
    // The state directory is Strata's too.
    let in_state = lab.dir.path().join("strata/mnt").display().to_string();
    assert_eq!(
        code(lab.publish("v1", &staging, &in_state, rw(), false)),
        Code::InvalidArgument
    );
    // A target that exists as a file: nothing can be mounted on it as a directory.
    let file = lab.path("file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(
        code(lab.publish("v1", &staging, &file, rw(), false)),
        Code::InvalidArgument
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    assert_eq!(lab.mounter.binds(), 1, "only the stage mounted anything");
}

#[test]
fn unpublish_leaves_a_target_directory_that_held_files_before() {
    let lab = Lab::new();
    let staging = lab.path("staging");
    lab.stage("v1", &staging, rw()).unwrap();
    let target = lab.path("target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(Path::new(&target).join("theirs"), b"x").unwrap();
    lab.publish("v1", &staging, &target, rw(), false).unwrap();
    lab.unpublish("v1", &target).unwrap();
    assert!(Path::new(&target).join("theirs").is_file());
    assert!(lab.record("v1").published_at.is_empty());
}

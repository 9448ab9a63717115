//! The CSI node service: stages a volume (its quota directory bind-mounted to the staging
//! path), publishes it to pods (a second bind mount, read-only when asked), reports usage
//! and health, and raises the quota on expansion. Every RPC can be repeated safely.

use super::error::VolumeError;
use super::model::{MountKind, VolumeEntry, VolumePhase};
use super::mount::MountInfo;
use super::mounter::Mounter;
use super::proto::node_server::Node;
use super::proto::node_service_capability::{self as ncap, rpc::Type as Rpc};
use super::proto::volume_usage::Unit;
use super::proto::*;
use super::request::{self as rq, required};
use super::status::{blocking, clamp, Reply};
use super::store::Store;
use super::volumes::NodeVolumes;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use tonic::{Request as Req, Response, Status};
use tracing::warn;

type Result<T, E = VolumeError> = std::result::Result<T, E>;

pub struct NodeService {
    volumes: Arc<NodeVolumes>,
    store: Store,
    max_volumes: i64,
}

impl NodeService {
    pub fn new(volumes: Arc<NodeVolumes>, store: Store, max_volumes: i64) -> NodeService {
        NodeService {
            volumes,
            store,
            max_volumes,
        }
    }

    fn mounter(&self) -> &dyn Mounter {
        self.volumes.mounter()
    }

    /// The volume's record; NotFound when unknown, FailedPrecondition when it belongs to
    /// another node or is being deleted.
    fn volume(&self, id: &str) -> Result<VolumeEntry> {
        let v = self
            .store
            .volume(id)?
            .ok_or_else(|| VolumeError::NoSuchVolume(id.to_string()))?;
        if v.spec.node != self.volumes.node() {
            return Err(VolumeError::OtherNode {
                id: id.to_string(),
                node: v.spec.node,
                here: self.volumes.node().to_string(),
            });
        }
        if v.status.phase == VolumePhase::Deleting {
            return Err(VolumeError::Deleting(id.to_string()));
        }
        Ok(v)
    }

    /// The mount at a path, if any.
    fn mount_at(&self, path: &Path) -> Result<Option<MountInfo>> {
        self.mounter()
            .mount_at(path)
            .map_err(VolumeError::io("mount table"))
    }

    /// Whether a mount shows the volume directory (the same inode, through any bind).
    fn shows(&self, m: &MountInfo, dir: &Path) -> Result<bool> {
        self.mounter()
            .same_file(&m.mount_point, dir)
            .map_err(VolumeError::io("comparing mounts"))
    }

    pub(super) fn stage(&self, r: NodeStageVolumeRequest) -> Result<NodeStageVolumeResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let staging = &self.checked_path(&r.staging_target_path, "staging_target_path")?;
        let (_, options) = rq::node_mount(r.volume_capability.as_ref())?;
        let _held = self.volumes.begin(id)?;
        let volume = self.volume(id)?;
        let dir = self.volumes.prepare(id, &volume)?;
        if let Some(existing) = self.mount_at(staging)? {
            return if self.shows(&existing, &dir)? && options.shown_by(&existing.options) {
                self.volumes
                    .record_mount(id, MountKind::Staging, &r.staging_target_path)?;
                Ok(NodeStageVolumeResponse {})
            } else {
                Err(VolumeError::PathTaken(format!(
                    "{} already has another mount ({} of {}, {}), not this volume with these options",
                    staging.display(),
                    existing.root.display(),
                    existing.source,
                    existing.options
                )))
            };
        }
        self.mount_recorded(id, MountKind::Staging, &r.staging_target_path, || {
            fs::create_dir_all(staging).map_err(VolumeError::io("creating the staging path"))?;
            self.mounter()
                .bind(&dir, staging, &options)
                .map_err(VolumeError::io("bind mount"))
        })?;
        Ok(NodeStageVolumeResponse {})
    }

    /// Mounts with the mount recorded in the state first (DeleteVolume then refuses the
    /// volume), and the record dropped again when the mount fails.
    fn mount_recorded(
        &self,
        id: &str,
        kind: MountKind,
        path: &str,
        mount: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        self.volumes.record_mount(id, kind, path)?;
        let mounted = mount();
        if mounted.is_err() {
            if let Err(e) = self.volumes.forget_mount(id, kind, path) {
                warn!(volume = %id, path, "mount failed, its record stays until the next pass: {e}");
            }
        }
        mounted
    }

    pub(super) fn unstage(&self, r: NodeUnstageVolumeRequest) -> Result<NodeUnstageVolumeResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let staging = &self.checked_path(&r.staging_target_path, "staging_target_path")?;
        let _held = self.volumes.begin(id)?;
        self.unmount_all(staging)?;
        self.volumes
            .forget_mount(id, MountKind::Staging, &r.staging_target_path)?;
        Ok(NodeUnstageVolumeResponse {})
    }

    pub(super) fn publish(&self, r: NodePublishVolumeRequest) -> Result<NodePublishVolumeResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let target = &self.checked_path(&r.target_path, "target_path")?;
        let (cap, options) = rq::node_mount(r.volume_capability.as_ref())?;
        // The spec's code for a missing staging path (the plugin stages) is FailedPrecondition.
        if r.staging_target_path.is_empty() {
            return Err(VolumeError::NotStagedYet(id.to_string()));
        }
        let staging = &self.checked_path(&r.staging_target_path, "staging_target_path")?;
        let options = options.or_read_only(r.readonly || rq::read_only_mode(cap));
        let _held = self.volumes.begin(id)?;
        let volume = self.volume(id)?;
        let dir = self.volumes.volume_dir(id, &volume)?;
        match self.mount_at(staging)? {
            Some(m) if self.shows(&m, &dir)? => {}
            _ => {
                return Err(VolumeError::NotStagedAt {
                    id: id.to_string(),
                    path: staging.display().to_string(),
                })
            }
        }
        if let Some(existing) = self.mount_at(target)? {
            return if self.shows(&existing, &dir)? && options.shown_by(&existing.options) {
                self.volumes
                    .record_mount(id, MountKind::Target, &r.target_path)?;
                Ok(NodePublishVolumeResponse {})
            } else {
                Err(VolumeError::PathTaken(format!(
                    "{} is already published with other options or another volume",
                    target.display()
                )))
            };
        }
        if rq::single_writer(cap) {
            self.only_here(id, &volume, staging, target)?;
        }
        self.mount_recorded(id, MountKind::Target, &r.target_path, || {
            fs::create_dir_all(target).map_err(VolumeError::io("creating the target path"))?;
            self.mounter()
                .bind(staging, target, &options)
                .map_err(VolumeError::io("bind mount"))
        })?;
        Ok(NodePublishVolumeResponse {})
    }

    /// SINGLE_NODE_SINGLE_WRITER: FailedPrecondition when the volume is already published
    /// at another target path.
    fn only_here(
        &self,
        id: &str,
        volume: &VolumeEntry,
        staging: &Path,
        target: &Path,
    ) -> Result<()> {
        let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let (staging, target) = (canonical(staging), canonical(target));
        let elsewhere: Vec<String> = self
            .volumes
            .mounts(id, volume)
            .into_iter()
            .filter(|m| Path::new(m) != staging && Path::new(m) != target)
            .collect();
        if elsewhere.is_empty() {
            Ok(())
        } else {
            Err(VolumeError::SingleWriter {
                id: id.to_string(),
                at: elsewhere.join(", "),
            })
        }
    }

    pub(super) fn unpublish(
        &self,
        r: NodeUnpublishVolumeRequest,
    ) -> Result<NodeUnpublishVolumeResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let target = &self.checked_path(&r.target_path, "target_path")?;
        let _held = self.volumes.begin(id)?;
        self.unmount_all(target)?;
        match fs::remove_dir(target) {
            Ok(()) => {}
            // Not made by us (it held files before the publish): left as it was.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::DirectoryNotEmpty
                ) => {}
            Err(e) => return Err(VolumeError::io("removing the target path")(e)),
        }
        self.volumes
            .forget_mount(id, MountKind::Target, &r.target_path)?;
        Ok(NodeUnpublishVolumeResponse {})
    }

    /// NotFound unless the volume is mounted at `path`.
    fn mounted_at(&self, id: &str, volume: &VolumeEntry, path: &Path) -> Result<()> {
        let dir = self.volumes.volume_dir(id, volume)?;
        match self.mount_at(path)? {
            Some(m) if self.shows(&m, &dir)? => Ok(()),
            _ => Err(VolumeError::NotMountedAt {
                id: id.to_string(),
                path: path.display().to_string(),
            }),
        }
    }

    pub(super) fn stats(&self, r: NodeGetVolumeStatsRequest) -> Result<NodeGetVolumeStatsResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let path = Path::new(required(&r.volume_path, "volume_path")?);
        // The spec has only NotFound for a volume this node does not serve.
        let volume = self
            .volume(id)
            .map_err(|e| VolumeError::NotServed(Box::new(e)))?;
        if let Some(problem) = self.volumes.condition(&volume) {
            return Ok(NodeGetVolumeStatsResponse {
                usage: Vec::new(),
                volume_condition: Some(VolumeCondition {
                    abnormal: true,
                    message: problem,
                }),
            });
        }
        self.mounted_at(id, &volume, path)?;
        let u = self.volumes.usage(id, &volume)?;
        // The truth, not the contract: on a drive without quotas a volume can hold more than
        // its capacity, and no volume can have more than its drive still has.
        let bytes_available = u
            .bytes_total
            .saturating_sub(u.bytes_used)
            .min(u.drive_bytes_free);
        let inodes_free = u.inodes_total.saturating_sub(u.inodes_used);
        let usage = |unit: Unit, total: u64, used: u64, available: u64| VolumeUsage {
            available: clamp(available),
            total: clamp(total),
            used: clamp(used),
            unit: unit as i32,
        };
        Ok(NodeGetVolumeStatsResponse {
            usage: vec![
                usage(Unit::Bytes, u.bytes_total, u.bytes_used, bytes_available),
                usage(Unit::Inodes, u.inodes_total, u.inodes_used, inodes_free),
            ],
            volume_condition: Some(VolumeCondition {
                abnormal: false,
                message: "volume is healthy".into(),
            }),
        })
    }

    pub(super) fn expand(&self, r: NodeExpandVolumeRequest) -> Result<NodeExpandVolumeResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let path = Path::new(required(&r.volume_path, "volume_path")?);
        if let Some(cap) = &r.volume_capability {
            rq::capability(Some(cap))?;
        }
        let volume = self.volume(id)?;
        self.mounted_at(id, &volume, path)?;
        let wanted = r
            .capacity_range
            .map_or(0, |c| c.required_bytes.max(0) as u64);
        if wanted > volume.spec.capacity_bytes {
            return Err(VolumeError::ExpandFirst {
                id: id.to_string(),
                bytes: volume.spec.capacity_bytes,
            });
        }
        self.volumes.set_limit(&volume)?;
        Ok(NodeExpandVolumeResponse {
            capacity_bytes: clamp(volume.spec.capacity_bytes),
        })
    }

    /// A staging or target path as the kernel mounts on it: the directories above it resolved
    /// (a kubelet root may be a symbolic link), the path itself not a symbolic link (it would
    /// mount where it points, and unmounting the path named would find nothing there), and
    /// nowhere in Strata's state directory (a bind over a drive's `volumes/` would put other
    /// volumes inside this one). InvalidArgument otherwise.
    fn checked_path(&self, value: &str, field: &str) -> Result<std::path::PathBuf> {
        let path = rq::mount_path(value, field)?;
        match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Status::invalid_argument(format!(
                    "{field} {value:?} is a symbolic link: give the directory itself"
                ))
                .into())
            }
            Ok(m) if !m.is_dir() => {
                return Err(Status::invalid_argument(format!(
                    "{field} {value:?} exists and is not a directory"
                ))
                .into())
            }
            _ => {}
        }
        let real = match (path.parent().map(fs::canonicalize), path.file_name()) {
            (Some(Ok(parent)), Some(name)) => parent.join(name),
            _ => path.to_path_buf(),
        };
        if self.volumes.is_strata_path(&real) || self.volumes.is_strata_path(path) {
            return Err(Status::invalid_argument(format!(
                "{field} {value:?} lies in Strata's state directory or on one of its drives"
            ))
            .into());
        }
        Ok(real)
    }

    /// Unmounts everything stacked on a path (a repeated bind leaves several).
    fn unmount_all(&self, path: &Path) -> Result<()> {
        for _ in 0..16 {
            match self.mounter().unmount_if_mounted(path) {
                Ok(true) => continue,
                Ok(false) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(VolumeError::io(format!("unmounting {}", path.display()))(e)),
            }
        }
        Err(VolumeError::StuckMount {
            path: path.display().to_string(),
        })
    }
}

#[tonic::async_trait]
impl Node for NodeService {
    async fn node_stage_volume(
        &self,
        r: Req<NodeStageVolumeRequest>,
    ) -> Reply<NodeStageVolumeResponse> {
        blocking(|| self.stage(r.into_inner()))
    }

    async fn node_unstage_volume(
        &self,
        r: Req<NodeUnstageVolumeRequest>,
    ) -> Reply<NodeUnstageVolumeResponse> {
        blocking(|| self.unstage(r.into_inner()))
    }

    async fn node_publish_volume(
        &self,
        r: Req<NodePublishVolumeRequest>,
    ) -> Reply<NodePublishVolumeResponse> {
        blocking(|| self.publish(r.into_inner()))
    }

    async fn node_unpublish_volume(
        &self,
        r: Req<NodeUnpublishVolumeRequest>,
    ) -> Reply<NodeUnpublishVolumeResponse> {
        blocking(|| self.unpublish(r.into_inner()))
    }

    async fn node_get_volume_stats(
        &self,
        r: Req<NodeGetVolumeStatsRequest>,
    ) -> Reply<NodeGetVolumeStatsResponse> {
        blocking(|| self.stats(r.into_inner()))
    }

    async fn node_expand_volume(
        &self,
        r: Req<NodeExpandVolumeRequest>,
    ) -> Reply<NodeExpandVolumeResponse> {
        blocking(|| self.expand(r.into_inner()))
    }

    async fn node_get_capabilities(
        &self,
        _: Req<NodeGetCapabilitiesRequest>,
    ) -> Reply<NodeGetCapabilitiesResponse> {
        let capabilities = [
            Rpc::StageUnstageVolume,
            Rpc::GetVolumeStats,
            Rpc::ExpandVolume,
            Rpc::VolumeCondition,
            Rpc::SingleNodeMultiWriter,
        ]
        .into_iter()
        .map(|t| NodeServiceCapability {
            r#type: Some(node_service_capability::Type::Rpc(ncap::Rpc {
                r#type: t as i32,
            })),
        })
        .collect();
        Ok(Response::new(NodeGetCapabilitiesResponse { capabilities }))
    }

    async fn node_get_info(&self, _: Req<NodeGetInfoRequest>) -> Reply<NodeGetInfoResponse> {
        Ok(Response::new(NodeGetInfoResponse {
            node_id: self.volumes.node().to_string(),
            max_volumes_per_node: self.max_volumes,
            accessible_topology: Some(rq::node_topology(self.volumes.node())),
        }))
    }
}

//! The CSI node service: stages a volume (its quota directory bind-mounted to the staging
//! path), publishes it to pods (a second bind mount, read-only when asked), reports usage
//! and health, and raises the quota on expansion. Every RPC can be repeated safely.

use super::model::{MountKind, VolumePhase, VolumeSpec};
use super::mount;
use super::proto::node_server::Node;
use super::proto::node_service_capability::{self as ncap, rpc::Type as Rpc};
use super::proto::volume_usage::Unit;
use super::proto::*;
use super::request::{self as rq, required};
use super::status::{blocking, clamp, internal, store_error, Reply};
use super::store::Store;
use super::volumes::NodeVolumes;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use tonic::{Request as Req, Response, Status};
use tracing::warn;

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

    /// The volume's record; NotFound when unknown, FailedPrecondition when it belongs to
    /// another node or is being deleted.
    fn volume(&self, id: &str) -> Result<VolumeSpec, Status> {
        let state = self.store.load().map_err(store_error)?;
        let v = state
            .volumes
            .get(id)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("volume {id} does not exist")))?;
        if v.node != self.volumes.node() {
            return Err(Status::failed_precondition(format!(
                "volume {id} lives on node {}, not {}",
                v.node,
                self.volumes.node()
            )));
        }
        if v.phase == VolumePhase::Deleting {
            return Err(Status::failed_precondition(format!(
                "volume {id} is being deleted"
            )));
        }
        Ok(v)
    }

    fn stage(&self, r: NodeStageVolumeRequest) -> Result<NodeStageVolumeResponse, Status> {
        let id = required(&r.volume_id, "volume_id")?;
        let staging = rq::mount_path(&r.staging_target_path, "staging_target_path")?;
        let (_, options) = rq::node_mount(r.volume_capability.as_ref())?;
        let _held = self.volumes.lock(id);
        let spec = self.volume(id)?;
        let dir = self.volumes.prepare(id, &spec)?;
        if let Some(existing) = mount::mount_at(staging).map_err(|e| internal("mount table", e))? {
            return if shows(&existing, &dir)? && options.shown_by(&existing.options) {
                self.volumes
                    .record_mount(id, MountKind::Staging, &r.staging_target_path)?;
                Ok(NodeStageVolumeResponse {})
            } else {
                Err(Status::already_exists(format!(
                    "{} already has another mount ({} of {}, {}), not this volume with these options",
                    staging.display(),
                    existing.root.display(),
                    existing.source,
                    existing.options
                )))
            };
        }
        self.mount_recorded(id, MountKind::Staging, &r.staging_target_path, || {
            fs::create_dir_all(staging).map_err(|e| internal("creating the staging path", e))?;
            mount::bind(&dir, staging, &options).map_err(|e| internal("bind mount", e))
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
        mount: impl FnOnce() -> Result<(), Status>,
    ) -> Result<(), Status> {
        self.volumes.record_mount(id, kind, path)?;
        let mounted = mount();
        if mounted.is_err() {
            if let Err(e) = self.volumes.forget_mount(id, kind, path) {
                warn!(volume = %id, path, "mount failed, its record stays until the next pass: {}", e.message());
            }
        }
        mounted
    }

    fn unstage(&self, r: NodeUnstageVolumeRequest) -> Result<NodeUnstageVolumeResponse, Status> {
        let id = required(&r.volume_id, "volume_id")?;
        let staging = rq::mount_path(&r.staging_target_path, "staging_target_path")?;
        let _held = self.volumes.lock(id);
        unmount_all(staging)?;
        self.volumes
            .forget_mount(id, MountKind::Staging, &r.staging_target_path)?;
        Ok(NodeUnstageVolumeResponse {})
    }

    fn publish(&self, r: NodePublishVolumeRequest) -> Result<NodePublishVolumeResponse, Status> {
        let id = required(&r.volume_id, "volume_id")?;
        let target = rq::mount_path(&r.target_path, "target_path")?;
        let (cap, options) = rq::node_mount(r.volume_capability.as_ref())?;
        // The spec's code for a missing staging path (the plugin stages) is FailedPrecondition.
        if r.staging_target_path.is_empty() {
            return Err(Status::failed_precondition(format!(
                "volume {id} must be staged first: staging_target_path is empty"
            )));
        }
        let staging = rq::mount_path(&r.staging_target_path, "staging_target_path")?;
        let options = options.or_read_only(r.readonly || rq::read_only_mode(cap));
        let _held = self.volumes.lock(id);
        let spec = self.volume(id)?;
        let dir = self.volumes.volume_dir(id, &spec)?;
        let staged = mount::mount_at(staging).map_err(|e| internal("mount table", e))?;
        match staged {
            Some(m) if shows(&m, &dir)? => {}
            _ => {
                return Err(Status::failed_precondition(format!(
                    "volume {id} is not staged at {}",
                    staging.display()
                )))
            }
        }
        if let Some(existing) = mount::mount_at(target).map_err(|e| internal("mount table", e))? {
            return if shows(&existing, &dir)? && options.shown_by(&existing.options) {
                self.volumes
                    .record_mount(id, MountKind::Target, &r.target_path)?;
                Ok(NodePublishVolumeResponse {})
            } else {
                Err(Status::already_exists(format!(
                    "{} is already published with other options or another volume",
                    target.display()
                )))
            };
        }
        if rq::single_writer(cap) {
            self.only_here(id, &spec, staging, target)?;
        }
        self.mount_recorded(id, MountKind::Target, &r.target_path, || {
            fs::create_dir_all(target).map_err(|e| internal("creating the target path", e))?;
            mount::bind(staging, target, &options).map_err(|e| internal("bind mount", e))
        })?;
        Ok(NodePublishVolumeResponse {})
    }

    /// SINGLE_NODE_SINGLE_WRITER: FailedPrecondition when the volume is already published
    /// at another target path.
    fn only_here(
        &self,
        id: &str,
        spec: &VolumeSpec,
        staging: &Path,
        target: &Path,
    ) -> Result<(), Status> {
        let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let (staging, target) = (canonical(staging), canonical(target));
        let elsewhere: Vec<String> = self
            .volumes
            .mounts(id, spec)
            .into_iter()
            .filter(|m| Path::new(m) != staging && Path::new(m) != target)
            .collect();
        if elsewhere.is_empty() {
            Ok(())
        } else {
            Err(Status::failed_precondition(format!(
                "volume {id} allows a single writer and is already published at {}",
                elsewhere.join(", ")
            )))
        }
    }

    fn unpublish(
        &self,
        r: NodeUnpublishVolumeRequest,
    ) -> Result<NodeUnpublishVolumeResponse, Status> {
        let id = required(&r.volume_id, "volume_id")?;
        let target = rq::mount_path(&r.target_path, "target_path")?;
        let _held = self.volumes.lock(id);
        unmount_all(target)?;
        match fs::remove_dir(target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(internal("removing the target path", e)),
        }
        self.volumes
            .forget_mount(id, MountKind::Target, &r.target_path)?;
        Ok(NodeUnpublishVolumeResponse {})
    }

    fn stats(&self, r: NodeGetVolumeStatsRequest) -> Result<NodeGetVolumeStatsResponse, Status> {
        let id = required(&r.volume_id, "volume_id")?;
        let path = Path::new(required(&r.volume_path, "volume_path")?);
        // The spec has only NotFound for a volume this node does not serve.
        let spec = self
            .volume(id)
            .map_err(|e| Status::not_found(e.message().to_string()))?;
        if let Some(problem) = self.volumes.condition(&spec) {
            return Ok(NodeGetVolumeStatsResponse {
                usage: Vec::new(),
                volume_condition: Some(VolumeCondition {
                    abnormal: true,
                    message: problem,
                }),
            });
        }
        let dir = self.volumes.volume_dir(id, &spec)?;
        match mount::mount_at(path).map_err(|e| internal("mount table", e))? {
            Some(m) if shows(&m, &dir)? => {}
            _ => {
                return Err(Status::not_found(format!(
                    "volume {id} is not mounted at {}",
                    path.display()
                )))
            }
        }
        let u = self.volumes.usage(id, &spec)?;
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

    fn expand(&self, r: NodeExpandVolumeRequest) -> Result<NodeExpandVolumeResponse, Status> {
        let id = required(&r.volume_id, "volume_id")?;
        let path = Path::new(required(&r.volume_path, "volume_path")?);
        if let Some(cap) = &r.volume_capability {
            rq::capability(Some(cap))?;
        }
        let spec = self.volume(id)?;
        let dir = self.volumes.volume_dir(id, &spec)?;
        match mount::mount_at(path).map_err(|e| internal("mount table", e))? {
            Some(m) if shows(&m, &dir)? => {}
            _ => {
                return Err(Status::not_found(format!(
                    "volume {id} is not mounted at {}",
                    path.display()
                )))
            }
        }
        let wanted = r
            .capacity_range
            .map_or(0, |c| c.required_bytes.max(0) as u64);
        if wanted > spec.capacity_bytes {
            return Err(Status::out_of_range(format!(
                "volume {id} has {} bytes reserved; expand it through the controller first",
                spec.capacity_bytes
            )));
        }
        self.volumes.set_limit(&spec)?;
        Ok(NodeExpandVolumeResponse {
            capacity_bytes: clamp(spec.capacity_bytes),
        })
    }
}

/// Whether a mount shows the volume directory (the same inode, through any bind).
fn shows(m: &mount::MountInfo, dir: &Path) -> Result<bool, Status> {
    mount::same_file(&m.mount_point, dir).map_err(|e| internal("comparing mounts", e))
}

/// Unmounts everything stacked on a path (a repeated bind leaves several).
fn unmount_all(path: &Path) -> Result<(), Status> {
    for _ in 0..16 {
        match mount::unmount_if_mounted(path) {
            Ok(true) => continue,
            Ok(false) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(internal(&format!("unmounting {}", path.display()), e)),
        }
    }
    Err(Status::internal(format!(
        "{} stays mounted after 16 unmounts",
        path.display()
    )))
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

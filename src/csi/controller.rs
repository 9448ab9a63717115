//! The CSI controller service: creates volumes by reserving room on a drive (placement and
//! reservation are one state transaction), deletes and expands them, and reports capacity per
//! node and tier for Kubernetes storage-capacity tracking.

use super::error::VolumeError;
use super::model::{
    DriveState, Reservation, State, VolumeEntry, VolumePhase, VolumeSpec, VolumeStatus,
};
use super::placement::{self, Request};
use super::proto::controller_server::Controller;
use super::proto::controller_service_capability::{self as ccap, rpc::Type as Rpc};
use super::proto::*;
use super::request::{self as rq, required};
use super::status::{blocking, clamp, Reply};
use super::store::Store;
use super::volumes::NodeVolumes;
use std::collections::HashMap;
use std::sync::Arc;
use strata_drive::identity::now_rfc3339;
use tonic::{Request as Req, Response, Status};

type Result<T, E = VolumeError> = std::result::Result<T, E>;
use tracing::{info, warn};

pub struct ControllerService {
    store: Store,
    /// The node side of this same process (`--mode all`): deletes of its volumes finish at
    /// once instead of on the node plugin's next pass.
    local: Option<Arc<NodeVolumes>>,
}

impl ControllerService {
    pub fn new(store: Store, local: Option<Arc<NodeVolumes>>) -> ControllerService {
        ControllerService { store, local }
    }

    fn create(&self, r: CreateVolumeRequest) -> Result<CreateVolumeResponse> {
        let name = required(&r.name, "name")?;
        rq::capabilities(&r.volume_capabilities)?;
        if r.volume_content_source.is_some() {
            return Err(Status::invalid_argument(
                "volume_content_source is not supported: Strata has no snapshots or clones",
            )
            .into());
        }
        let size = rq::size_for(r.capacity_range.as_ref())?;
        let params = rq::params(&r.parameters)?;
        let nodes = rq::topology_nodes(r.accessibility_requirements.as_ref())?;
        let id = rq::volume_id_for(name);
        let want = Request {
            size,
            tier: params.tier,
            nodes,
            spread: params.spread,
            claim: params.claim.clone(),
        };
        let range = r.capacity_range;
        let spec = self.store.transact(|st| {
            if let Some(existing) = st.volumes.get(&id) {
                return same_request(&id, existing, name, &want, range.as_ref());
            }
            // A reservation without its volume record is this name's own earlier attempt
            // that stopped half-way (Kubernetes state): place again from scratch.
            for d in st.drives.values_mut() {
                d.spec.reservations.remove(&id);
            }
            let p = placement::place(st, &want)?;
            reserve(st, &id, name, &want, p)
        })??;
        info!(volume = %id, node = %spec.node, drive = %spec.drive_id, bytes = spec.capacity_bytes, "volume created");
        // On this node's own drive, its directory is made now (a node plugin elsewhere makes
        // it at its next pass, or at the first stage): the drive then shows the volume.
        if let Some(local) = self.local.as_ref().filter(|l| l.node() == spec.node) {
            if let Err(e) = local.materialize() {
                warn!(volume = %id, "cannot make its directory on its drive yet: {e}");
            }
        }
        Ok(CreateVolumeResponse {
            volume: Some(volume_message(&id, &spec)),
        })
    }

    fn delete(&self, r: DeleteVolumeRequest) -> Result<DeleteVolumeResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let local = self.local.as_ref();
        if let (Some(local), Some(spec)) = (local, self.store.load()?.volumes.get(id)) {
            // Refuse before marking it deleting: a refused delete must leave it usable.
            if spec.spec.node == local.node() {
                local.check_unused(id, spec)?;
            }
        }
        // The node plugin records each mount before it makes it, in this same state: a
        // volume staged or published anywhere is refused, whichever process serves it.
        let spec = self.store.transact(|st| {
            let Some(v) = st.volumes.get_mut(id) else {
                return Ok(None);
            };
            if v.status.phase != VolumePhase::Deleting {
                if let Some(place) = v.in_use() {
                    return Err(VolumeError::InUse {
                        id: id.to_string(),
                        place,
                    });
                }
            }
            v.status.phase = VolumePhase::Deleting;
            Ok(Some(v.clone()))
        })??;
        if let (Some(v), Some(local)) = (spec, local) {
            if v.spec.node == local.node() {
                local.purge(id, &v)?;
            }
        }
        Ok(DeleteVolumeResponse {})
    }

    fn validate(
        &self,
        r: ValidateVolumeCapabilitiesRequest,
    ) -> Result<ValidateVolumeCapabilitiesResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        if r.volume_capabilities.is_empty() {
            return Err(Status::invalid_argument("volume_capabilities are required").into());
        }
        let state = self.store.load()?;
        let v = &live_volume(&state, id)?.spec;
        let params = rq::params(&r.parameters)?;
        let tier_mismatch = params
            .tier
            .filter(|t| *t != v.tier)
            .map(|t| format!("the volume is on a {} drive, not {t}", v.tier));
        if let Some(why) = r
            .volume_capabilities
            .iter()
            .find_map(rq::unsupported)
            .or(tier_mismatch)
        {
            return Ok(ValidateVolumeCapabilitiesResponse {
                confirmed: None,
                message: why,
            });
        }
        Ok(ValidateVolumeCapabilitiesResponse {
            confirmed: Some(validate_volume_capabilities_response::Confirmed {
                volume_context: r.volume_context,
                volume_capabilities: r.volume_capabilities,
                parameters: r.parameters,
                mutable_parameters: r.mutable_parameters,
            }),
            message: String::new(),
        })
    }

    fn list(&self, r: ListVolumesRequest) -> Result<ListVolumesResponse> {
        if r.max_entries < 0 {
            return Err(Status::invalid_argument("max_entries must not be negative").into());
        }
        let state = self.store.load()?;
        let live: Vec<(&String, &VolumeSpec)> = state
            .volumes
            .iter()
            .filter(|(_, v)| v.status.phase != VolumePhase::Deleting)
            .map(|(id, v)| (id, &v.spec))
            .collect();
        // The token is the index of the next entry in volume id order.
        let start = match r.starting_token.as_str() {
            "" => 0,
            t => t
                .parse::<usize>()
                .ok()
                .filter(|i| *i <= live.len())
                .ok_or_else(|| Status::aborted(format!("starting_token {t:?} is not valid")))?,
        };
        let page = match r.max_entries {
            0 => usize::MAX,
            n => n as usize,
        };
        let entries: Vec<_> = live
            .iter()
            .copied()
            .skip(start)
            .take(page)
            .map(|(id, v)| list_volumes_response::Entry {
                volume: Some(volume_message(id, v)),
                status: Some(list_volumes_response::VolumeStatus {
                    published_node_ids: Vec::new(),
                    volume_condition: Some(condition(&state, v)),
                }),
            })
            .collect();
        let next = start + entries.len();
        Ok(ListVolumesResponse {
            entries,
            next_token: if next < live.len() {
                next.to_string()
            } else {
                String::new()
            },
        })
    }

    fn get_volume(&self, r: ControllerGetVolumeRequest) -> Result<ControllerGetVolumeResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let state = self.store.load()?;
        let v = &live_volume(&state, id)?.spec;
        Ok(ControllerGetVolumeResponse {
            volume: Some(volume_message(id, v)),
            status: Some(controller_get_volume_response::VolumeStatus {
                published_node_ids: Vec::new(),
                volume_condition: Some(condition(&state, v)),
            }),
        })
    }

    fn capacity(&self, r: GetCapacityRequest) -> Result<GetCapacityResponse> {
        let params = rq::params(&r.parameters)?;
        let unsupported = r
            .volume_capabilities
            .iter()
            .any(|c| rq::unsupported(c).is_some());
        let node = match &r.accessible_topology {
            None => None,
            Some(t) => Some(t.segments.get(rq::TOPOLOGY_KEY).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "accessible_topology without {}",
                    rq::TOPOLOGY_KEY
                ))
            })?),
        };
        let state = self.store.load()?;
        let (total, largest) = if unsupported {
            (0, 0)
        } else {
            placement::capacity(&state, node.map(String::as_str), params.tier)
        };
        Ok(GetCapacityResponse {
            available_capacity: clamp(total),
            maximum_volume_size: Some(clamp(largest)),
            minimum_volume_size: None,
        })
    }

    fn expand(&self, r: ControllerExpandVolumeRequest) -> Result<ControllerExpandVolumeResponse> {
        let id = required(&r.volume_id, "volume_id")?;
        let range = r
            .capacity_range
            .ok_or_else(|| Status::invalid_argument("capacity_range is required"))?;
        if let Some(cap) = &r.volume_capability {
            rq::capability(Some(cap))?;
        }
        let want = rq::size_for(Some(&range))?;
        let size = self.store.transact(|st| {
            let free = |st: &State, drive: &str| st.free(drive);
            let v = st
                .volumes
                .get(id)
                .ok_or_else(|| VolumeError::NoSuchVolume(id.to_string()))?;
            if v.status.phase == VolumePhase::Deleting {
                return Err(VolumeError::Deleting(id.to_string()));
            }
            let v = &v.spec;
            if want <= v.capacity_bytes {
                return Ok(v.capacity_bytes);
            }
            let extra = want - v.capacity_bytes;
            let room = free(st, &v.drive_id);
            if extra > room {
                return Err(VolumeError::NoRoomToGrow {
                    drive: v.drive_id.clone(),
                    free: room,
                    extra,
                });
            }
            let drive_id = v.drive_id.clone();
            let v = st
                .volumes
                .get_mut(id)
                .ok_or(VolumeError::Inconsistent("volume vanished"))?;
            v.spec.capacity_bytes = want;
            let d = st
                .drives
                .get_mut(&drive_id)
                .ok_or(VolumeError::Inconsistent("volume on an unknown drive"))?;
            d.spec.reservations.entry(id.to_string()).or_default().bytes = want;
            Ok(want)
        })??;
        Ok(ControllerExpandVolumeResponse {
            capacity_bytes: clamp(size),
            // The node raises the quota; it is idempotent, so always ask.
            node_expansion_required: true,
        })
    }
}

/// A volume that exists and is not being deleted; NotFound otherwise.
fn live_volume<'a>(state: &'a State, id: &str) -> Result<&'a VolumeEntry> {
    state
        .volumes
        .get(id)
        .filter(|v| v.status.phase != VolumePhase::Deleting)
        .ok_or_else(|| VolumeError::NoSuchVolume(id.to_string()))
}

/// A CreateVolume repeated for an existing volume: the same answer, or AlreadyExists when
/// it asks for something else.
fn same_request(
    id: &str,
    v: &VolumeEntry,
    name: &str,
    want: &Request,
    range: Option<&CapacityRange>,
) -> Result<VolumeSpec> {
    let (v, phase) = (&v.spec, v.status.phase);
    if v.name != name {
        return Err(VolumeError::IdCollision {
            id: id.to_string(),
            name: v.name.clone(),
        });
    }
    if phase == VolumePhase::Deleting {
        return Err(VolumeError::RecreatedWhileDeleting(name.to_string()));
    }
    let tier_ok = want.tier.is_none_or(|t| t == v.tier);
    let node_ok = want.nodes.is_empty() || want.nodes.contains(&v.node);
    if !rq::fits_range(v.capacity_bytes, range) || !tier_ok || !node_ok {
        return Err(VolumeError::Incompatible {
            name: name.to_string(),
            bytes: v.capacity_bytes,
            tier: v.tier,
            node: v.node.clone(),
        });
    }
    Ok(v.clone())
}

/// Records the volume and takes a project id from its drive, in the placing transaction.
fn reserve(
    st: &mut State,
    id: &str,
    name: &str,
    want: &Request,
    p: placement::Placement,
) -> Result<VolumeSpec> {
    let drive = &mut st
        .drives
        .get_mut(&p.drive_id)
        .ok_or(VolumeError::Inconsistent("placed on an unknown drive"))?
        .spec;
    let project_id = drive.next_project_id.max(1);
    drive.next_project_id = project_id + 1;
    drive.reservations.insert(
        id.to_string(),
        Reservation {
            bytes: want.size,
            pvc_namespace: want.claim.as_ref().map(|c| c.namespace.clone()),
            pvc_name: want.claim.as_ref().map(|c| c.name.clone()),
        },
    );
    let spec = VolumeSpec {
        name: name.to_string(),
        node: p.node,
        drive_id: p.drive_id,
        tier: drive.tier,
        capacity_bytes: want.size,
        project_id,
        pvc_namespace: want.claim.as_ref().map(|c| c.namespace.clone()),
        pvc_name: want.claim.as_ref().map(|c| c.name.clone()),
        created_at: now_rfc3339(),
    };
    let entry = VolumeEntry {
        spec: spec.clone(),
        status: VolumeStatus::default(),
    };
    st.volumes.insert(id.to_string(), entry);
    Ok(spec)
}

pub fn volume_message(id: &str, v: &VolumeSpec) -> super::proto::Volume {
    super::proto::Volume {
        capacity_bytes: clamp(v.capacity_bytes),
        volume_id: id.to_string(),
        volume_context: HashMap::from([
            ("strata.dev/drive".to_string(), v.drive_id.clone()),
            ("strata.dev/tier".to_string(), v.tier.to_string()),
        ]),
        content_source: None,
        accessible_topology: vec![rq::node_topology(&v.node)],
    }
}

/// A volume is abnormal when its drive is lost (or gone from the state).
fn condition(state: &State, v: &VolumeSpec) -> VolumeCondition {
    let problem = match state.drives.get(&v.drive_id) {
        None => Some(format!("drive {} is unknown", v.drive_id)),
        Some(d) if d.status.state == DriveState::Lost => Some(format!(
            "drive {} is lost: {}",
            v.drive_id,
            d.status.message.as_deref().unwrap_or("not found")
        )),
        Some(_) => None,
    };
    VolumeCondition {
        abnormal: problem.is_some(),
        message: problem.unwrap_or_else(|| "volume is healthy".into()),
    }
}

fn capabilities() -> Vec<ControllerServiceCapability> {
    [
        Rpc::CreateDeleteVolume,
        Rpc::ListVolumes,
        Rpc::GetCapacity,
        Rpc::ExpandVolume,
        Rpc::VolumeCondition,
        Rpc::GetVolume,
        Rpc::SingleNodeMultiWriter,
    ]
    .into_iter()
    .map(|t| ControllerServiceCapability {
        r#type: Some(controller_service_capability::Type::Rpc(ccap::Rpc {
            r#type: t as i32,
        })),
    })
    .collect()
}

#[tonic::async_trait]
impl Controller for ControllerService {
    async fn create_volume(&self, r: Req<CreateVolumeRequest>) -> Reply<CreateVolumeResponse> {
        blocking(|| self.create(r.into_inner()))
    }

    async fn delete_volume(&self, r: Req<DeleteVolumeRequest>) -> Reply<DeleteVolumeResponse> {
        blocking(|| self.delete(r.into_inner()))
    }

    async fn validate_volume_capabilities(
        &self,
        r: Req<ValidateVolumeCapabilitiesRequest>,
    ) -> Reply<ValidateVolumeCapabilitiesResponse> {
        blocking(|| self.validate(r.into_inner()))
    }

    async fn list_volumes(&self, r: Req<ListVolumesRequest>) -> Reply<ListVolumesResponse> {
        blocking(|| self.list(r.into_inner()))
    }

    async fn get_capacity(&self, r: Req<GetCapacityRequest>) -> Reply<GetCapacityResponse> {
        blocking(|| self.capacity(r.into_inner()))
    }

    async fn controller_get_capabilities(
        &self,
        _: Req<ControllerGetCapabilitiesRequest>,
    ) -> Reply<ControllerGetCapabilitiesResponse> {
        Ok(Response::new(ControllerGetCapabilitiesResponse {
            capabilities: capabilities(),
        }))
    }

    async fn controller_expand_volume(
        &self,
        r: Req<ControllerExpandVolumeRequest>,
    ) -> Reply<ControllerExpandVolumeResponse> {
        blocking(|| self.expand(r.into_inner()))
    }

    async fn controller_get_volume(
        &self,
        r: Req<ControllerGetVolumeRequest>,
    ) -> Reply<ControllerGetVolumeResponse> {
        blocking(|| self.get_volume(r.into_inner()))
    }
}

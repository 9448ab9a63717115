//! What the CSI driver keeps: the drives each node offers and the volumes placed on them.
//! The same spec and status types make the `Drive` and `Volume` custom resources
//! (`strata.dev/v1alpha1`, observed state in their status subresource) and the records of the
//! local state file (spec and status side by side, flat), so placement and bookkeeping code
//! serves both.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_drive::Tier;

/// A formatted Strata drive as the CSI driver sees it; its name is the drive id (the XFS
/// filesystem UUID). The node plugin that owns it keeps it up to date; the controller adds
/// and removes the reservations of the volumes it places on it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "strata.dev",
    version = "v1alpha1",
    kind = "Drive",
    plural = "drives",
    shortname = "sdrive",
    category = "strata",
    status = "DriveStatus",
    printcolumn = r#"{"name":"Node","type":"string","jsonPath":".spec.node"}"#,
    printcolumn = r#"{"name":"Tier","type":"string","jsonPath":".spec.tier"}"#,
    printcolumn = r#"{"name":"Capacity","type":"integer","jsonPath":".spec.capacityBytes"}"#,
    printcolumn = r#"{"name":"Allocated","type":"integer","jsonPath":".status.allocatedBytes"}"#,
    printcolumn = r#"{"name":"Free","type":"integer","jsonPath":".status.freeBytes"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DriveSpec {
    pub node: String,
    pub tier: Tier,
    /// Bytes volumes may use in all: the size of the mounted filesystem.
    pub capacity_bytes: u64,
    /// The volumes' claims on this drive, by volume id. Reservations are made here, on the
    /// drive object alone, so that the API server's optimistic concurrency on one object
    /// decides between parallel CreateVolume calls (two lists are never one snapshot).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reservations: BTreeMap<String, Reservation>,
    /// The next XFS project id to hand out on this drive. Ids are allocated, never hashed or
    /// reused, so two volumes can never share a quota.
    pub next_project_id: u32,
    /// Whether the drive enforces XFS project quotas (formatted without `--allow-no-quota`).
    pub project_quota: bool,
}

/// What was last observed of a drive: whether its node plugin serves it, and how much of it
/// the reservations take.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriveStatus {
    pub state: DriveState,
    /// Why the drive is not ready, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The sum of the reservations, for `kubectl get drives`.
    #[serde(default)]
    pub allocated_bytes: u64,
    /// Capacity not reserved by any volume.
    #[serde(default)]
    pub free_bytes: u64,
}

/// A drive object that no node plugin has given a status yet serves nothing.
impl Default for DriveStatus {
    fn default() -> DriveStatus {
        DriveStatus {
            state: DriveState::Lost,
            message: Some("not published by its node plugin yet".into()),
            allocated_bytes: 0,
            free_bytes: 0,
        }
    }
}

/// One volume's claim on a drive, with the PVC it is for (to keep one pod's volumes apart).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DriveState {
    /// Mounted and usable.
    Ready,
    /// Not found on its node at the last start-up: its volumes are abnormal.
    Lost,
}

/// A provisioned volume: a directory with an XFS project quota on one drive. Its name is the
/// CSI volume id. The controller writes the spec when it places the volume.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "strata.dev",
    version = "v1alpha1",
    kind = "Volume",
    plural = "volumes",
    shortname = "svol",
    category = "strata",
    status = "VolumeStatus",
    printcolumn = r#"{"name":"Node","type":"string","jsonPath":".spec.node"}"#,
    printcolumn = r#"{"name":"Drive","type":"string","jsonPath":".spec.driveId"}"#,
    printcolumn = r#"{"name":"Capacity","type":"integer","jsonPath":".spec.capacityBytes"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSpec {
    /// The name the CreateVolume call gave (the PV name in Kubernetes).
    pub name: String,
    pub node: String,
    pub drive_id: String,
    pub tier: Tier,
    pub capacity_bytes: u64,
    pub project_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_name: Option<String>,
    pub created_at: String,
}

/// Where a volume is in its life and where it is mounted, as the controller and the node
/// plugin last saw it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeStatus {
    pub phase: VolumePhase,
    /// Set once the node plugin made the volume's directory: from then on a missing
    /// directory is lost data, reported, never silently replaced by an empty one.
    #[serde(default)]
    pub on_drive: bool,
    /// Where the node plugin has the volume staged: each path recorded before it is
    /// mounted and dropped once it is unmounted, so that DeleteVolume, in whatever process,
    /// refuses a volume in use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staged_at: Vec<String>,
    /// Where it is published (the pods' target paths), kept the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub published_at: Vec<String>,
}

/// Which of a volume's mounts a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Staging,
    Target,
}

impl VolumeStatus {
    pub fn mounts_mut(&mut self, kind: MountKind) -> &mut Vec<String> {
        match kind {
            MountKind::Staging => &mut self.staged_at,
            MountKind::Target => &mut self.published_at,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum VolumePhase {
    #[default]
    Ready,
    /// DeleteVolume was called: the node plugin removes the data, then the record; until
    /// then the capacity stays reserved.
    Deleting,
}

/// A drive's record in the state: its spec and status (flat in the state file).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DriveEntry {
    #[serde(flatten)]
    pub spec: DriveSpec,
    #[serde(flatten)]
    pub status: DriveStatus,
}

/// A volume's record in the state: its spec and status (flat in the state file).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VolumeEntry {
    #[serde(flatten)]
    pub spec: VolumeSpec,
    #[serde(flatten)]
    pub status: VolumeStatus,
}

impl VolumeEntry {
    /// Why the volume cannot be deleted now: where it is still staged or published.
    pub fn in_use(&self) -> Option<String> {
        let mut places = Vec::new();
        if !self.status.published_at.is_empty() {
            places.push(format!(
                "published at {}",
                self.status.published_at.join(", ")
            ));
        }
        if !self.status.staged_at.is_empty() {
            places.push(format!("staged at {}", self.status.staged_at.join(", ")));
        }
        (!places.is_empty()).then(|| format!("{} on node {}", places.join(" and "), self.spec.node))
    }
}

/// Every drive and volume (keyed by drive id and volume id). Stores load it, a transaction
/// changes it, and the store writes back what changed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct State {
    pub drives: BTreeMap<String, DriveEntry>,
    pub volumes: BTreeMap<String, VolumeEntry>,
}

impl State {
    /// Bytes reserved on a drive (deleting volumes included until they are gone).
    pub fn allocated(&self, drive_id: &str) -> u64 {
        self.drives.get(drive_id).map_or(0, |d| d.spec.reserved())
    }

    pub fn free(&self, drive_id: &str) -> u64 {
        self.drives.get(drive_id).map_or(0, |d| d.spec.unreserved())
    }

    /// Sets every drive's allocated and free bytes from its reservations.
    pub fn recount(&mut self) {
        for d in self.drives.values_mut() {
            d.status.allocated_bytes = d.spec.reserved();
            d.status.free_bytes = d.spec.unreserved();
        }
    }
}

impl DriveSpec {
    pub fn reserved(&self) -> u64 {
        self.reservations.values().map(|r| r.bytes).sum()
    }

    pub fn unreserved(&self) -> u64 {
        self.capacity_bytes.saturating_sub(self.reserved())
    }
}

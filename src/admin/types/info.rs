//! `GET info`: the deployment, its servers and their drives (madmin-go's `info-commands.go`),
//! what `mc admin info` prints and minio-py's `info()` returns. Go-like: `omitempty` fields
//! are plain values left out when zero, so the server fills only what it knows.

use super::{is_default, nullable};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Response of `GET info` (plain).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InfoMessage {
    /// `online`, `initializing`, …
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domain: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(rename = "sqsARN", default, skip_serializing_if = "Vec::is_empty")]
    pub sqs_arn: Vec<String>,
    #[serde(
        rename = "deploymentID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub deployment_id: String,
    // Go's omitempty leaves structs in: always written.
    #[serde(default)]
    pub buckets: Buckets,
    #[serde(default)]
    pub objects: Objects,
    #[serde(default)]
    pub versions: Versions,
    #[serde(rename = "deletemarkers", default)]
    pub delete_markers: DeleteMarkers,
    #[serde(default)]
    pub usage: Usage,
    #[serde(default)]
    pub services: Services,
    #[serde(default)]
    pub backend: ErasureBackend,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<ServerProperties>,
    /// Pool index → erasure set index → set (JSON keys are the numbers as strings).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pools: BTreeMap<u32, BTreeMap<u32, ErasureSetInfo>>,
}

/// Bucket count (`buckets` of [`InfoMessage`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buckets {
    pub count: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Object count.
pub type Objects = Buckets;
/// Object version count.
pub type Versions = Buckets;
/// Delete marker count.
pub type DeleteMarkers = Buckets;

/// Bytes used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub size: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// The state of the services around the store (KMS, LDAP, loggers, notification targets).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Services {
    /// Deprecated by madmin for `kmsStatus`; Go writes it anyway.
    #[serde(default)]
    pub kms: Kms,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kms_status: Vec<Kms>,
    #[serde(default)]
    pub ldap: Ldap,
    /// Logger name → status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logger: Vec<BTreeMap<String, Status>>,
    /// Audit target name → status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit: Vec<BTreeMap<String, Status>>,
    /// Target kind → [target id → status].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<BTreeMap<String, Vec<BTreeMap<String, Status>>>>,
}

/// A KMS's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kms {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub encrypt: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub decrypt: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// LDAP's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ldap {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
}

/// A target's state (`online`, `offline`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
}

/// The erasure backend (`backend` of [`InfoMessage`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureBackend {
    /// `Erasure` (or `FS`).
    #[serde(rename = "backendType", default)]
    pub backend_type: String,
    #[serde(default)]
    pub online_disks: i64,
    #[serde(default)]
    pub offline_disks: i64,
    /// Parity drives of the STANDARD storage class.
    #[serde(rename = "standardSCParity", default)]
    pub standard_sc_parity: i64,
    /// Parity drives of the REDUCED_REDUNDANCY storage class.
    #[serde(rename = "rrSCParity", default)]
    pub rr_sc_parity: i64,
    /// Erasure sets per pool.
    #[serde(default, deserialize_with = "nullable")]
    pub total_sets: Vec<i64>,
    /// Drives per erasure set, per pool.
    #[serde(rename = "totalDrivesPerSet", default, deserialize_with = "nullable")]
    pub drives_per_set: Vec<i64>,
}

/// One server (`servers` of [`InfoMessage`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerProperties {
    /// `online`, `offline`, `initializing`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    /// `host:port`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scheme: String,
    /// Seconds since the server started.
    #[serde(default, skip_serializing_if = "is_default")]
    pub uptime: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(rename = "commitID", default, skip_serializing_if = "String::is_empty")]
    pub commit_id: String,
    /// Peer endpoint → `online` / `offline`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub network: BTreeMap<String, String>,
    #[serde(rename = "drives", default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<Disk>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub pool_number: i64,
    #[serde(rename = "mem_stats", default)]
    pub mem_stats: MemStats,
    #[serde(rename = "go_max_procs", default, skip_serializing_if = "is_default")]
    pub go_max_procs: i64,
    #[serde(rename = "num_cpu", default, skip_serializing_if = "is_default")]
    pub num_cpu: i64,
    #[serde(
        rename = "runtime_version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub runtime_version: String,
    /// Go's garbage collector statistics; nothing of ours to put there.
    #[serde(rename = "gc_stats", default, skip_serializing_if = "Option::is_none")]
    pub gc_stats: Option<serde_json::Value>,
    #[serde(
        rename = "minio_env_vars",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub env_vars: BTreeMap<String, String>,
}

/// A server's memory (Go's field names, no tags).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MemStats {
    #[serde(default)]
    pub alloc: u64,
    #[serde(default)]
    pub total_alloc: u64,
    #[serde(default)]
    pub mallocs: u64,
    #[serde(default)]
    pub frees: u64,
    #[serde(default)]
    pub heap_alloc: u64,
}

/// One drive (`drives` of [`ServerProperties`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    #[serde(rename = "rootDisk", default, skip_serializing_if = "is_default")]
    pub root_disk: bool,
    #[serde(rename = "path", default, skip_serializing_if = "String::is_empty")]
    pub drive_path: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub healing: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scanning: bool,
    /// `ok`, `offline`, `unformatted`, …
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub state: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uuid: String,
    #[serde(default)]
    pub major: u32,
    #[serde(default)]
    pub minor: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    #[serde(rename = "totalspace", default, skip_serializing_if = "is_default")]
    pub total_space: u64,
    #[serde(rename = "usedspace", default, skip_serializing_if = "is_default")]
    pub used_space: u64,
    #[serde(rename = "availspace", default, skip_serializing_if = "is_default")]
    pub available_space: u64,
    #[serde(rename = "readthroughput", default, skip_serializing_if = "is_default")]
    pub read_throughput: f64,
    #[serde(
        rename = "writethroughput",
        default,
        skip_serializing_if = "is_default"
    )]
    pub write_throughput: f64,
    #[serde(rename = "readlatency", default, skip_serializing_if = "is_default")]
    pub read_latency: f64,
    #[serde(rename = "writelatency", default, skip_serializing_if = "is_default")]
    pub write_latency: f64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub utilization: f64,
    /// Per-call drive metrics (madmin's `DiskMetrics`), passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<serde_json::Value>,
    /// Healing progress (madmin's `HealingDisk`), passed through.
    #[serde(rename = "heal_info", default, skip_serializing_if = "Option::is_none")]
    pub heal_info: Option<serde_json::Value>,
    #[serde(rename = "used_inodes", default)]
    pub used_inodes: u64,
    #[serde(rename = "free_inodes", default, skip_serializing_if = "is_default")]
    pub free_inodes: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub local: bool,
    /// -1 until the drive is placed in a set.
    #[serde(rename = "pool_index", default)]
    pub pool_index: i64,
    #[serde(rename = "set_index", default)]
    pub set_index: i64,
    #[serde(rename = "disk_index", default)]
    pub disk_index: i64,
}

/// One erasure set (`pools` of [`InfoMessage`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureSetInfo {
    pub id: i64,
    #[serde(default)]
    pub raw_usage: u64,
    #[serde(default)]
    pub raw_capacity: u64,
    #[serde(default)]
    pub usage: u64,
    #[serde(default)]
    pub objects_count: u64,
    #[serde(default)]
    pub versions_count: u64,
    #[serde(default)]
    pub delete_markers_count: u64,
    #[serde(default)]
    pub heal_disks: i64,
}

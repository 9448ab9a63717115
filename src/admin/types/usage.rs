//! Usage: `GET datausageinfo` (the whole deployment) and `GET accountinfo` (what the caller
//! can see), from madmin-go's `info-commands.go` and `user-commands.go`.

use super::{nullable, BucketQuota, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Response of `GET datausageinfo` (plain): the last scan's totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataUsageInfo {
    /// When the totals were last updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update: Option<Timestamp>,
    #[serde(rename = "objectsCount", default)]
    pub objects_total_count: u64,
    #[serde(default)]
    pub objects_total_size: u64,
    #[serde(rename = "objectsPendingReplicationTotalSize", default)]
    pub replication_pending_size: u64,
    #[serde(rename = "objectsFailedReplicationTotalSize", default)]
    pub replication_failed_size: u64,
    #[serde(rename = "objectsReplicatedTotalSize", default)]
    pub replicated_size: u64,
    #[serde(rename = "objectsReplicaTotalSize", default)]
    pub replica_size: u64,
    #[serde(rename = "objectsPendingReplicationCount", default)]
    pub replication_pending_count: u64,
    #[serde(rename = "objectsFailedReplicationCount", default)]
    pub replication_failed_count: u64,
    #[serde(default)]
    pub buckets_count: u64,
    /// Bucket name → usage.
    #[serde(rename = "bucketsUsageInfo", default, deserialize_with = "nullable")]
    pub buckets_usage: BTreeMap<String, BucketUsageInfo>,
    /// Tier name → stats.
    #[serde(default, deserialize_with = "nullable")]
    pub tier_stats: BTreeMap<String, TierStats>,
    /// Bucket name → bytes; deprecated by madmin, still written.
    #[serde(rename = "bucketsSizes", default, deserialize_with = "nullable")]
    pub bucket_sizes: BTreeMap<String, u64>,
    #[serde(rename = "capacity", default)]
    pub total_capacity: u64,
    #[serde(rename = "freeCapacity", default)]
    pub total_free_capacity: u64,
    #[serde(rename = "usedCapacity", default)]
    pub total_used_capacity: u64,
}

/// One bucket of [`DataUsageInfo`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketUsageInfo {
    #[serde(default)]
    pub size: u64,
    #[serde(rename = "objectsPendingReplicationTotalSize", default)]
    pub replication_pending_size: u64,
    #[serde(rename = "objectsFailedReplicationTotalSize", default)]
    pub replication_failed_size: u64,
    #[serde(rename = "objectsReplicatedTotalSize", default)]
    pub replicated_size: u64,
    /// Singular `object…` in madmin, unlike its neighbours.
    #[serde(rename = "objectReplicaTotalSize", default)]
    pub replica_size: u64,
    #[serde(rename = "objectsPendingReplicationCount", default)]
    pub replication_pending_count: u64,
    #[serde(rename = "objectsFailedReplicationCount", default)]
    pub replication_failed_count: u64,
    #[serde(default)]
    pub versions_count: u64,
    #[serde(default)]
    pub objects_count: u64,
    #[serde(default)]
    pub delete_markers_count: u64,
    /// Size range (`LESS_THAN_1024_B`, …) → objects.
    #[serde(
        rename = "objectsSizesHistogram",
        default,
        deserialize_with = "nullable"
    )]
    pub object_sizes_histogram: BTreeMap<String, u64>,
    /// Version count range → objects.
    #[serde(default, deserialize_with = "nullable")]
    pub objects_versions_histogram: BTreeMap<String, u64>,
}

/// One tier of [`DataUsageInfo`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierStats {
    #[serde(default)]
    pub total_size: u64,
    #[serde(default)]
    pub num_versions: i64,
    #[serde(default)]
    pub num_objects: i64,
}

/// Response of `GET accountinfo[?prefix-usage=true]` (plain). Go's field names, no tags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountInfo {
    /// The caller, or its parent for a service account or STS credentials.
    pub account_name: String,
    #[serde(default)]
    pub server: BackendInfo,
    /// The caller's combined policy document.
    #[serde(default)]
    pub policy: serde_json::Value,
    /// The buckets the caller may read or write.
    #[serde(default, deserialize_with = "nullable")]
    pub buckets: Vec<BucketAccessInfo>,
}

/// The backend of [`AccountInfo`] (Go's field names, no tags).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// [`BackendInfo::ERASURE`], …
    #[serde(rename = "Type", default)]
    pub kind: i64,
    #[serde(rename = "GatewayOnline", default)]
    pub gateway_online: bool,
    /// Endpoint → online drives.
    #[serde(rename = "OnlineDisks", default, deserialize_with = "nullable")]
    pub online_disks: BTreeMap<String, i64>,
    #[serde(rename = "OfflineDisks", default, deserialize_with = "nullable")]
    pub offline_disks: BTreeMap<String, i64>,
    /// Per pool.
    #[serde(rename = "StandardSCData", default, deserialize_with = "nullable")]
    pub standard_sc_data: Vec<i64>,
    #[serde(rename = "StandardSCParities", default, deserialize_with = "nullable")]
    pub standard_sc_parities: Vec<i64>,
    #[serde(rename = "RRSCData", default, deserialize_with = "nullable")]
    pub rr_sc_data: Vec<i64>,
    #[serde(rename = "RRSCParities", default, deserialize_with = "nullable")]
    pub rr_sc_parities: Vec<i64>,
    #[serde(rename = "TotalSets", default, deserialize_with = "nullable")]
    pub total_sets: Vec<i64>,
    #[serde(rename = "DrivesPerSet", default, deserialize_with = "nullable")]
    pub drives_per_set: Vec<i64>,
    /// Deprecated by madmin for the per-pool lists; still written.
    #[serde(rename = "StandardSCParity", default)]
    pub standard_sc_parity: i64,
    #[serde(rename = "RRSCParity", default)]
    pub rr_sc_parity: i64,
}

impl BackendInfo {
    /// madmin's `BackendType` values.
    pub const UNKNOWN: i64 = 0;
    pub const FS: i64 = 1;
    pub const ERASURE: i64 = 2;
    pub const GATEWAY: i64 = 3;
}

/// One bucket of [`AccountInfo`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketAccessInfo {
    pub name: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub objects: u64,
    #[serde(default)]
    pub versions: u64,
    #[serde(default)]
    pub delete_markers: u64,
    #[serde(rename = "objectHistogram", default, deserialize_with = "nullable")]
    pub object_sizes_histogram: BTreeMap<String, u64>,
    #[serde(default, deserialize_with = "nullable")]
    pub objects_versions_histogram: BTreeMap<String, u64>,
    /// Written as `null` when absent (no `omitempty` in madmin).
    #[serde(default)]
    pub details: Option<BucketDetails>,
    #[serde(default, deserialize_with = "nullable")]
    pub prefix_usage: BTreeMap<String, u64>,
    #[serde(default)]
    pub created: Timestamp,
    #[serde(default)]
    pub access: AccountAccess,
}

/// What the caller may do on a bucket of [`AccountInfo`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAccess {
    pub read: bool,
    pub write: bool,
}

/// A bucket's features in [`BucketAccessInfo`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketDetails {
    #[serde(default)]
    pub versioning: bool,
    #[serde(default)]
    pub versioning_suspended: bool,
    #[serde(default)]
    pub locking: bool,
    #[serde(default)]
    pub replication: bool,
    /// The bucket's tags as minio-go writes them; `null` when none.
    #[serde(default)]
    pub tags: Option<serde_json::Value>,
    /// `null` when none.
    #[serde(default)]
    pub quota: Option<BucketQuota>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sse_type: String,
    #[serde(rename = "sseKeyID", default, skip_serializing_if = "String::is_empty")]
    pub sse_key_id: String,
}

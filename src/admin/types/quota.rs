//! Bucket quotas (madmin-go's `quota-commands.go`).

use serde::{Deserialize, Serialize};

/// The kind of a bucket quota; MinIO knows only hard quotas (its old `fifo` is gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaType {
    Hard,
}

/// Body of `PUT set-bucket-quota?bucket=…` and response of `get-bucket-quota` (plain). A
/// limit of 0 clears the quota. madmin writes `size` (and `rate`, `requests`); minio-py still
/// writes the older `quota`, read here into [`BucketQuota::quota`]: use [`BucketQuota::limit`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketQuota {
    /// The limit in bytes as madmin before 2024 and minio-py write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<u64>,
    /// The limit in bytes.
    #[serde(default)]
    pub size: u64,
    /// Bandwidth allocated to the bucket (not enforced by MinIO's community server).
    #[serde(default)]
    pub rate: u64,
    /// Requests allocated to the bucket (likewise).
    #[serde(default)]
    pub requests: u64,
    #[serde(rename = "quotatype", default, skip_serializing_if = "Option::is_none")]
    pub quota_type: Option<QuotaType>,
}

impl BucketQuota {
    /// The limit in bytes, whichever field carried it (`size` first); 0 means none.
    pub fn limit(&self) -> u64 {
        if self.size != 0 {
            self.size
        } else {
            self.quota.unwrap_or(0)
        }
    }
}

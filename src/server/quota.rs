//! Hard bucket quotas against what the buckets hold: the usage counter's latest crawl plus
//! every write admitted since it (reserved when admitted, so concurrent writes cannot pass the
//! quota together; a write that then fails stays counted until the next crawl — the safe
//! side). Like MinIO's, the figure lags by what the crawl missed: writes admitted while a
//! crawl ran and not seen by it are forgotten when it lands.

use crate::metrics::usage::Usage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use strata_s3::access::AccessConfigs;
use strata_s3::quota::{QuotaRefusal, Quotas};

pub struct QuotaEnforcer {
    access: Arc<AccessConfigs>,
    usage: Arc<Usage>,
    admitted: Mutex<Admitted>,
}

/// Bytes admitted per bucket since the crawl of `since`.
#[derive(Default)]
struct Admitted {
    since: Option<Instant>,
    bytes: HashMap<String, u64>,
}

impl QuotaEnforcer {
    pub fn new(access: Arc<AccessConfigs>, usage: Arc<Usage>) -> QuotaEnforcer {
        QuotaEnforcer {
            access,
            usage,
            admitted: Mutex::new(Admitted::default()),
        }
    }
}

impl Quotas for QuotaEnforcer {
    fn admit(&self, bucket: &str, incoming: Option<u64>) -> Result<(), QuotaRefusal> {
        let Some(quota) = self.access.get(bucket).quota else {
            return Ok(());
        };
        let incoming = incoming.ok_or(QuotaRefusal::UnknownLength)?;
        let snapshot = self.usage.latest().ok_or(QuotaRefusal::NotCounted)?;
        let counted = snapshot.buckets.get(bucket).map_or(0, |u| u.bytes);
        let mut admitted = self.admitted.lock().unwrap_or_else(|p| p.into_inner());
        if admitted.since != Some(snapshot.taken) {
            *admitted = Admitted {
                since: Some(snapshot.taken),
                bytes: HashMap::new(),
            };
        }
        let pending = admitted.bytes.entry(bucket.to_string()).or_default();
        let used = counted + *pending;
        if used.saturating_add(incoming) > quota.bytes {
            return Err(QuotaRefusal::Exceeded {
                quota: quota.bytes,
                used,
                incoming,
            });
        }
        *pending += incoming;
        Ok(())
    }
}

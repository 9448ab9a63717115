//! The buckets' access configuration: bucket policies, PublicAccessBlock settings and quotas,
//! kept as system documents (`buckets/<bucket>/policy.json`, `…/public-access-block.json`,
//! `…/quota.json`,
//! erasure-coded in the engine's system area) and held whole in memory, so that authorising a
//! request never reads a drive.
//!
//! Every change writes the document first and then the memory, under one lock (two racing
//! changes cannot leave the memory disagreeing with the drives). A bucket's documents are
//! removed when it is deleted, and before it is created (a crash between the two leaves none
//! for a new bucket of the same name to inherit).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use strata_engine::{Engine, EngineError};
use strata_iam::Policy;

const POLICY: &str = "policy.json";
const BLOCK: &str = "public-access-block.json";
const QUOTA: &str = "quota.json";

/// A bucket's hard quota, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// Bytes the bucket may hold.
    pub bytes: u64,
}

/// PublicAccessBlock, as S3 defines it (every setting off when absent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

/// What one bucket has.
#[derive(Clone, Debug, Default)]
pub struct BucketAccess {
    pub policy: Option<Arc<Policy>>,
    pub block: Option<PublicAccessBlock>,
    pub quota: Option<Quota>,
}

/// Every bucket's access configuration.
#[derive(Default)]
pub struct AccessConfigs {
    buckets: RwLock<HashMap<String, BucketAccess>>,
    /// Held across a change's write and its memory update.
    change: Mutex<()>,
}

fn doc(bucket: &str, name: &str) -> String {
    format!("buckets/{bucket}/{name}")
}

/// A stored document that no longer parses: the deployment's state is damaged, not absent.
fn damaged(key: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::SystemDocument {
        key: key.to_string(),
        detail: format!("cannot be read: {e}"),
    }
}

impl AccessConfigs {
    /// Reads every bucket's documents (at start; blocking).
    pub fn load(engine: &Engine) -> Result<AccessConfigs, EngineError> {
        let mut buckets: HashMap<String, BucketAccess> = HashMap::new();
        for key in engine.list_system("buckets/")? {
            let Some((bucket, name)) = key.strip_prefix("buckets/").and_then(|k| k.split_once('/'))
            else {
                continue;
            };
            let Some(bytes) = engine.get_system(&key)? else {
                continue;
            };
            let entry = buckets.entry(bucket.to_string()).or_default();
            match name {
                POLICY => {
                    let json = String::from_utf8(bytes).map_err(|e| damaged(&key, e))?;
                    let policy =
                        Policy::parse_bucket(&json, bucket).map_err(|e| damaged(&key, e))?;
                    entry.policy = Some(Arc::new(policy));
                }
                BLOCK => {
                    entry.block =
                        Some(serde_json::from_slice(&bytes).map_err(|e| damaged(&key, e))?);
                }
                QUOTA => {
                    entry.quota =
                        Some(serde_json::from_slice(&bytes).map_err(|e| damaged(&key, e))?);
                }
                _ => {}
            }
        }
        Ok(AccessConfigs {
            buckets: RwLock::new(buckets),
            change: Mutex::new(()),
        })
    }

    /// The bucket's configuration (empty when it has none).
    pub fn get(&self, bucket: &str) -> BucketAccess {
        self.buckets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(bucket)
            .cloned()
            .unwrap_or_default()
    }

    /// Sets or (with `None`) removes the bucket's policy.
    pub fn set_policy(
        &self,
        engine: &Engine,
        bucket: &str,
        policy: Option<Policy>,
    ) -> Result<(), EngineError> {
        let _change = self.change.lock().unwrap_or_else(|p| p.into_inner());
        let key = doc(bucket, POLICY);
        match &policy {
            Some(p) => engine.put_system(&key, p.to_json().as_bytes())?,
            None => engine.delete_system(&key)?,
        }
        self.update(bucket, |a| a.policy = policy.map(Arc::new));
        Ok(())
    }

    /// Sets or (with `None`) removes the bucket's PublicAccessBlock.
    pub fn set_block(
        &self,
        engine: &Engine,
        bucket: &str,
        block: Option<PublicAccessBlock>,
    ) -> Result<(), EngineError> {
        let _change = self.change.lock().unwrap_or_else(|p| p.into_inner());
        let key = doc(bucket, BLOCK);
        match &block {
            Some(b) => {
                let json = serde_json::to_vec(b).map_err(|e| damaged(&key, e))?;
                engine.put_system(&key, &json)?
            }
            None => engine.delete_system(&key)?,
        }
        self.update(bucket, |a| a.block = block);
        Ok(())
    }

    /// Sets or (with `None`) removes the bucket's quota.
    pub fn set_quota(
        &self,
        engine: &Engine,
        bucket: &str,
        quota: Option<Quota>,
    ) -> Result<(), EngineError> {
        let _change = self.change.lock().unwrap_or_else(|p| p.into_inner());
        let key = doc(bucket, QUOTA);
        match &quota {
            Some(q) => {
                let json = serde_json::to_vec(q).map_err(|e| damaged(&key, e))?;
                engine.put_system(&key, &json)?
            }
            None => engine.delete_system(&key)?,
        }
        self.update(bucket, |a| a.quota = quota);
        Ok(())
    }

    /// Removes everything the bucket had (it was deleted, or is about to be created).
    pub fn forget(&self, engine: &Engine, bucket: &str) -> Result<(), EngineError> {
        let _change = self.change.lock().unwrap_or_else(|p| p.into_inner());
        for name in [POLICY, BLOCK, QUOTA] {
            engine.delete_system(&doc(bucket, name))?;
        }
        self.buckets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(bucket);
        Ok(())
    }

    fn update(&self, bucket: &str, f: impl FnOnce(&mut BucketAccess)) {
        let mut all = self.buckets.write().unwrap_or_else(|p| p.into_inner());
        let entry = all.entry(bucket.to_string()).or_default();
        f(entry);
        if entry.policy.is_none() && entry.block.is_none() && entry.quota.is_none() {
            all.remove(bucket);
        }
    }
}

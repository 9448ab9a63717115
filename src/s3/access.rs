//! The buckets' access configuration: bucket policies, PublicAccessBlock settings, canned
//! ACLs and quotas, kept as system documents (`buckets/<bucket>/policy.json`,
//! `…/public-access-block.json`, `…/acl.json`: `{"canned": "public-read"}`, absent for
//! `private`; `…/quota.json`; erasure-coded in the engine's system area) and held whole in
//! memory, so that authorising a request never reads a drive.
//!
//! Every change writes the document first and then the memory, under one lock (two racing
//! changes cannot leave the memory disagreeing with the drives). A bucket's documents are
//! removed when it is deleted, and before it is created (a crash between the two leaves none
//! for a new bucket of the same name to inherit).

use crate::acl::Canned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use strata_engine::{Engine, EngineError};
use strata_iam::Policy;

const POLICY: &str = "policy.json";
const BLOCK: &str = "public-access-block.json";
const ACL: &str = "acl.json";
const QUOTA: &str = "quota.json";

/// The bucket ACL document.
#[derive(Serialize, Deserialize)]
struct AclDocument {
    canned: Canned,
}

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
    /// A canned ACL other than `private`.
    pub acl: Option<Canned>,
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
                ACL => {
                    let d: AclDocument =
                        serde_json::from_slice(&bytes).map_err(|e| damaged(&key, e))?;
                    entry.acl = d.canned.is_public().then_some(d.canned);
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

    /// Sets the bucket's canned ACL (`private` removes the document).
    pub fn set_acl(
        &self,
        engine: &Engine,
        bucket: &str,
        canned: Canned,
    ) -> Result<(), EngineError> {
        let _change = self.change.lock().unwrap_or_else(|p| p.into_inner());
        self.write_acl(engine, bucket, canned)
    }

    /// [`AccessConfigs::set_acl`] under a change lock already held.
    fn write_acl(&self, engine: &Engine, bucket: &str, canned: Canned) -> Result<(), EngineError> {
        let key = doc(bucket, ACL);
        if canned.is_public() {
            let json = serde_json::to_vec(&AclDocument { canned }).map_err(|e| damaged(&key, e))?;
            engine.put_system(&key, &json)?;
        } else {
            engine.delete_system(&key)?;
        }
        self.update(bucket, |a| a.acl = canned.is_public().then_some(canned));
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

    /// Creates the bucket, with no configuration but `acl`. What a deleted bucket of this
    /// name left (a crash between its deletion and its documents') is removed first. Under the
    /// change lock, with [`AccessConfigs::delete_bucket`]: otherwise a CreateBucket that lost
    /// a race to another one could remove a policy set on the new bucket in between, and a
    /// DeleteBucket's clean-up could remove the configuration of the bucket created after it.
    pub fn create_bucket(
        &self,
        engine: &Engine,
        bucket: &str,
        acl: Canned,
    ) -> Result<(), EngineError> {
        let _change = self.change.lock().unwrap_or_else(|p| p.into_inner());
        if engine.bucket_exists(bucket)? {
            return Err(EngineError::BucketExists(bucket.to_string()));
        }
        self.forget(engine, bucket)?;
        engine.make_bucket(bucket)?;
        // After the bucket: a failure leaves it private, never another bucket's ACL changed.
        if acl.is_public() {
            self.write_acl(engine, bucket, acl)?;
        }
        Ok(())
    }

    /// Deletes the (empty) bucket and its configuration, under the change lock (see
    /// [`AccessConfigs::create_bucket`]).
    pub fn delete_bucket(&self, engine: &Engine, bucket: &str) -> Result<(), EngineError> {
        let _change = self.change.lock().unwrap_or_else(|p| p.into_inner());
        engine.delete_bucket(bucket)?;
        self.forget(engine, bucket)
    }

    /// Removes everything the bucket had; under the change lock.
    fn forget(&self, engine: &Engine, bucket: &str) -> Result<(), EngineError> {
        for name in [POLICY, BLOCK, ACL, QUOTA] {
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
        if entry.policy.is_none()
            && entry.block.is_none()
            && entry.acl.is_none()
            && entry.quota.is_none()
        {
            all.remove(bucket);
        }
    }
}

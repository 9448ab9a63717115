//! The server's answer to the access gate's questions (`strata_s3::authz`): who the access
//! key is, and whether the policies that apply — the identity's and the bucket's — allow the
//! action.
//!
//! - The root user may do everything (it holds the deployment's own secret).
//! - An anonymous request is allowed only what a bucket policy grants to everyone, and nothing
//!   when the bucket's PublicAccessBlock has `RestrictPublicBuckets` and its policy is public.
//! - A bucket policy is not consulted for `s3:CreateBucket`: the bucket is not there yet, and a
//!   policy left by a deleted bucket of the same name must not let anyone create it.

use std::sync::Arc;
use strata_iam::{PolicySet, Principal, Request};
use strata_s3::access::AccessConfigs;
use strata_s3::authz::{Authorizer, Question, Refusal};

pub struct Authorize {
    root_access_key: String,
    access: Arc<AccessConfigs>,
}

impl Authorize {
    pub fn new(root_access_key: String, access: Arc<AccessConfigs>) -> Authorize {
        Authorize {
            root_access_key,
            access,
        }
    }

    fn anonymous(&self, q: &Question<'_>) -> Result<(), Refusal> {
        let Some(bucket) = q.bucket.filter(|_| q.action != "s3:CreateBucket") else {
            return Err(Refusal::AccessDenied);
        };
        let cfg = self.access.get(bucket);
        let Some(policy) = cfg.policy else {
            return Err(Refusal::AccessDenied);
        };
        if cfg.block.is_some_and(|b| b.restrict_public_buckets) && policy.is_public() {
            return Err(Refusal::AccessDenied);
        }
        let request = Request {
            action: q.action,
            resource: Some(q.resource),
            principal: &Principal::Anonymous,
            context: q.context,
        };
        if PolicySet::new()
            .bucket(&policy)
            .is_allowed(&request)
            .is_allowed()
        {
            Ok(())
        } else {
            Err(Refusal::AccessDenied)
        }
    }
}

impl Authorizer for Authorize {
    fn authorize(&self, q: &Question<'_>) -> Result<(), Refusal> {
        match q.access_key {
            None => self.anonymous(q),
            Some(k) if k == self.root_access_key => match q.session_token {
                // Long-lived credentials carry no session token.
                Some(_) => Err(Refusal::InvalidToken),
                None => Ok(()),
            },
            Some(_) => Err(Refusal::AccessDenied),
        }
    }
}

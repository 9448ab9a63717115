//! The server's answer to the access gate's questions (`strata_s3::authz`): who the access
//! key is, and whether the policies that apply — the identity's and the bucket's — allow the
//! action.
//!
//! - Root, users, service accounts and temporary credentials are the IAM store's identities;
//!   the store resolves their policies (a user's and its groups', narrowed by a service
//!   account's inline or a session's policy). Root may do everything.
//! - Temporary credentials must come with their session token; other credentials with none.
//! - An anonymous request is allowed only what a bucket policy grants to everyone, and nothing
//!   when the bucket's PublicAccessBlock has `RestrictPublicBuckets` and its policy is public.
//! - A bucket policy is not consulted for `s3:CreateBucket`: the bucket is not there yet, and a
//!   policy left by a deleted bucket of the same name must not let anyone create it.

use crate::iam::now;
use std::sync::Arc;
use strata_iam::{Iam, Identity, IdentityKind, PolicySet, Principal, Request};
use strata_s3::access::AccessConfigs;
use strata_s3::authz::{Authorizer, Question, Refusal};

/// Whether a request carries the session token its identity needs: temporary credentials
/// their own (`x-amz-security-token`), every other identity none. For every route that takes
/// signed requests (S3 operations here, the admin API).
pub(crate) fn session_token_ok(id: &Identity, token: Option<&str>) -> bool {
    match (id.kind(), token) {
        (IdentityKind::Temporary { session_token, .. }, Some(t)) => session_token.matches(t),
        (IdentityKind::Temporary { .. }, None) => false,
        (_, token) => token.is_none(),
    }
}

pub struct Authorize {
    iam: Arc<Iam>,
    access: Arc<AccessConfigs>,
}

impl Authorize {
    pub fn new(iam: Arc<Iam>, access: Arc<AccessConfigs>) -> Authorize {
        Authorize { iam, access }
    }

    /// The bucket's policy, when it takes part in this question.
    fn bucket_policy(&self, q: &Question<'_>) -> Option<Arc<strata_iam::Policy>> {
        let bucket = q.bucket.filter(|_| q.action != "s3:CreateBucket")?;
        self.access.get(bucket).policy
    }

    fn signed(&self, access_key: &str, q: &Question<'_>) -> Result<(), Refusal> {
        // The signature was checked against this identity's secret a moment ago; it may have
        // been disabled or expired since, which refuses it here.
        let id = self
            .iam
            .identity(access_key, now())
            .map_err(|_| Refusal::AccessDenied)?;
        if !session_token_ok(&id, q.session_token) {
            return Err(Refusal::InvalidToken);
        }
        let policy = self.bucket_policy(q);
        if id.is_allowed(q.action, Some(q.resource), q.context, policy.as_deref()) {
            Ok(())
        } else {
            Err(Refusal::AccessDenied)
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
            Some(k) => self.signed(k, q),
        }
    }
}

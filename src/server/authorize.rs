//! The server's answer to the access gate's questions (`strata_s3::authz`): who the access
//! key is, and whether the policies that apply — the identity's and the bucket's — and the
//! bucket's or the object's canned ACL allow the action.
//!
//! - Root, users, service accounts and temporary credentials are the IAM store's identities;
//!   the store resolves their policies (a user's and its groups', narrowed by a service
//!   account's inline or a session's policy). Root may do everything.
//! - Temporary credentials must come with their session token; other credentials with none.
//! - An anonymous request is allowed only what a bucket policy or an ACL grants to everyone,
//!   and nothing when the bucket's PublicAccessBlock has `RestrictPublicBuckets` and its
//!   policy is public.
//! - ACLs as AWS weighs them (`strata_s3::acl::weigh`): an explicit Deny of any policy
//!   decides; otherwise what a policy allows is allowed, and what none allows is allowed when
//!   the bucket's ACL grants it to everyone (AllUsers) or to every valid key
//!   (AuthenticatedUsers). An object read the bucket's ACL does not grant is left to the
//!   object's ACL, which the handler checks with the object's metadata
//!   (`Permit::IfObjectAcl`). `IgnorePublicAcls` makes both grant nothing. A session's or a
//!   service account's policy narrows an ACL's grant as it narrows a bucket policy's: the
//!   grant applies to such a key only where that policy allows the action.
//! - `s3:ExistingObjectTag/…` is filled in by the access gate, which asks
//!   [`Authorizer::reads_object_tags`] first: only requests judged by a policy that reads the
//!   key pay for reading the object's tags.
//! - A bucket policy is not consulted for `s3:CreateBucket`: the bucket is not there yet, and a
//!   policy left by a deleted bucket of the same name must not let anyone create it.

use crate::iam::now;
use std::sync::Arc;
use strata_iam::{Decision, Iam, Identity, IdentityKind, PolicySet, Principal, Request};
use strata_s3::access::AccessConfigs;
use strata_s3::acl::{self, Requester};
use strata_s3::authz::{Authorizer, Permit, Question, Refusal};

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

    /// The bucket the question is about, when its configuration takes part.
    fn bucket<'a>(q: &Question<'a>) -> Option<&'a str> {
        q.bucket.filter(|_| q.action != "s3:CreateBucket")
    }

    /// What the identity's policies and the bucket's say, and whether an ACL's grant may
    /// apply (the identity's session policy, if any, allows the action).
    fn signed(&self, access_key: &str, q: &Question<'_>) -> Result<(Decision, bool), Refusal> {
        // The signature was checked against this identity's secret a moment ago; it may have
        // been disabled or expired since, which refuses it here.
        let id = self
            .iam
            .identity(access_key, now())
            .map_err(|_| Refusal::AccessDenied)?;
        if !session_token_ok(&id, q.session_token) {
            return Err(Refusal::InvalidToken);
        }
        let policy = Self::bucket(q).and_then(|b| self.access.get(b).policy);
        let decision = id.decide(q.action, Some(q.resource), q.context, policy.as_deref());
        let within_session = match id.session_policy() {
            None => true,
            Some(session) => {
                let mut cx = q.context.clone();
                id.fill_context(&mut cx);
                let request = Request {
                    action: q.action,
                    resource: Some(q.resource),
                    principal: &id.principal(),
                    context: &cx,
                };
                session.evaluate(&request).is_allowed()
            }
        };
        Ok((decision, within_session))
    }

    /// What the bucket's policy says to everyone.
    fn anonymous(&self, q: &Question<'_>) -> Result<Decision, Refusal> {
        let Some(bucket) = Self::bucket(q) else {
            return Err(Refusal::AccessDenied);
        };
        let cfg = self.access.get(bucket);
        let Some(policy) = cfg.policy else {
            return Ok(Decision::ImplicitDeny);
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
        Ok(PolicySet::new().bucket(&policy).is_allowed(&request))
    }
}

impl Authorizer for Authorize {
    fn reads_object_tags(&self, access_key: Option<&str>, bucket: &str) -> bool {
        let key = strata_iam::keys::EXISTING_OBJECT_TAG;
        if self
            .access
            .get(bucket)
            .policy
            .is_some_and(|p| p.reads_key(key))
        {
            return true;
        }
        let Some(id) = access_key.and_then(|k| self.iam.identity(k, now()).ok()) else {
            return false;
        };
        id.policies().iter().any(|p| p.reads_key(key))
            || id.session_policy().is_some_and(|p| p.reads_key(key))
    }

    fn authorize(&self, q: &Question<'_>) -> Result<Permit, Refusal> {
        let (decision, who) = match q.access_key {
            None => (self.anonymous(q)?, Some(Requester::Anonymous)),
            Some(k) => {
                let (decision, within_session) = self.signed(k, q)?;
                (decision, within_session.then_some(Requester::Authenticated))
            }
        };
        let bucket = Self::bucket(q).map(|b| self.access.get(b));
        acl::weigh(decision, who, bucket.as_ref(), q.action)
    }
}

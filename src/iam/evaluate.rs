//! Deciding a request: AWS's policy evaluation logic for one account.
//!
//! A statement *applies* to a request when its principal element names the requester (or the
//! statement has none), its action element covers the action, its resource element covers
//! the resource (not consulted for a request on no resource), and every condition holds.
//!
//! Over the policies that bear on a request:
//! 1. an applicable `Deny` statement in any of them decides: explicitly denied;
//! 2. otherwise the request is allowed when an applicable `Allow` is found in the identity
//!    policies (the user's and its groups') or in the bucket policy, *and*, when there is a
//!    session policy (an STS session's or a service account's inline policy), in the session
//!    policy too: the session's permissions are the intersection;
//! 3. otherwise it is denied by default (implicitly).
//!
//! Where this differs from AWS: a bucket policy's Allow is narrowed by the session policy
//! whatever principal it names (AWS lets one naming the session's own ARN through); there are
//! no permission boundaries, SCPs, or cross-account rules (Strata has one account).

use crate::document::{Effect, Policy, Resources, Statement};
use crate::pattern::matches;
use crate::request::Request;

/// The outcome of an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// An applicable Allow, and no applicable Deny.
    Allow,
    /// An applicable Deny: no other policy can allow the request.
    ExplicitDeny,
    /// No applicable statement allows it (the default).
    ImplicitDeny,
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }
}

impl Statement {
    /// Whether this statement bears on the request (then its `Effect` decides).
    pub fn applies(&self, req: &Request) -> bool {
        self.names_principal(req)
            && self.covers_action(req.action)
            && self.covers_resource(req)
            && self.conditions.iter().all(|c| c.holds(req.context))
    }

    fn names_principal(&self, req: &Request) -> bool {
        match &self.principal {
            None => true,
            Some(p) => p.spec.names(req.principal) != p.negated,
        }
    }

    fn covers_action(&self, action: &str) -> bool {
        let action = action.to_lowercase();
        let listed = self
            .actions
            .items
            .iter()
            .any(|a| matches(&a.tokens, &action));
        listed != self.actions.negated
    }

    fn covers_resource(&self, req: &Request) -> bool {
        let (Some(resource), Resources::List { negated, items }) = (req.resource, &self.resources)
        else {
            return true;
        };
        let listed = items.iter().any(|r| {
            r.template
                .resolve(req.context)
                .is_some_and(|p| matches(&p, resource))
        });
        listed != *negated
    }
}

impl Policy {
    /// This policy alone: a Deny that applies wins, then an Allow that applies.
    pub fn evaluate(&self, req: &Request) -> Decision {
        let mut allowed = false;
        for s in self.statements.iter().filter(|s| s.applies(req)) {
            match s.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

/// Every policy that bears on one request's principal and bucket.
#[derive(Clone, Debug, Default)]
pub struct PolicySet<'a> {
    identity: Vec<&'a Policy>,
    bucket: Option<&'a Policy>,
    session: Option<&'a Policy>,
}

impl<'a> PolicySet<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an identity policy: one attached to the user or to one of its groups.
    pub fn identity(mut self, policy: &'a Policy) -> Self {
        self.identity.push(policy);
        self
    }

    /// Sets the policy of the bucket the request is on (its statements name principals).
    pub fn bucket(mut self, policy: &'a Policy) -> Self {
        self.bucket = Some(policy);
        self
    }

    /// Sets the session policy that narrows the identity's permissions (an STS session's, a
    /// service account's inline policy).
    pub fn session(mut self, policy: &'a Policy) -> Self {
        self.session = Some(policy);
        self
    }

    /// The decision for `req`: see the module's documentation.
    pub fn is_allowed(&self, req: &Request) -> Decision {
        let decisions: Vec<Decision> = self.granting().map(|p| p.evaluate(req)).collect();
        let session = self.session.map(|p| p.evaluate(req));
        if decisions.contains(&Decision::ExplicitDeny) || session == Some(Decision::ExplicitDeny) {
            return Decision::ExplicitDeny;
        }
        let granted = decisions.contains(&Decision::Allow);
        let within_session = session.is_none_or(Decision::is_allowed);
        if granted && within_session {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }

    /// The policies that can grant: identity and bucket (a session policy only narrows).
    fn granting(&self) -> impl Iterator<Item = &'a Policy> + '_ {
        self.identity.iter().copied().chain(self.bucket)
    }
}

#[cfg(test)]
mod tests;

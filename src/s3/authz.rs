//! Who may do what: every S3 operation is authorised here, once, by the name the protocol
//! layer resolved for it (`GetObject`, `PutBucketTagging`, …), never per handler.
//!
//! The access hook ([`crate::gate::Gate`]) turns a request into [`Question`]s — the IAM action
//! and resource AWS documents for the operation (`strata_iam::s3_operation`), the condition
//! context (`aws:SourceIp`, `s3:prefix`, …) — and asks the [`Authorizer`], which knows the
//! identities, their policies and the buckets' policies. A copy is asked twice (`s3:PutObject`
//! on the target, `s3:GetObject` on the source); `DeleteObjects` is asked once per key, by its
//! handler, through the [`Grant`] the hook leaves in the request's extensions.
//!
//! What the context holds is filled from what the request carries and the signature covers
//! (query parameters, `x-amz-*` headers: the gate refuses unsigned ones), plus the peer's
//! address the HTTP front records ([`PeerAddr`]); and `s3:ExistingObjectTag/…`, the tags of
//! the object addressed (of the source, for a copy's read), read by the hook through
//! [`ObjectTags`] before it asks — only when a policy that applies reads that key, so that
//! requests under other policies cost no extra metadata read.
//!
//! An object's ACL is in its metadata, which the hook has not read: when no policy allows (nor
//! denies) a read of an object, the authorizer answers [`Permit::IfObjectAcl`], the hook
//! records it in the [`Grant`], and the handler (GetObject, HeadObject, a copy's source)
//! checks the object's ACL once it has the metadata, before any byte of the object is sent
//! (`crate::acl::AclRead`).

use crate::acl::Requester;
use http::HeaderMap;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use strata_iam::{keys, Context, ResourceKind};

/// The address of the client, as the HTTP front saw the connection.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// One authorisation question.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    /// The signer's access key; `None` for an anonymous request.
    pub access_key: Option<&'a str>,
    /// `x-amz-security-token` (header or presigned query): temporary credentials carry one.
    pub session_token: Option<&'a str>,
    /// The IAM action (`s3:GetObject`).
    pub action: &'a str,
    /// The bucket addressed (its policy takes part), if any.
    pub bucket: Option<&'a str>,
    /// The resource's ARN (`arn:aws:s3:::bucket/key`).
    pub resource: &'a str,
    pub context: &'a Context,
}

/// Why a question was answered no; each maps to the S3 error a client expects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Access Denied.")]
    AccessDenied,
    /// A session token that does not belong to the access key, or one sent with long-lived
    /// credentials.
    #[error("The provided token is malformed or otherwise invalid.")]
    InvalidToken,
    #[error("The provided token has expired.")]
    ExpiredToken,
}

/// A question answered yes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permit {
    Granted,
    /// An object read that no policy allows nor denies: allowed if the object's ACL grants
    /// READ to this requester (only answered for `s3:GetObject` and `s3:GetObjectVersion`).
    IfObjectAcl(Requester),
}

/// Decides questions: the identities, their policies, the buckets' policies and ACLs.
pub trait Authorizer: Send + Sync + 'static {
    fn authorize(&self, q: &Question<'_>) -> Result<Permit, Refusal>;

    /// Whether a policy that applies to `access_key` (`None`: anonymous) in `bucket` reads
    /// `s3:ExistingObjectTag/…`, so that the object's tags must be in the context.
    fn reads_object_tags(&self, _access_key: Option<&str>, _bucket: &str) -> bool {
        false
    }
}

/// An object's tags, for `s3:ExistingObjectTag/…` (none when it does not exist; `None` when
/// they cannot be read now, and the request is then refused rather than judged without them).
/// Blocking.
pub trait ObjectTags: Send + Sync + 'static {
    fn tags(&self, bucket: &str, key: &str) -> Option<BTreeMap<String, String>>;
}

/// Every signed request may do everything; anonymous ones nothing (one root user, before
/// IAM: what the server did before issue 13).
pub struct SignedOnly;

impl Authorizer for SignedOnly {
    fn authorize(&self, q: &Question<'_>) -> Result<Permit, Refusal> {
        match (q.access_key, q.session_token) {
            (Some(_), None) => Ok(Permit::Granted),
            (Some(_), Some(_)) => Err(Refusal::InvalidToken),
            (None, _) => Err(Refusal::AccessDenied),
        }
    }
}

/// What the hook decided a request is, kept for the handlers that ask again (DeleteObjects
/// asks for each key it names) and that must check an object's ACL.
#[derive(Clone)]
pub struct Grant {
    authorizer: Arc<dyn Authorizer>,
    access_key: Option<String>,
    session_token: Option<String>,
    context: Arc<Context>,
    /// The object addressed may be read only if its ACL allows it.
    target_acl: Option<Requester>,
    /// The copy's source may be read only if its ACL allows it.
    source_acl: Option<Requester>,
}

impl Grant {
    pub fn new(
        authorizer: Arc<dyn Authorizer>,
        access_key: Option<String>,
        session_token: Option<String>,
        context: Context,
    ) -> Grant {
        Grant {
            authorizer,
            access_key,
            session_token,
            context: Arc::new(context),
            target_acl: None,
            source_acl: None,
        }
    }

    /// Whether the request was signed (by anyone: the signature is checked, not the rights).
    pub fn is_signed(&self) -> bool {
        self.access_key.is_some()
    }

    /// The same requester asking as a listing of a bucket's root would (prefix "", delimiter
    /// "/"), so that `s3:prefix` conditions match as they do for that listing.
    pub fn as_root_listing(&self) -> Grant {
        let mut context = (*self.context).clone();
        context.set(keys::PREFIX, "");
        context.set(keys::DELIMITER, "/");
        Grant {
            context: Arc::new(context),
            ..self.clone()
        }
    }

    /// The same requester asking about an object whose tags are `tags`
    /// (`s3:ExistingObjectTag/<key>`).
    pub fn with_object_tags(&self, tags: &BTreeMap<String, String>) -> Grant {
        let mut context = (*self.context).clone();
        for (k, v) in tags {
            context.set(&format!("{}{k}", keys::EXISTING_OBJECT_TAG), v.as_str());
        }
        Grant {
            context: Arc::new(context),
            ..self.clone()
        }
    }

    /// May the requester do `action` on the resource `kind` names for `bucket`/`key`, outright
    /// or if the object's ACL grants it?
    pub fn ask(
        &self,
        action: &str,
        kind: ResourceKind,
        bucket: Option<&str>,
        key: Option<&str>,
    ) -> Result<Permit, Refusal> {
        let resource = kind.arn(bucket.unwrap_or(""), key.unwrap_or(""));
        self.authorizer.authorize(&Question {
            access_key: self.access_key.as_deref(),
            session_token: self.session_token.as_deref(),
            action,
            bucket,
            resource: &resource,
            context: &self.context,
        })
    }

    /// `ask`, where only an outright yes will do.
    pub fn require(
        &self,
        action: &str,
        kind: ResourceKind,
        bucket: Option<&str>,
        key: Option<&str>,
    ) -> Result<(), Refusal> {
        match self.ask(action, kind, bucket, key)? {
            Permit::Granted => Ok(()),
            Permit::IfObjectAcl(_) => Err(Refusal::AccessDenied),
        }
    }

    /// Leaves the read of the object addressed to its ACL.
    pub fn defer_target(&mut self, who: Requester) {
        self.target_acl = Some(who);
    }

    /// Leaves the read of the copy's source to its ACL.
    pub fn defer_source(&mut self, who: Requester) {
        self.source_acl = Some(who);
    }

    /// Whose read of the object addressed its ACL must allow, if the policies did not.
    pub fn target_acl(&self) -> Option<Requester> {
        self.target_acl
    }

    /// Whose read of the copy's source its ACL must allow, if the policies did not.
    pub fn source_acl(&self) -> Option<Requester> {
        self.source_acl
    }
}

/// The session token of a request: the `x-amz-security-token` header, or the presigned URL's
/// `X-Amz-Security-Token`.
pub fn session_token<'a>(query: &'a [(String, String)], headers: &'a HeaderMap) -> Option<&'a str> {
    headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-security-token"))
                .map(|(_, v)| v.as_str())
        })
}

/// The condition context of a request: what it carries and who sent it. `now` is unix seconds.
pub fn context(
    op: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    now: u64,
) -> Context {
    let mut c = Context::new();
    if let Some(p) = peer {
        c.set(keys::SOURCE_IP, p.ip().to_string());
    }
    // The server speaks plain HTTP (TLS, when there is one, ends in front of it).
    c.set(keys::SECURE_TRANSPORT, "false");
    c.set(keys::EPOCH_TIME, now.to_string());
    c.set(keys::CURRENT_TIME, strata_iam::date::rfc3339(now));
    for (header, key) in [
        ("user-agent", keys::USER_AGENT),
        ("referer", keys::REFERER),
        ("x-amz-acl", keys::ACL),
        ("x-amz-copy-source", keys::COPY_SOURCE),
        ("x-amz-metadata-directive", keys::METADATA_DIRECTIVE),
    ] {
        if let Some(v) = headers.get(header).and_then(|v| v.to_str().ok()) {
            c.set(key, v);
        }
    }
    for (param, key) in [
        ("prefix", keys::PREFIX),
        ("delimiter", keys::DELIMITER),
        ("max-keys", keys::MAX_KEYS),
        ("versionId", keys::VERSION_ID),
    ] {
        if let Some((_, v)) = query.iter().find(|(k, _)| k == param) {
            c.set(key, v.as_str());
        }
    }
    // A listing without a prefix lists prefix "": a policy allowing `s3:prefix` "" (the
    // bucket's root, AWS's documented home-folder example) must match it.
    let listing = matches!(op, "ListObjects" | "ListObjectsV2" | "ListObjectVersions");
    if listing && c.get(keys::PREFIX).is_none() {
        c.set(keys::PREFIX, "");
    }
    request_tags(headers, &mut c);
    let presigned = query
        .iter()
        .any(|(k, _)| k == "X-Amz-Signature" || k == "Signature");
    let v2 = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("AWS "))
        || query.iter().any(|(k, _)| k == "Signature");
    c.set(
        keys::AUTH_TYPE,
        if presigned {
            "REST-QUERY-STRING"
        } else {
            "REST-HEADER"
        },
    );
    c.set(
        keys::SIGNATURE_VERSION,
        if v2 { "AWS" } else { "AWS4-HMAC-SHA256" },
    );
    c
}

/// `s3:RequestObjectTag/<key>` and `s3:RequestObjectTagKeys` from `x-amz-tagging`.
fn request_tags(headers: &HeaderMap, c: &mut Context) {
    let Some(tagging) = headers.get("x-amz-tagging").and_then(|v| v.to_str().ok()) else {
        return;
    };
    let pairs: Vec<(String, String)> = url_pairs(tagging);
    for (k, v) in &pairs {
        c.set(&format!("{}{k}", keys::REQUEST_OBJECT_TAG), v.as_str());
    }
    c.set_all(
        keys::REQUEST_OBJECT_TAG_KEYS,
        pairs.into_iter().map(|(k, _)| k),
    );
}

/// `a=1&b=2`, percent-decoded (`+` is a space, as in a form).
pub fn url_pairs(s: &str) -> Vec<(String, String)> {
    let decode = |x: &str| {
        percent_encoding::percent_decode_str(&x.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_holds_what_the_request_carries() {
        let query = url_pairs("list-type=2&prefix=home%2Falice%2F&delimiter=%2F&max-keys=10");
        let mut h = HeaderMap::new();
        h.insert("x-amz-tagging", "team=red&env=prod".parse().unwrap());
        h.insert("x-amz-acl", "public-read".parse().unwrap());
        let peer = "10.1.2.3:5555".parse().ok();
        let c = context("ListObjectsV2", &query, &h, peer, 1_796_624_842);
        let one = |k: &str| c.get(k).map(|v| v.join(","));
        assert_eq!(one(keys::PREFIX).as_deref(), Some("home/alice/"));
        assert_eq!(one(keys::DELIMITER).as_deref(), Some("/"));
        assert_eq!(one(keys::MAX_KEYS).as_deref(), Some("10"));
        assert_eq!(one(keys::SOURCE_IP).as_deref(), Some("10.1.2.3"));
        assert_eq!(one(keys::ACL).as_deref(), Some("public-read"));
        assert_eq!(one("s3:RequestObjectTag/team").as_deref(), Some("red"));
        assert_eq!(
            one(keys::REQUEST_OBJECT_TAG_KEYS).as_deref(),
            Some("team,env")
        );
        assert_eq!(one(keys::AUTH_TYPE).as_deref(), Some("REST-HEADER"));
        assert_eq!(
            one(keys::CURRENT_TIME).as_deref(),
            Some("2026-12-07T06:27:22Z")
        );
    }

    #[test]
    fn signed_only_allows_signed_requests_without_tokens() {
        let c = Context::new();
        let q = |ak, tok| Question {
            access_key: ak,
            session_token: tok,
            action: "s3:GetObject",
            bucket: Some("b"),
            resource: "arn:aws:s3:::b/k",
            context: &c,
        };
        assert_eq!(
            SignedOnly.authorize(&q(Some("root"), None)),
            Ok(Permit::Granted)
        );
        assert_eq!(
            SignedOnly.authorize(&q(None, None)),
            Err(Refusal::AccessDenied)
        );
        assert_eq!(
            SignedOnly.authorize(&q(Some("root"), Some("t"))),
            Err(Refusal::InvalidToken)
        );
    }
}

//! Canned ACLs, as S3 defines them, and what they grant. The handlers of Get/PutBucketAcl and
//! Get/PutObjectAcl are in `handlers`.
//!
//! Every bucket and object belongs to the deployment's one owner, whose rights are its IAM
//! identities' (root, users, … with their policies); what an ACL adds is grants to S3's two
//! public groups. So an ACL here is one of four canned sets:
//!
//! | canned | grants beside the owner's FULL_CONTROL |
//! |---|---|
//! | `private` | none |
//! | `public-read` | AllUsers READ |
//! | `public-read-write` | AllUsers READ and WRITE |
//! | `authenticated-read` | AuthenticatedUsers READ |
//!
//! `bucket-owner-read` and `bucket-owner-full-control` grant the bucket's owner rights on an
//! object; here the bucket's owner is the object's (one account), who has FULL_CONTROL
//! anyway, so they are `private` — what S3 itself does when the bucket owner writes (and what
//! clients that send `bucket-owner-full-control` by default expect to be accepted).
//! `aws-exec-read` and `log-delivery-write` (grants to AWS services), grants to other
//! accounts or e-mail addresses, `x-amz-grant-*` headers and any `AccessControlPolicy` that is
//! not one of the sets above are NotImplemented: never accepted and ignored. A name S3 does
//! not know is InvalidArgument.
//!
//! What the grants mean, as in S3: READ on a bucket allows `s3:ListBucket` (ListObjects,
//! ListObjectsV2, HeadBucket), `s3:ListBucketVersions` and `s3:ListBucketMultipartUploads`,
//! not the reading of its objects (each object's own ACL decides that; a whole bucket's
//! objects are made readable by a bucket policy, as MinIO's `mc anonymous set download`
//! does). WRITE on a bucket allows `s3:PutObject`
//! (PutObject, POST, a copy's target, a multipart upload's creation, parts and completion),
//! `s3:DeleteObject` and `s3:AbortMultipartUpload`. READ on an object allows `s3:GetObject`
//! (GetObject, HeadObject, a copy's source) of that object. AllUsers is everyone, anonymous requests included;
//! AuthenticatedUsers is every valid key of this deployment. Both are public: the bucket's
//! PublicAccessBlock `IgnorePublicAcls` makes them grant nothing and `BlockPublicAcls`
//! refuses setting them. The authorizer weighs a grant as AWS does: an explicit Deny of an
//! identity or bucket policy wins over it.
//!
//! Where they are kept: a bucket's in `crate::access` (a system document beside its policy),
//! an object's in its metadata (`ObjectMeta::acl`, the canned name; none for `private`).

mod handlers;

pub(crate) use handlers::*;

use crate::access::BucketAccess;
use crate::authz::{Grant, Permit, Refusal};
use crate::to_s3;
use s3s::dto::{AccessControlPolicy, Grantee, Permission as DtoPermission, Type};
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use serde::{Deserialize, Serialize};
use strata_engine::{EngineError, ObjectInfo};
use strata_iam::{Decision, ResourceKind};

/// The group of everyone, anonymous requests included.
pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group of every valid key of the deployment.
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// The ACLs this server keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Canned {
    Private,
    PublicRead,
    PublicReadWrite,
    AuthenticatedRead,
}

/// Who asks, as an ACL sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requester {
    Anonymous,
    /// A valid key of this deployment.
    Authenticated,
}

/// The public groups an ACL can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    AllUsers,
    AuthenticatedUsers,
}

/// The permissions an ACL grants the groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    Read,
    Write,
}

/// Why an ACL was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    /// A canned ACL S3 has that this server does not implement.
    #[error("The {0} canned ACL is not supported by this server")]
    Unsupported(String),
    /// Not a canned ACL's name.
    #[error("{0:?} is not a canned ACL")]
    Unknown(String),
    /// An AccessControlPolicy that is not one of the canned sets.
    #[error("Only ACLs equal to a canned ACL are supported (private, public-read, public-read-write, authenticated-read): {0}")]
    Grants(String),
}

impl AclError {
    pub fn to_s3(&self) -> S3Error {
        let code = match self {
            AclError::Unknown(_) => S3ErrorCode::InvalidArgument,
            AclError::Unsupported(_) | AclError::Grants(_) => S3ErrorCode::NotImplemented,
        };
        S3Error::with_message(code, self.to_string())
    }
}

impl Canned {
    /// A canned ACL's name (`x-amz-acl`, a POST form's `acl`).
    pub fn parse(name: &str) -> Result<Canned, AclError> {
        match name.trim() {
            "private" => Ok(Canned::Private),
            "public-read" => Ok(Canned::PublicRead),
            "public-read-write" => Ok(Canned::PublicReadWrite),
            "authenticated-read" => Ok(Canned::AuthenticatedRead),
            // The bucket's owner is the object's: nothing beyond the owner's FULL_CONTROL.
            "bucket-owner-read" | "bucket-owner-full-control" => Ok(Canned::Private),
            n @ ("aws-exec-read" | "log-delivery-write") => {
                Err(AclError::Unsupported(n.to_string()))
            }
            n => Err(AclError::Unknown(n.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Canned::Private => "private",
            Canned::PublicRead => "public-read",
            Canned::PublicReadWrite => "public-read-write",
            Canned::AuthenticatedRead => "authenticated-read",
        }
    }

    /// Grants anything to a public group (what PublicAccessBlock's ACL settings are about).
    pub fn is_public(self) -> bool {
        self != Canned::Private
    }

    /// The grants beside the owner's FULL_CONTROL.
    pub fn group_grants(self) -> &'static [(Group, Permission)] {
        use Group::*;
        use Permission::*;
        match self {
            Canned::Private => &[],
            Canned::PublicRead => &[(AllUsers, Read)],
            Canned::PublicReadWrite => &[(AllUsers, Read), (AllUsers, Write)],
            Canned::AuthenticatedRead => &[(AuthenticatedUsers, Read)],
        }
    }

    /// The canned ACL whose group grants are exactly these (in any order, repeats allowed).
    pub fn from_group_grants(grants: &[(Group, Permission)]) -> Option<Canned> {
        let mut asked = grants.to_vec();
        asked.sort();
        asked.dedup();
        [
            Canned::Private,
            Canned::PublicRead,
            Canned::PublicReadWrite,
            Canned::AuthenticatedRead,
        ]
        .into_iter()
        .find(|c| {
            let mut g = c.group_grants().to_vec();
            g.sort();
            g == asked
        })
    }

    /// Whether it grants `permission` to the requester.
    pub fn allows(self, who: Requester, permission: Permission) -> bool {
        self.group_grants().iter().any(|(g, p)| {
            *p == permission
                && match g {
                    Group::AllUsers => true,
                    Group::AuthenticatedUsers => who == Requester::Authenticated,
                }
        })
    }

    /// As kept in an object's metadata: nothing for `private`.
    pub fn stored(self) -> Option<String> {
        self.is_public().then(|| self.as_str().to_string())
    }

    /// From an object's metadata. A name this server does not know grants nothing.
    pub fn from_stored(s: Option<&str>) -> Canned {
        s.and_then(|s| Canned::parse(s).ok())
            .unwrap_or(Canned::Private)
    }

    /// The grants GetBucketAcl and GetObjectAcl answer: the owner's, then the groups'.
    pub fn to_grants(self) -> Vec<s3s::dto::Grant> {
        let owner = crate::owner();
        let mut grants = vec![s3s::dto::Grant {
            grantee: Some(Grantee {
                display_name: owner.display_name,
                email_address: None,
                id: owner.id,
                type_: Type::from_static(Type::CANONICAL_USER),
                uri: None,
            }),
            permission: Some(DtoPermission::from_static(DtoPermission::FULL_CONTROL)),
        }];
        for (group, permission) in self.group_grants() {
            let uri = match group {
                Group::AllUsers => ALL_USERS,
                Group::AuthenticatedUsers => AUTHENTICATED_USERS,
            };
            let permission = match permission {
                Permission::Read => DtoPermission::READ,
                Permission::Write => DtoPermission::WRITE,
            };
            grants.push(s3s::dto::Grant {
                grantee: Some(Grantee {
                    display_name: None,
                    email_address: None,
                    id: None,
                    type_: Type::from_static(Type::GROUP),
                    uri: Some(uri.to_string()),
                }),
                permission: Some(DtoPermission::from_static(permission)),
            });
        }
        grants
    }

    /// An AccessControlPolicy body (PutBucketAcl, PutObjectAcl): the owner's FULL_CONTROL and
    /// the grants of one canned ACL, nothing else.
    pub fn from_policy(p: &AccessControlPolicy) -> Result<Canned, AclError> {
        let owner_id = crate::owner().id.unwrap_or_default();
        if let Some(id) = p.owner.as_ref().and_then(|o| o.id.as_deref()) {
            if id != owner_id {
                return Err(AclError::Grants(format!(
                    "the owner {id:?} is not this deployment's owner"
                )));
            }
        }
        let mut owner_full = false;
        let mut groups = Vec::new();
        for g in p.grants.iter().flatten() {
            let (Some(grantee), Some(permission)) = (&g.grantee, &g.permission) else {
                return Err(AclError::Grants(
                    "a grant without a grantee or a permission".into(),
                ));
            };
            let permission = permission.as_str();
            match (grantee.type_.as_str(), grantee.uri.as_deref()) {
                (Type::CANONICAL_USER, _)
                    if grantee.id.as_deref() == Some(owner_id.as_str())
                        && permission == DtoPermission::FULL_CONTROL =>
                {
                    owner_full = true;
                }
                (Type::GROUP, Some(uri)) => {
                    let group = match uri {
                        ALL_USERS => Group::AllUsers,
                        AUTHENTICATED_USERS => Group::AuthenticatedUsers,
                        other => {
                            return Err(AclError::Grants(format!("a grant to the group {other}")))
                        }
                    };
                    let permission = match permission {
                        DtoPermission::READ => Permission::Read,
                        DtoPermission::WRITE => Permission::Write,
                        other => {
                            return Err(AclError::Grants(format!(
                                "{other} granted to the group {uri}"
                            )))
                        }
                    };
                    groups.push((group, permission));
                }
                (kind, _) => {
                    let who = grantee
                        .id
                        .as_deref()
                        .or(grantee.email_address.as_deref())
                        .unwrap_or("");
                    return Err(AclError::Grants(format!(
                        "{permission} granted to the {kind} {who}"
                    )));
                }
            }
        }
        if !owner_full {
            return Err(AclError::Grants(
                "the owner's FULL_CONTROL grant is missing".into(),
            ));
        }
        Canned::from_group_grants(&groups).ok_or_else(|| {
            AclError::Grants("these group grants are not those of a canned ACL".into())
        })
    }
}

/// The ACL permission of a bucket that grants an IAM action, if one does (S3's table).
pub fn bucket_permission(action: &str) -> Option<Permission> {
    match action {
        "s3:ListBucket" | "s3:ListBucketVersions" | "s3:ListBucketMultipartUploads" => {
            Some(Permission::Read)
        }
        "s3:PutObject" | "s3:DeleteObject" | "s3:AbortMultipartUpload" => Some(Permission::Write),
        _ => None,
    }
}

/// How AWS weighs the policies against the ACLs: an explicit Deny decides, an Allow grants;
/// what no policy allowed is granted if the bucket's ACL grants it to the requester (none when
/// the key's session policy does not allow the action, or no bucket takes part), or left to
/// the object's ACL for an object read. `IgnorePublicAcls` makes every ACL grant nothing.
pub fn weigh(
    decision: Decision,
    who: Option<Requester>,
    bucket: Option<&BucketAccess>,
    action: &str,
) -> Result<Permit, Refusal> {
    let (who, cfg) = match (decision, who, bucket) {
        (Decision::Allow, _, _) => return Ok(Permit::Granted),
        (Decision::ImplicitDeny, Some(who), Some(cfg)) => (who, cfg),
        _ => return Err(Refusal::AccessDenied),
    };
    if cfg.block.is_some_and(|b| b.ignore_public_acls) {
        return Err(Refusal::AccessDenied);
    }
    let bucket_acl = cfg.acl.unwrap_or(Canned::Private);
    if bucket_permission(action).is_some_and(|p| bucket_acl.allows(who, p)) {
        return Ok(Permit::Granted);
    }
    if is_object_read(action) {
        return Ok(Permit::IfObjectAcl(who));
    }
    Err(Refusal::AccessDenied)
}

/// Whether READ on an object grants the IAM action.
pub fn is_object_read(action: &str) -> bool {
    matches!(action, "s3:GetObject" | "s3:GetObjectVersion")
}

/// An object read no policy allowed (nor denied): the object's ACL decides, once the handler
/// has read the object's metadata and before it sends a byte of it.
#[derive(Clone)]
pub struct AclRead {
    grant: Grant,
    requester: Requester,
    bucket: String,
}

/// Which object of the request an `AclRead` is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadOf {
    /// The object addressed (GetObject, HeadObject).
    Target,
    /// A copy's source (CopyObject, UploadPartCopy).
    Source,
}

impl AclRead {
    /// The check the access gate left for this request's read of `bucket`'s object.
    pub fn pending(ext: &http::Extensions, of: ReadOf, bucket: &str) -> Option<AclRead> {
        let grant = ext.get::<Grant>()?;
        let requester = match of {
            ReadOf::Target => grant.target_acl(),
            ReadOf::Source => grant.source_acl(),
        }?;
        Some(AclRead {
            grant: grant.clone(),
            requester,
            bucket: bucket.to_string(),
        })
    }

    /// The object's ACL must let the requester read it.
    pub fn check(&self, info: &ObjectInfo) -> S3Result<()> {
        if Canned::from_stored(info.acl.as_deref()).allows(self.requester, Permission::Read) {
            Ok(())
        } else {
            Err(denied())
        }
    }

    /// What a read that found no object answers: NoSuchKey (or NoSuchBucket) to who may list
    /// the bucket, AccessDenied to others (as S3 does: whether a key exists is not told to
    /// who could not have read it).
    pub fn missing(&self, e: EngineError) -> S3Error {
        let absent = matches!(
            e,
            EngineError::NoSuchKey { .. } | EngineError::NoSuchBucket(_)
        );
        let may_list = matches!(
            self.grant.ask(
                "s3:ListBucket",
                ResourceKind::Bucket,
                Some(&self.bucket),
                None
            ),
            Ok(Permit::Granted)
        );
        if absent && !may_list {
            denied()
        } else {
            to_s3(e)
        }
    }
}

/// Opens an object for a read the gate may have left to its ACL: the engine's answer, checked.
pub fn checked<T>(
    read: Option<&AclRead>,
    opened: Result<T, EngineError>,
    info: impl FnOnce(&T) -> &ObjectInfo,
) -> S3Result<T> {
    match (opened, read) {
        (Ok(t), Some(r)) => r.check(info(&t)).map(|()| t),
        (Ok(t), None) => Ok(t),
        (Err(e), Some(r)) => Err(r.missing(e)),
        (Err(e), None) => Err(to_s3(e)),
    }
}

fn denied() -> S3Error {
    s3_error!(AccessDenied, "Access Denied.")
}

#[cfg(test)]
mod tests;

//! Get/PutBucketAcl, Get/PutObjectAcl, and the canned ACL of a write that creates a bucket or
//! an object (CreateBucket, PutObject, POST, CopyObject, CreateMultipartUpload).

use super::Canned;
use crate::authz::Grant;
use crate::gate::refused;
use crate::policy::require_bucket;
use crate::{owner, StrataS3};
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};
use strata_iam::ResourceKind;

pub async fn get_bucket_acl(
    s3: &StrataS3,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    let bucket = req.input.bucket;
    require_bucket(s3, &bucket).await?;
    let canned = s3.access.get(&bucket).acl.unwrap_or(Canned::Private);
    Ok(S3Response::new(GetBucketAclOutput {
        grants: Some(canned.to_grants()),
        owner: Some(owner()),
    }))
}

pub async fn put_bucket_acl(
    s3: &StrataS3,
    req: S3Request<PutBucketAclInput>,
) -> S3Result<S3Response<PutBucketAclOutput>> {
    let input = req.input;
    let bucket = input.bucket;
    let canned = asked(
        input.acl.as_ref().map(|a| a.as_str()),
        input.access_control_policy.as_ref(),
    )?;
    require_bucket(s3, &bucket).await?;
    unblocked(s3, &bucket, canned)?;
    let access = s3.access.clone();
    s3.run(move |e| access.set_acl(e, &bucket, canned)).await?;
    Ok(S3Response::new(PutBucketAclOutput::default()))
}

pub async fn get_object_acl(
    s3: &StrataS3,
    req: S3Request<GetObjectAclInput>,
) -> S3Result<S3Response<GetObjectAclOutput>> {
    let (bucket, key) = (req.input.bucket, req.input.key);
    let info = s3.run(move |e| e.head_object(&bucket, &key)).await?;
    let canned = Canned::from_stored(info.acl.as_deref());
    Ok(S3Response::new(GetObjectAclOutput {
        grants: Some(canned.to_grants()),
        owner: Some(owner()),
        ..Default::default()
    }))
}

pub async fn put_object_acl(
    s3: &StrataS3,
    req: S3Request<PutObjectAclInput>,
) -> S3Result<S3Response<PutObjectAclOutput>> {
    let input = req.input;
    let canned = asked(
        input.acl.as_ref().map(|a| a.as_str()),
        input.access_control_policy.as_ref(),
    )?;
    let (bucket, key) = (input.bucket, input.key);
    unblocked(s3, &bucket, canned)?;
    // A new version with the same data and metadata but the ACL (Last-Modified unchanged).
    let stored = canned.stored();
    s3.run(move |e| e.update_metadata(&bucket, &key, &|m| m.acl = stored.clone()))
        .await?;
    Ok(S3Response::new(PutObjectAclOutput::default()))
}

/// The ACL a PutBucketAcl or PutObjectAcl sets: its `x-amz-acl` header or its body (the
/// access gate refused `x-amz-grant-*` headers already).
fn asked(header: Option<&str>, body: Option<&AccessControlPolicy>) -> S3Result<Canned> {
    match (header, body) {
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidRequest,
            "Specify an ACL by the x-amz-acl header or by an AccessControlPolicy body, not both"
        )),
        (Some(name), None) => Canned::parse(name).map_err(|e| e.to_s3()),
        (None, Some(policy)) => Canned::from_policy(policy).map_err(|e| e.to_s3()),
        (None, None) => Err(s3_error!(
            MissingSecurityHeader,
            "Your request was missing a required header: x-amz-acl (or an AccessControlPolicy body)"
        )),
    }
}

/// A public ACL is refused on a bucket whose PublicAccessBlock has `BlockPublicAcls`.
pub(crate) fn unblocked(s3: &StrataS3, bucket: &str, canned: Canned) -> S3Result<()> {
    let blocked = s3
        .access
        .get(bucket)
        .block
        .is_some_and(|b| b.block_public_acls);
    if blocked && canned.is_public() {
        return Err(s3_error!(
            AccessDenied,
            "The bucket's PublicAccessBlock (BlockPublicAcls) refuses a public ACL"
        ));
    }
    Ok(())
}

/// The ACL a new object is written with (`x-amz-acl` of PutObject, CopyObject,
/// CreateMultipartUpload; a POST form's `acl`), as its metadata keeps it. A public one needs,
/// as S3 asks, a bucket that allows public ACLs and the requester's `s3:PutObjectAcl` besides
/// `s3:PutObject`.
pub(crate) fn for_new_object(
    s3: &StrataS3,
    ext: &http::Extensions,
    bucket: &str,
    key: &str,
    acl: Option<&ObjectCannedACL>,
) -> S3Result<Option<String>> {
    let Some(acl) = acl else {
        return Ok(None);
    };
    let canned = Canned::parse(acl.as_str()).map_err(|e| e.to_s3())?;
    if canned.is_public() {
        unblocked(s3, bucket, canned)?;
        may(
            ext,
            "s3:PutObjectAcl",
            ResourceKind::Object,
            bucket,
            Some(key),
        )?;
    }
    Ok(canned.stored())
}

/// The ACL a new bucket is created with (`x-amz-acl` of CreateBucket): a public one needs the
/// requester's `s3:PutBucketAcl` besides `s3:CreateBucket`, as S3 asks.
pub(crate) fn for_new_bucket(
    ext: &http::Extensions,
    bucket: &str,
    acl: Option<&BucketCannedACL>,
) -> S3Result<Canned> {
    let Some(acl) = acl else {
        return Ok(Canned::Private);
    };
    let canned = Canned::parse(acl.as_str()).map_err(|e| e.to_s3())?;
    if canned.is_public() {
        may(ext, "s3:PutBucketAcl", ResourceKind::Bucket, bucket, None)?;
    }
    Ok(canned)
}

/// Asks the access gate's grant (none: refused).
fn may(
    ext: &http::Extensions,
    action: &str,
    kind: ResourceKind,
    bucket: &str,
    key: Option<&str>,
) -> S3Result<()> {
    let grant = ext
        .get::<Grant>()
        .ok_or_else(|| s3_error!(AccessDenied, "Access Denied."))?;
    grant
        .require(action, kind, Some(bucket), key)
        .map_err(refused)
}

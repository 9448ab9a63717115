//! CopyObject, and the copy source and its conditions that UploadPartCopy shares.

use crate::acl::{self, AclRead, ReadOf};
use crate::checksum;
use crate::convert::*;
use crate::StrataS3;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result};
use strata_engine::{Engine, EngineError, ObjectInfo, PutOptions};

/// A copy's `x-amz-{metadata,tagging}-directive`: COPY (the default) or REPLACE; anything
/// else is refused (S3: InvalidArgument), not read as COPY.
fn replaces(directive: Option<&str>, what: &str) -> S3Result<bool> {
    match directive {
        None | Some(MetadataDirective::COPY) => Ok(false),
        Some(MetadataDirective::REPLACE) => Ok(true),
        Some(other) => Err(s3_error!(
            InvalidArgument,
            "Unknown {what} directive: {other}"
        )),
    }
}

pub async fn copy_object(
    s3: &StrataS3,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let input = req.input;
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    let replace_meta = replaces(
        input.metadata_directive.as_ref().map(|d| d.as_str()),
        "metadata",
    )?;
    let replace_tags = replaces(
        input.tagging_directive.as_ref().map(|d| d.as_str()),
        "tagging",
    )?;
    let same = src_bucket == input.bucket && src_key == input.key;
    if same && !replace_meta && !replace_tags && input.storage_class.is_none() {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
        ));
    }
    let reduced = reduced_redundancy(input.storage_class.as_ref().map(|s| s.as_str()))?;
    let new_meta = meta_map(input.metadata, std_headers!(input))?;
    let new_tags = parse_tagging_header(input.tagging.as_deref())?;
    let conditions = CopyConditions {
        if_match: input.copy_source_if_match,
        if_none_match: input.copy_source_if_none_match,
        if_modified_since: input.copy_source_if_modified_since,
        if_unmodified_since: input.copy_source_if_unmodified_since,
    };
    let content_type = input.content_type;
    // x-amz-checksum-algorithm: computed over the copy besides the source's algorithms.
    let asked = input
        .checksum_algorithm
        .map(|a| a.as_str().to_ascii_uppercase());
    let (bucket, key) = (input.bucket, input.key);
    // The copy gets the ACL it asks for (none: private), never its source's, as in S3.
    let acl = acl::for_new_object(s3, &req.extensions, &bucket, &key, input.acl.as_ref())?;
    let source_read = AclRead::pending(&req.extensions, ReadOf::Source, &src_bucket);
    let quotas = s3.quotas.clone();
    let info = s3
        .run(move |e| {
            let (reader, src) =
                match conditions.open(e, &src_bucket, &src_key, source_read.as_ref())? {
                    Ok(opened) => opened,
                    Err(refused) => return Ok(Err(refused)),
                };
            let (user_meta, ctype) = if replace_meta {
                (new_meta, content_type)
            } else {
                (src.user_meta.clone(), src.content_type.clone())
            };
            let tags = if replace_tags {
                new_tags
            } else {
                src.tags.clone()
            };
            if same && reduced == src.reduced_redundancy {
                let now = strata_engine::now_ns();
                return e
                    .update_metadata(&bucket, &key, &|m| {
                        m.user_meta = user_meta.clone();
                        m.content_type = ctype.clone();
                        m.tags = tags.clone();
                        m.mod_time_ns = now;
                        m.acl = acl.clone();
                    })
                    .map(Ok);
            }
            if let Err(r) = quotas.admit(&bucket, Some(src.size)) {
                return Ok(Err(crate::quota::refused(&r)));
            }
            let opts = PutOptions {
                content_type: ctype,
                user_meta,
                tags,
                content_md5: None,
                reduced_redundancy: reduced,
                acl,
                ..Default::default()
            };
            // The copy is one part: the source's algorithms are computed over its bytes
            // (a multipart source's COMPOSITE checksum does not describe the copy).
            let plan = checksum::Plan::computing(src.checksums.keys().chain(asked.iter()));
            let mut reader = checksum::Hashing::new(reader, plan.hasher());
            let hasher = reader.hasher.clone();
            e.put_object_checked(&bucket, &key, &mut reader, &opts, &mut || {
                plan.verify(&hasher, None)
            })
            .map(Ok)
        })
        .await??;
    let mut result = CopyObjectResult {
        e_tag: Some(etag(&info.etag)),
        last_modified: Some(timestamp(info.mod_time_ns)),
        ..Default::default()
    };
    checksum_fields_typed!(result, &info.checksums);
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some(result),
        ..Default::default()
    }))
}

/// `x-amz-copy-source-if-*` of CopyObject and UploadPartCopy.
pub(crate) struct CopyConditions {
    pub(crate) if_match: Option<ETagCondition>,
    pub(crate) if_none_match: Option<ETagCondition>,
    pub(crate) if_modified_since: Option<Timestamp>,
    pub(crate) if_unmodified_since: Option<Timestamp>,
}

impl CopyConditions {
    /// Opens the copy source; `Ok(Err(PreconditionFailed))` when a condition fails, or
    /// `Ok(Err(AccessDenied))` when the gate left the read to the source's ACL and it does not
    /// allow it.
    pub(crate) fn open(
        &self,
        e: &Engine,
        bucket: &str,
        key: &str,
        read: Option<&AclRead>,
    ) -> Result<Result<(strata_engine::ObjectReader, ObjectInfo), S3Error>, EngineError> {
        let opened = e.get_object(bucket, key, None);
        let reader = match read {
            None => opened?,
            Some(r) => match acl::checked(Some(r), opened, |r| r.info()) {
                Ok(reader) => reader,
                Err(refused) => return Ok(Err(refused)),
            },
        };
        let info = reader.info().clone();
        let cond = Conditions {
            if_match: self.if_match.as_ref(),
            if_none_match: self.if_none_match.as_ref(),
            if_modified_since: self.if_modified_since.as_ref(),
            if_unmodified_since: self.if_unmodified_since.as_ref(),
        };
        Ok(cond.check(&info, false).map(|()| (reader, info)))
    }
}

pub(crate) fn copy_source(src: &CopySource) -> S3Result<(String, String)> {
    match src {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => {
            if version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(s3_error!(
                    NoSuchVersion,
                    "object versions are not kept (versioning is not supported yet)"
                ));
            }
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err(s3_error!(
            NotImplemented,
            "only bucket/key copy sources are supported"
        )),
    }
}

/// `bytes=first-last` of x-amz-copy-source-range.
pub(crate) fn parse_copy_range(s: &str) -> S3Result<(u64, u64)> {
    let bad = || {
        s3_error!(
            InvalidArgument,
            "x-amz-copy-source-range must be bytes=first-last"
        )
    };
    let (a, b) = s
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

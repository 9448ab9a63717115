//! DeleteObject and DeleteObjects, with their per-object conditions.

use crate::authz::{Grant, Refusal};
use crate::convert::*;
use crate::gate::refused;
use crate::to_s3;
use crate::StrataS3;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result};
use strata_engine::{Engine, EngineError};
use strata_iam::ResourceKind;

pub async fn delete_object(
    s3: &StrataS3,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let input = req.input;
    let conditions = strata_engine::Conditions {
        if_match: etag_condition(input.if_match.as_ref()),
        if_match_last_modified_ns: input.if_match_last_modified_time.as_ref().map(timestamp_ns),
        if_match_size: input.if_match_size.map(|s| s.max(0) as u64),
        ..Default::default()
    };
    let (bucket, key) = (input.bucket, input.key);
    s3.run(move |e| e.delete_object_if(&bucket, &key, &conditions))
        .await?;
    Ok(S3Response::new(DeleteObjectOutput::default()))
}

pub async fn delete_objects(
    s3: &StrataS3,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let input = req.input;
    if input.delete.objects.len() > 1000 {
        return Err(s3_error!(MalformedXML, "at most 1000 keys per request"));
    }
    // The access gate left what it decided; without it nothing is deleted (fail closed).
    let grant = req.extensions.get::<Grant>().cloned();
    let quiet = input.delete.quiet.unwrap_or(false);
    let bucket = input.bucket;
    let keys: Vec<DeleteEntry> = input
        .delete
        .objects
        .into_iter()
        .map(|o| {
            let conditions = strata_engine::Conditions {
                if_match: o.e_tag.map(|t| t.value().trim_matches('"').to_string()),
                if_match_last_modified_ns: o.last_modified_time.as_ref().map(timestamp_ns),
                if_match_size: o.size.map(|s| s.max(0) as u64),
                ..Default::default()
            };
            DeleteEntry {
                key: o.key,
                version_id: o.version_id,
                conditions,
            }
        })
        .collect();
    let results = s3
        .run(move |e| {
            e.bucket_exists(&bucket)?
                .then_some(())
                .ok_or_else(|| EngineError::NoSuchBucket(bucket.clone()))?;
            Ok(keys
                .into_iter()
                .map(|d| {
                    let r = d
                        .allowed(grant.as_ref(), &bucket)
                        .and_then(|()| d.delete(e, &bucket));
                    (d, r)
                })
                .collect::<Vec<_>>())
        })
        .await?;
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for (d, r) in results {
        match r {
            Ok(()) if quiet => {}
            Ok(()) => deleted.push(DeletedObject {
                key: Some(d.key),
                version_id: d.version_id,
                ..Default::default()
            }),
            Err(s3) => errors.push(Error {
                code: Some(s3.code().as_str().to_string()),
                key: Some(d.key),
                message: s3.message().map(str::to_string),
                version_id: d.version_id,
            }),
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    }))
}

/// One key of a DeleteObjects request.
struct DeleteEntry {
    key: String,
    version_id: Option<String>,
    conditions: strata_engine::Conditions,
}

impl DeleteEntry {
    /// Whether the requester may delete this key (each key of a DeleteObjects is authorised
    /// on its own, as AWS does: a refused key is an AccessDenied entry, the others go on).
    fn allowed(&self, grant: Option<&Grant>, bucket: &str) -> Result<(), S3Error> {
        let action = if self.version_id.is_some() {
            "s3:DeleteObjectVersion"
        } else {
            "s3:DeleteObject"
        };
        grant
            .ok_or(Refusal::AccessDenied)
            .and_then(|g| g.require(action, ResourceKind::Object, Some(bucket), Some(&self.key)))
            .map_err(refused)
    }

    /// Deletes the key, unless the request names a version other than `null` (the only one
    /// kept): the access gate sees headers and the query, not this document, so the version is
    /// checked here, and such a key is NoSuchVersion with nothing deleted.
    fn delete(&self, e: &Engine, bucket: &str) -> Result<(), S3Error> {
        if self.version_id.as_deref().is_some_and(|v| v != "null") {
            return Err(s3_error!(
                NoSuchVersion,
                "The specified version does not exist (object versions are not kept yet)"
            ));
        }
        e.delete_object_if(bucket, &self.key, &self.conditions)
            .map_err(to_s3)
    }
}

//! Object tagging: get, put, delete.

use crate::convert::*;
use crate::StrataS3;
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};
use std::collections::BTreeMap;

pub async fn get_object_tagging(
    s3: &StrataS3,
    req: S3Request<GetObjectTaggingInput>,
) -> S3Result<S3Response<GetObjectTaggingOutput>> {
    let (bucket, key) = (req.input.bucket, req.input.key);
    let info = s3.run(move |e| e.head_object(&bucket, &key)).await?;
    Ok(S3Response::new(GetObjectTaggingOutput {
        tag_set: info
            .tags
            .into_iter()
            .map(|(k, v)| Tag {
                key: Some(k),
                value: Some(v),
            })
            .collect(),
        version_id: None,
    }))
}

pub async fn put_object_tagging(
    s3: &StrataS3,
    req: S3Request<PutObjectTaggingInput>,
) -> S3Result<S3Response<PutObjectTaggingOutput>> {
    let input = req.input;
    let mut tags = BTreeMap::new();
    for t in input.tagging.tag_set {
        let k = t
            .key
            .ok_or_else(|| s3_error!(InvalidTag, "a tag has no key"))?;
        if tags.insert(k, t.value.unwrap_or_default()).is_some() {
            return Err(s3_error!(InvalidTag, "duplicate tag key"));
        }
    }
    check_tags(&tags)?;
    let (bucket, key) = (input.bucket, input.key);
    s3.run(move |e| e.update_metadata(&bucket, &key, &|m| m.tags = tags.clone()))
        .await?;
    Ok(S3Response::new(PutObjectTaggingOutput::default()))
}

pub async fn delete_object_tagging(
    s3: &StrataS3,
    req: S3Request<DeleteObjectTaggingInput>,
) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
    let (bucket, key) = (req.input.bucket, req.input.key);
    s3.run(move |e| e.update_metadata(&bucket, &key, &|m| m.tags.clear()))
        .await?;
    Ok(S3Response::new(DeleteObjectTaggingOutput::default()))
}

//! Writing an object in one request: PutObject (and the browser POST that s3s turns into it).

use crate::body::BodyReader;
use crate::convert::*;
use crate::StrataS3;
use crate::{acl, checksum_plan, post};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

pub async fn put_object(
    s3: &StrataS3,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let mut input = req.input;
    // A browser POST (s3s's default post_object calls this): the checksum fields the front
    // took out of the form (see `post`).
    if let Some(form) = req.extensions.get::<post::PostForm>() {
        form.apply(&mut input);
    }
    input.content_encoding = stored_content_encoding(input.content_encoding.take());
    let reduced = reduced_redundancy(input.storage_class.as_ref().map(|s| s.as_str()))?;
    let plan = checksum_plan(
        &req.headers,
        given_checksums!(input),
        input.checksum_algorithm.as_ref(),
    )?;
    let mut opts = put_options(
        input.content_type.clone(),
        meta_map(input.metadata, std_headers!(input))?,
        parse_tagging_header(input.tagging.as_deref())?,
        content_md5(input.content_md5.as_deref())?,
        reduced,
    );
    let (bucket, key) = (input.bucket, input.key);
    opts.acl = acl::for_new_object(s3, &req.extensions, &bucket, &key, input.acl.as_ref())?;
    // Checked by the engine under the key's lock, atomically with the write.
    opts.conditions = strata_engine::Conditions {
        if_match: etag_condition(input.if_match.as_ref()),
        if_none_match: etag_condition(input.if_none_match.as_ref()),
        ..Default::default()
    };
    let body = BodyReader::new(
        input.body,
        plan.hasher(),
        declared_length(&req.headers, input.content_length),
    );
    let info = s3
        .upload_object(bucket, key, opts, body, plan, req.trailing_headers)
        .await?;
    let mut out = PutObjectOutput {
        e_tag: Some(etag(&info.etag)),
        size: Some(info.size as i64),
        ..Default::default()
    };
    checksum_fields_typed!(out, &info.checksums);
    Ok(S3Response::new(out))
}

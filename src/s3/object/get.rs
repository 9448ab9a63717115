//! Reading objects: GetObject, HeadObject (with ranges, part numbers, conditions and
//! `response-*` overrides) and GetObjectAttributes.

use crate::engine::ObjectInfo;
use crate::s3::body::stream_object;
use crate::s3::convert::*;
use crate::s3::StrataS3;
use crate::s3::{attributes, mpu_checksum, part_number, to_s3};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};
use std::collections::BTreeMap;

pub async fn get_object(
    s3: &StrataS3,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let mut input = req.input;
    let (bucket, key) = (input.bucket.clone(), input.key.clone());
    let mut reader = s3.run(move |e| e.get_object(&bucket, &key, None)).await?;
    let info = reader.info().clone();
    Conditions {
        if_match: input.if_match.as_ref(),
        if_none_match: input.if_none_match.as_ref(),
        if_modified_since: input.if_modified_since.as_ref(),
        if_unmodified_since: input.if_unmodified_since.as_ref(),
    }
    .check(&info, true)?;
    let part = input
        .part_number
        .map(|n| part_number::select(&info, n, input.range.is_some()))
        .transpose()?
        .flatten();
    let mut out = GetObjectOutput::default();
    object_headers!(out, &info);
    if let Some(p) = &part {
        reader.restrict(p.start, p.len).map_err(to_s3)?;
        out.content_range = Some(p.content_range(info.size));
        out.content_length = Some(p.len as i64);
    } else if let Some(range) = &input.range {
        let r = range.check(info.size)?;
        reader.restrict(r.start, r.end - r.start).map_err(to_s3)?;
        out.content_range = Some(format!("bytes {}-{}/{}", r.start, r.end - 1, info.size));
        out.content_length = Some((r.end - r.start) as i64);
    } else {
        out.content_length = Some(info.size as i64);
    }
    if input.part_number.is_some() {
        out.parts_count = part_number::parts_count(&info);
    }
    if input.checksum_mode.is_some() && input.range.is_none() {
        checksum_fields!(out, read_checksums(&info, part.as_ref()));
        out.checksum_type = mpu_checksum::checksum_type(&info.checksums);
    }
    response_overrides!(out, input);
    out.tag_count = (!info.tags.is_empty()).then_some(info.tags.len() as i32);
    out.body = Some(stream_object(reader));
    Ok(S3Response::new(out))
}

pub async fn head_object(
    s3: &StrataS3,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let mut input = req.input;
    let (bucket, key) = (input.bucket.clone(), input.key.clone());
    let info = s3.run(move |e| e.head_object(&bucket, &key)).await?;
    Conditions {
        if_match: input.if_match.as_ref(),
        if_none_match: input.if_none_match.as_ref(),
        if_modified_since: input.if_modified_since.as_ref(),
        if_unmodified_since: input.if_unmodified_since.as_ref(),
    }
    .check(&info, true)?;
    let part = input
        .part_number
        .map(|n| part_number::select(&info, n, input.range.is_some()))
        .transpose()?
        .flatten();
    let mut out = HeadObjectOutput::default();
    object_headers!(out, &info);
    if let Some(p) = &part {
        out.content_range = Some(p.content_range(info.size));
        out.content_length = Some(p.len as i64);
    } else if let Some(range) = &input.range {
        let r = range.check(info.size)?;
        out.content_range = Some(format!("bytes {}-{}/{}", r.start, r.end - 1, info.size));
        out.content_length = Some((r.end - r.start) as i64);
    } else {
        out.content_length = Some(info.size as i64);
    }
    if input.part_number.is_some() {
        out.parts_count = part_number::parts_count(&info);
    }
    if input.checksum_mode.is_some() && input.range.is_none() {
        checksum_fields!(out, read_checksums(&info, part.as_ref()));
        out.checksum_type = mpu_checksum::checksum_type(&info.checksums);
    }
    response_overrides!(out, input);
    let mut resp = S3Response::new(out);
    // S3 answers HEAD with the tag count as GET does (s3s's HeadObjectOutput has no field).
    if !info.tags.is_empty() {
        resp.headers.insert(
            "x-amz-tagging-count",
            http::HeaderValue::from(info.tags.len()),
        );
    }
    Ok(resp)
}

pub async fn get_object_attributes(
    s3: &StrataS3,
    req: S3Request<GetObjectAttributesInput>,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    let input = req.input;
    let (bucket, key) = (input.bucket.clone(), input.key.clone());
    let info = s3.run(move |e| e.head_object(&bucket, &key)).await?;
    Ok(S3Response::new(attributes::output(&info, &input)?))
}

/// The checksums a read answers with: a multipart object's part read gives the part's own.
fn read_checksums<'a>(
    info: &'a ObjectInfo,
    part: Option<&part_number::PartRead<'a>>,
) -> &'a BTreeMap<String, String> {
    match part {
        Some(p) if info.multipart => &p.part.checksums,
        _ => &info.checksums,
    }
}

//! Reading objects: GetObject, HeadObject (with ranges, part numbers, conditions and
//! `response-*` overrides) and GetObjectAttributes.

use crate::acl::{self, AclRead, ReadOf};
use crate::body::stream_object;
use crate::convert::*;
use crate::StrataS3;
use crate::{attributes, mpu_checksum, part_number, to_s3};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};
use std::collections::BTreeMap;
use strata_engine::{ObjectInfo, ObjectReader};

pub async fn get_object(
    s3: &StrataS3,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let input = req.input;
    overrides_need_a_signature(req.credentials.is_none(), asks_response_overrides!(input))?;
    let read = AclRead::pending(&req.extensions, ReadOf::Target, &input.bucket);
    // Opening the object (and checking its ACL when the gate left the read to it), checking
    // the conditions, choosing the bytes and reading the first block are one call on the
    // blocking pool: one hand-off instead of two (for an object of one block, the whole read),
    // and a first block that cannot be read answers an S3 error instead of a 200 whose body
    // breaks off.
    let (out, reader, first) = s3
        .blocking(move |e| {
            let opened = e.get_object(&input.bucket, &input.key, None);
            let mut reader = acl::checked(read.as_ref(), opened, |r| r.info())?;
            let out = answer(&mut reader, input)?;
            let first = reader.next_chunk().map_err(to_s3)?;
            Ok((out, reader, first))
        })
        .await?;
    let mut out = out;
    out.body = Some(stream_object(reader, first));
    Ok(S3Response::new(out))
}

/// A GET's answer but its body, once its conditions hold; `reader` narrowed to the bytes it
/// answers with.
fn answer(reader: &mut ObjectReader, mut input: GetObjectInput) -> S3Result<GetObjectOutput> {
    let info = reader.info().clone();
    let conditions = Conditions {
        if_match: input.if_match.as_ref(),
        if_none_match: input.if_none_match.as_ref(),
        if_modified_since: input.if_modified_since.as_ref(),
        if_unmodified_since: input.if_unmodified_since.as_ref(),
    };
    let sel = Selection::new(&info, &conditions, input.part_number, input.range.as_ref())?;
    let mut out = GetObjectOutput::default();
    object_headers!(out, &info);
    if let Some((start, len, _)) = &sel.span {
        reader.restrict(*start, *len).map_err(to_s3)?;
    }
    out.content_range = sel.content_range();
    out.content_length = Some(sel.content_length(info.size));
    if input.part_number.is_some() {
        out.parts_count = part_number::parts_count(&info);
    }
    if input.checksum_mode.is_some() && input.range.is_none() {
        checksum_fields!(out, read_checksums(&info, sel.part.as_ref()));
        out.checksum_type = mpu_checksum::checksum_type(&info.checksums);
    }
    response_overrides!(out, input);
    out.tag_count = (!info.tags.is_empty()).then_some(info.tags.len() as i32);
    Ok(out)
}

pub async fn head_object(
    s3: &StrataS3,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let mut input = req.input;
    overrides_need_a_signature(req.credentials.is_none(), asks_response_overrides!(input))?;
    let read = AclRead::pending(&req.extensions, ReadOf::Target, &input.bucket);
    let (bucket, key) = (input.bucket.clone(), input.key.clone());
    let info = s3
        .blocking(move |e| acl::checked(read.as_ref(), e.head_object(&bucket, &key), |i| i))
        .await?;
    let conditions = Conditions {
        if_match: input.if_match.as_ref(),
        if_none_match: input.if_none_match.as_ref(),
        if_modified_since: input.if_modified_since.as_ref(),
        if_unmodified_since: input.if_unmodified_since.as_ref(),
    };
    let sel = Selection::new(&info, &conditions, input.part_number, input.range.as_ref())?;
    let mut out = HeadObjectOutput::default();
    object_headers!(out, &info);
    out.content_range = sel.content_range();
    out.content_length = Some(sel.content_length(info.size));
    if input.part_number.is_some() {
        out.parts_count = part_number::parts_count(&info);
    }
    if input.checksum_mode.is_some() && input.range.is_none() {
        checksum_fields!(out, read_checksums(&info, sel.part.as_ref()));
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

/// What a GET or HEAD answers with, once the conditions hold: the whole object, one part
/// (`partNumber`) or a range.
struct Selection<'a> {
    part: Option<part_number::PartRead<'a>>,
    /// First byte, length and Content-Range, when less than the whole object is read.
    span: Option<(u64, u64, String)>,
}

impl<'a> Selection<'a> {
    fn new(
        info: &'a ObjectInfo,
        conditions: &Conditions<'_>,
        part_number: Option<i32>,
        range: Option<&Range>,
    ) -> S3Result<Selection<'a>> {
        conditions.check(info, true)?;
        let part = part_number
            .map(|n| part_number::select(info, n, range.is_some()))
            .transpose()?
            .flatten();
        let span = match (&part, range) {
            (Some(p), _) => Some((p.start, p.len, p.content_range(info.size))),
            (None, Some(range)) => {
                let r = satisfiable(range, info.size)?;
                let content_range = format!("bytes {}-{}/{}", r.start, r.end - 1, info.size);
                Some((r.start, r.end - r.start, content_range))
            }
            (None, None) => None,
        };
        Ok(Selection { part, span })
    }

    fn content_range(&self) -> Option<String> {
        self.span.as_ref().map(|(_, _, r)| r.clone())
    }

    fn content_length(&self, size: u64) -> i64 {
        self.span.as_ref().map_or(size, |(_, len, _)| *len) as i64
    }
}

/// S3 honours `response-*` overrides only on signed (or presigned) requests: an anonymous reader
/// of a public object must not have it served as another type (HTML from a text file).
fn overrides_need_a_signature(anonymous: bool, asks: bool) -> S3Result<()> {
    if anonymous && asks {
        return Err(s3s::s3_error!(
            InvalidRequest,
            "Request specific response headers cannot be used for anonymous GET requests."
        ));
    }
    Ok(())
}

/// The bytes `range` asks for, or 416 InvalidRange with `Content-Range: bytes */size` (RFC
/// 9110 §15.5.17) when none of them exist (an empty object has none, whatever the range).
fn satisfiable(range: &Range, size: u64) -> S3Result<std::ops::Range<u64>> {
    match range.check(size) {
        Ok(r) if r.start < r.end => Ok(r),
        _ => {
            let mut err = s3s::S3Error::with_message(
                s3s::S3ErrorCode::InvalidRange,
                "The requested range is not satisfiable",
            );
            err.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
            // s3s puts these in place of the response's headers: the XML type stays.
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/xml"),
            );
            if let Ok(v) = http::HeaderValue::from_str(&format!("bytes */{size}")) {
                headers.insert(http::header::CONTENT_RANGE, v);
            }
            err.set_headers(headers);
            Err(err)
        }
    }
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

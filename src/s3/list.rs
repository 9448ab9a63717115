//! Listing objects: ListObjects (v1 and v2) and ListObjectVersions over one listing page.

use crate::convert::*;
use crate::StrataS3;
use crate::{mpu_checksum, owner, versions};
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};
use strata_engine::{ListQuery, ObjectInfo};

pub async fn list_objects_v2(
    s3: &StrataS3,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let input = req.input;
    let after = match (&input.continuation_token, &input.start_after) {
        (Some(t), _) => Some(decode_token(t)?),
        (None, s) => s.clone(),
    };
    let l = listing(
        s3,
        &input.bucket,
        input.prefix.as_deref(),
        input.delimiter.as_deref(),
        after,
        input.max_keys,
        input.encoding_type.as_ref(),
        input.fetch_owner.unwrap_or(false),
    )
    .await?;
    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(l.enc(input.prefix.as_deref().unwrap_or_default())),
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(|d| l.enc(&d)),
        max_keys: Some(l.max_keys as i32),
        key_count: Some((l.contents.len() + l.prefixes.len()) as i32),
        continuation_token: input.continuation_token,
        start_after: input.start_after.map(|s| l.enc(&s)),
        is_truncated: Some(l.truncated),
        next_continuation_token: l.next_after.as_deref().map(encode_token),
        contents: Some(l.contents),
        common_prefixes: Some(l.prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

pub async fn list_objects(
    s3: &StrataS3,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let input = req.input;
    let l = listing(
        s3,
        &input.bucket,
        input.prefix.as_deref(),
        input.delimiter.as_deref(),
        input.marker.clone(),
        input.max_keys,
        input.encoding_type.as_ref(),
        true,
    )
    .await?;
    Ok(S3Response::new(ListObjectsOutput {
        name: Some(input.bucket),
        prefix: Some(l.enc(input.prefix.as_deref().unwrap_or_default())),
        marker: Some(input.marker.map(|m| l.enc(&m)).unwrap_or_default()),
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(|d| l.enc(&d)),
        max_keys: Some(l.max_keys as i32),
        is_truncated: Some(l.truncated),
        next_marker: l.next_after.as_deref().map(|m| l.enc(m)),
        contents: Some(l.contents),
        common_prefixes: Some(l.prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

pub async fn list_object_versions(
    s3: &StrataS3,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let input = req.input;
    let after = versions::start_after(&input)?;
    let l = listing(
        s3,
        &input.bucket,
        input.prefix.as_deref(),
        input.delimiter.as_deref(),
        after,
        input.max_keys,
        input.encoding_type.as_ref(),
        true,
    )
    .await?;
    Ok(S3Response::new(versions::output(input, l)))
}

/// One page of a listing, rendered for either ListObjects version.
pub(crate) struct Listing {
    pub(crate) contents: Vec<Object>,
    pub(crate) prefixes: Vec<CommonPrefix>,
    pub(crate) truncated: bool,
    /// Where the next page starts, when truncated.
    pub(crate) next_after: Option<String>,
    pub(crate) max_keys: usize,
    pub(crate) url: bool,
}

impl Listing {
    /// `encoding-type=url` applies to every key and prefix in the answer.
    pub(crate) fn enc(&self, s: &str) -> String {
        if self.url {
            url_encode(s)
        } else {
            s.to_string()
        }
    }
}

/// `encoding-type`: `url` or none; S3 refuses any other.
fn url_encoding(encoding: Option<&EncodingType>) -> S3Result<bool> {
    match encoding.map(|t| t.as_str()) {
        None => Ok(false),
        Some(EncodingType::URL) => Ok(true),
        Some(_) => Err(s3s::s3_error!(
            InvalidArgument,
            "Invalid Encoding Method specified in Request"
        )),
    }
}

/// One page of a listing, for either ListObjects version or ListObjectVersions.
#[allow(clippy::too_many_arguments)] // the parameters both ListObjects versions share
pub async fn listing(
    s3: &StrataS3,
    bucket: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
    after: Option<String>,
    max: Option<i32>,
    encoding: Option<&EncodingType>,
    with_owner: bool,
) -> S3Result<Listing> {
    let max_keys = max_keys(max)?;
    let url = url_encoding(encoding)?;
    let q = ListQuery {
        prefix: prefix.unwrap_or_default().to_string(),
        delimiter: delimiter.filter(|d| !d.is_empty()).map(str::to_string),
        after,
        max_keys,
    };
    let b = bucket.to_string();
    let page = s3.run(move |e| e.list_objects(&b, &q)).await?;
    let mut l = Listing {
        contents: Vec::new(),
        prefixes: Vec::new(),
        truncated: page.truncated,
        next_after: page.truncated.then_some(page.next_after).flatten(),
        max_keys,
        url,
    };
    l.contents = page
        .objects
        .iter()
        .map(|o| list_entry(o, with_owner, &|k| l.enc(k)))
        .collect();
    l.prefixes = page
        .prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(l.enc(p)),
        })
        .collect();
    Ok(l)
}

fn max_keys(m: Option<i32>) -> S3Result<usize> {
    match m {
        None => Ok(1000),
        Some(m) if m < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative")),
        Some(m) => Ok((m as usize).min(1000)),
    }
}

fn list_entry(o: &ObjectInfo, with_owner: bool, enc: &dyn Fn(&str) -> String) -> Object {
    Object {
        key: Some(enc(&o.key)),
        size: Some(o.size as i64),
        e_tag: Some(etag(&o.etag)),
        last_modified: Some(timestamp(o.mod_time_ns)),
        storage_class: Some(ObjectStorageClass::from_static(if o.reduced_redundancy {
            ObjectStorageClass::REDUCED_REDUNDANCY
        } else {
            ObjectStorageClass::STANDARD
        })),
        owner: with_owner.then(owner),
        checksum_algorithm: (!o.checksums.is_empty()).then(|| {
            o.checksums
                .keys()
                .map(|a| ChecksumAlgorithm::from(a.clone()))
                .collect()
        }),
        checksum_type: mpu_checksum::checksum_type(&o.checksums),
        ..Default::default()
    }
}

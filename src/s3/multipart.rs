//! Multipart uploads: create, upload a part (or copy one), complete, abort, list parts and
//! uploads.

use crate::acl::{self, AclRead, Canned, ReadOf};
use crate::body::BodyReader;
use crate::convert::*;
use crate::object::copy::{copy_source, parse_copy_range, CopyConditions};
use crate::StrataS3;
use crate::{checksum, checksum_plan, initiator, mpu_checksum, owner, upload};
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

pub async fn create_multipart_upload(
    s3: &StrataS3,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let input = req.input;
    let checksum = mpu_checksum::for_create(
        input.checksum_algorithm.as_ref(),
        input.checksum_type.as_ref(),
    )?;
    let mut opts = put_options(
        input.content_type,
        meta_map(input.metadata, std_headers!(input))?,
        parse_tagging_header(input.tagging.as_deref())?,
        None,
        reduced_redundancy(input.storage_class.as_ref().map(|s| s.as_str()))?,
    );
    opts.checksum_algorithm = checksum.as_ref().map(|(a, _)| a.clone());
    opts.checksum_type = checksum.as_ref().map(|(_, t)| t.clone());
    let (bucket, key) = (input.bucket, input.key);
    // Kept with the upload, given to the object at completion.
    opts.acl = acl::for_new_object(s3, &req.extensions, &bucket, &key, input.acl.as_ref())?;
    let (b, k) = (bucket.clone(), key.clone());
    let upload_id = s3.run(move |e| e.new_multipart(&b, &k, &opts)).await?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(bucket),
        key: Some(key),
        upload_id: Some(upload_id),
        checksum_algorithm: checksum
            .as_ref()
            .map(|(a, _)| ChecksumAlgorithm::from(a.clone())),
        checksum_type: checksum.map(|(_, t)| ChecksumType::from(t)),
        ..Default::default()
    }))
}

pub async fn upload_part(
    s3: &StrataS3,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let input = req.input;
    let part = part_number(input.part_number)?;
    let mut plan = checksum_plan(
        &req.headers,
        given_checksums!(input),
        input.checksum_algorithm.as_ref(),
    )?;
    // Every part of an upload with a checksum algorithm is checked with it.
    let (b, k, id) = (
        input.bucket.clone(),
        input.key.clone(),
        input.upload_id.clone(),
    );
    let upload = s3.run(move |e| e.upload(&b, &k, &id)).await?;
    mpu_checksum::require_for_part(&upload, &mut plan)?;
    let md5 = content_md5(input.content_md5.as_deref())?;
    let body = BodyReader::new(
        input.body,
        plan.hasher(),
        declared_length(&req.headers, input.content_length),
    );
    let target = upload::PartTarget {
        bucket: input.bucket,
        key: input.key,
        upload_id: input.upload_id,
        part,
        content_md5: md5,
    };
    let info = s3
        .upload_part(target, body, plan, req.trailing_headers)
        .await?;
    let mut out = UploadPartOutput {
        e_tag: Some(etag(&info.etag)),
        ..Default::default()
    };
    checksum_fields!(out, &info.checksums);
    Ok(S3Response::new(out))
}

pub async fn upload_part_copy(
    s3: &StrataS3,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let input = req.input;
    let part = part_number(input.part_number)?;
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    let range = input
        .copy_source_range
        .as_deref()
        .map(parse_copy_range)
        .transpose()?;
    let conditions = CopyConditions {
        if_match: input.copy_source_if_match,
        if_none_match: input.copy_source_if_none_match,
        if_modified_since: input.copy_source_if_modified_since,
        if_unmodified_since: input.copy_source_if_unmodified_since,
    };
    let source_read = AclRead::pending(&req.extensions, ReadOf::Source, &src_bucket);
    let (bucket, key, id) = (input.bucket, input.key, input.upload_id);
    let (b, k, i) = (bucket.clone(), key.clone(), id.clone());
    let upload = s3.run(move |e| e.upload(&b, &k, &i)).await?;
    // The copied bytes are checked with the upload's algorithm as an uploaded part is.
    let mut plan = checksum::Plan::default();
    mpu_checksum::require_for_part(&upload, &mut plan)?;
    let quotas = s3.quotas.clone();
    let info = s3
        .run(move |e| {
            let (reader, src) =
                match conditions.open(e, &src_bucket, &src_key, source_read.as_ref())? {
                    Ok(opened) => opened,
                    Err(refused) => return Ok(Err(refused)),
                };
            let mut reader = checksum::Hashing::new(reader, plan.hasher());
            if let Some((first, last)) = range {
                if last >= src.size || first > last {
                    return Ok(Err(s3_error!(
                        InvalidRange,
                        "the copy range is outside the source object"
                    )));
                }
                reader.inner.restrict(first, last - first + 1)?;
            }
            let copied = range.map_or(src.size, |(first, last)| last - first + 1);
            if let Err(r) = quotas.admit(&bucket, Some(copied)) {
                return Ok(Err(crate::quota::refused(&r)));
            }
            let hasher = reader.hasher.clone();
            e.put_part_checked(&bucket, &key, &id, part, &mut reader, None, &mut || {
                plan.verify(&hasher, None)
            })
            .map(Ok)
        })
        .await??;
    let mut result = CopyPartResult {
        e_tag: Some(etag(&info.etag)),
        last_modified: Some(timestamp(info.mod_time_ns)),
        ..Default::default()
    };
    checksum_fields!(result, &info.checksums);
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(result),
        ..Default::default()
    }))
}

pub async fn complete_multipart_upload(
    s3: &StrataS3,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let input = req.input;
    let requested = input
        .multipart_upload
        .and_then(|m| m.parts)
        .ok_or_else(|| s3_error!(MalformedXML, "the request lists no parts"))?;
    let claim = mpu_checksum::Claim {
        value: checksum::fields_given(given_checksums!(input)),
        kind: input.checksum_type.as_ref().map(|t| t.as_str().to_string()),
    };
    let (b, k, i) = (
        input.bucket.clone(),
        input.key.clone(),
        input.upload_id.clone(),
    );
    match s3.run(move |e| e.upload_parts(&b, &k, &i)).await {
        Ok((upload, listed)) => {
            // A public ACL asked for at creation is refused if the bucket blocks public ACLs
            // now (BlockPublicAcls set while the upload was in progress).
            acl::unblocked(
                s3,
                &input.bucket,
                Canned::from_stored(upload.acl.as_deref()),
            )?;
            claim.check_algorithm(&upload)?;
            mpu_checksum::check_request(&upload, &listed, &requested, input.mpu_object_size)?;
        }
        // A retried completion: the engine answers it with the object it made.
        Err(e) if e.code() == &s3s::S3ErrorCode::NoSuchUpload => {}
        Err(e) => return Err(e),
    }
    let parts: Vec<(u32, String)> = requested
        .into_iter()
        .map(|p| {
            let n = part_number(p.part_number.unwrap_or(0))?;
            let tag = p
                .e_tag
                .map(|t| t.value().trim_matches('"').to_string())
                .unwrap_or_default();
            Ok((n, tag))
        })
        .collect::<S3Result<_>>()?;
    let conditions = strata_engine::Conditions {
        if_match: etag_condition(input.if_match.as_ref()),
        if_none_match: etag_condition(input.if_none_match.as_ref()),
        ..Default::default()
    };
    let (bucket, key, id) = (input.bucket, input.key, input.upload_id);
    let (b, k) = (bucket.clone(), key.clone());
    let info = s3
        .run(move |e| {
            e.complete_multipart_checked(&b, &k, &id, &parts, &conditions, &|upload, chosen| {
                mpu_checksum::object_checksums(upload, chosen, &claim)
            })
        })
        .await?;
    let mut out = CompleteMultipartUploadOutput {
        bucket: Some(bucket.clone()),
        key: Some(key.clone()),
        e_tag: Some(etag(&info.etag)),
        location: Some(format!("/{bucket}/{key}")),
        ..Default::default()
    };
    checksum_fields_typed!(out, &info.checksums);
    Ok(S3Response::new(out))
}

pub async fn abort_multipart_upload(
    s3: &StrataS3,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let (bucket, key, id) = (req.input.bucket, req.input.key, req.input.upload_id);
    s3.run(move |e| e.abort_multipart(&bucket, &key, &id))
        .await?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub async fn list_parts(
    s3: &StrataS3,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let input = req.input;
    let marker = input.part_number_marker.unwrap_or(0).max(0) as u32;
    let max = input.max_parts.unwrap_or(1000).clamp(0, 1000) as usize;
    let (bucket, key, id) = (
        input.bucket.clone(),
        input.key.clone(),
        input.upload_id.clone(),
    );
    let (upload, all) = s3.run(move |e| e.upload_parts(&bucket, &key, &id)).await?;
    let after: Vec<_> = all.into_iter().filter(|p| p.number > marker).collect();
    let truncated = after.len() > max;
    let shown: Vec<_> = after.into_iter().take(max).collect();
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        part_number_marker: Some(marker as i32),
        next_part_number_marker: shown.last().map(|p| p.number as i32),
        max_parts: Some(max as i32),
        is_truncated: Some(truncated),
        owner: Some(owner()),
        initiator: Some(initiator()),
        storage_class: Some(storage_class(upload.reduced_redundancy)),
        checksum_algorithm: upload.checksum_algorithm.map(ChecksumAlgorithm::from),
        checksum_type: upload.checksum_type.map(ChecksumType::from),
        parts: Some(
            shown
                .iter()
                .map(|p| {
                    let mut part = Part {
                        part_number: Some(p.number as i32),
                        e_tag: Some(etag(&p.etag)),
                        size: Some(p.size as i64),
                        last_modified: Some(timestamp(p.mod_time_ns)),
                        ..Default::default()
                    };
                    checksum_fields!(part, &p.checksums);
                    part
                })
                .collect(),
        ),
        ..Default::default()
    }))
}

pub async fn list_multipart_uploads(
    s3: &StrataS3,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let input = req.input;
    let prefix = input.prefix.clone().unwrap_or_default();
    let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
    let (bucket, p) = (input.bucket.clone(), prefix.clone());
    let all = s3.run(move |e| e.list_multipart(&bucket, &p)).await?;
    let key_marker = input.key_marker.clone().unwrap_or_default();
    let id_marker = input.upload_id_marker.clone().unwrap_or_default();
    let mut uploads = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    for u in all {
        let past_marker = key_marker.is_empty()
            || u.key > key_marker
            || (u.key == key_marker && !id_marker.is_empty() && u.upload_id > id_marker);
        if !past_marker {
            continue;
        }
        if uploads.len() + prefixes.len() >= max {
            truncated = true;
            break;
        }
        if let Some(d) = input.delimiter.as_deref().filter(|d| !d.is_empty()) {
            if let Some(i) = u.key[prefix.len()..].find(d) {
                let cp = u.key[..prefix.len() + i + d.len()].to_string();
                if prefixes.last() != Some(&cp) {
                    prefixes.push(cp);
                }
                continue;
            }
        }
        uploads.push(u);
    }
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter.filter(|d| !d.is_empty()),
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker: uploads.last().map(|u| u.key.clone()),
        next_upload_id_marker: uploads.last().map(|u| u.upload_id.clone()),
        common_prefixes: Some(
            prefixes
                .into_iter()
                .map(|p| CommonPrefix { prefix: Some(p) })
                .collect(),
        ),
        uploads: Some(
            uploads
                .into_iter()
                .map(|u| MultipartUpload {
                    key: Some(u.key),
                    upload_id: Some(u.upload_id),
                    initiated: Some(timestamp(u.initiated_ns)),
                    owner: Some(owner()),
                    initiator: Some(initiator()),
                    storage_class: Some(storage_class(u.reduced_redundancy)),
                    checksum_algorithm: u.checksum_algorithm.map(ChecksumAlgorithm::from),
                    checksum_type: u.checksum_type.map(ChecksumType::from),
                })
                .collect(),
        ),
        ..Default::default()
    }))
}

fn part_number(n: i32) -> S3Result<u32> {
    if (1..=10_000).contains(&n) {
        Ok(n as u32)
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

pub(crate) fn storage_class(reduced_redundancy: bool) -> StorageClass {
    StorageClass::from_static(if reduced_redundancy {
        StorageClass::REDUCED_REDUNDANCY
    } else {
        StorageClass::STANDARD
    })
}

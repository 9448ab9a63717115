//! GetObjectAttributes: what HeadObject and ListParts tell, in one document, for the
//! attributes asked for (`x-amz-object-attributes`): ETag, Checksum, ObjectParts (paged with
//! `x-amz-max-parts` and `x-amz-part-number-marker`), StorageClass, ObjectSize.

use super::convert::timestamp;
use super::mpu_checksum;
use s3s::dto::*;
use s3s::{s3_error, S3Result};
use strata_engine::ObjectInfo;

const ATTRIBUTES: [&str; 5] = [
    ObjectAttributes::ETAG,
    ObjectAttributes::CHECKSUM,
    ObjectAttributes::OBJECT_PARTS,
    ObjectAttributes::STORAGE_CLASS,
    ObjectAttributes::OBJECT_SIZE,
];

/// The attributes of `info` that `input` asks for.
pub fn output(
    info: &ObjectInfo,
    input: &GetObjectAttributesInput,
) -> S3Result<GetObjectAttributesOutput> {
    // One header, comma-separated (s3s keeps it as one element).
    let asked: Vec<&str> = input
        .object_attributes
        .iter()
        .flat_map(|x| x.as_str().split(','))
        .map(str::trim)
        .collect();
    if let Some(unknown) = asked.iter().find(|a| !ATTRIBUTES.contains(a)) {
        return Err(s3_error!(
            InvalidArgument,
            "Invalid attribute name specified: {unknown}"
        ));
    }
    let wants = |a: &str| asked.contains(&a);
    let mut out = GetObjectAttributesOutput {
        last_modified: Some(timestamp(info.mod_time_ns)),
        ..Default::default()
    };
    if wants(ObjectAttributes::ETAG) {
        // Unquoted here, as S3 writes it in this document.
        out.e_tag = Some(ETag::Strong(info.etag.clone()));
    }
    if wants(ObjectAttributes::CHECKSUM) && !info.checksums.is_empty() {
        let mut c = Checksum::default();
        let [crc32, crc32c, sha1, sha256, crc64nvme] = super::checksum::fields(&info.checksums);
        (c.checksum_crc32, c.checksum_crc32c, c.checksum_sha1) = (crc32, crc32c, sha1);
        (c.checksum_sha256, c.checksum_crc64nvme) = (sha256, crc64nvme);
        c.checksum_type = mpu_checksum::checksum_type(&info.checksums);
        out.checksum = Some(c);
    }
    if wants(ObjectAttributes::OBJECT_PARTS) && info.multipart {
        out.object_parts = Some(parts(info, input.max_parts, input.part_number_marker)?);
    }
    if wants(ObjectAttributes::STORAGE_CLASS) {
        out.storage_class = Some(super::multipart::storage_class(info.reduced_redundancy));
    }
    if wants(ObjectAttributes::OBJECT_SIZE) {
        out.object_size = Some(info.size as i64);
    }
    Ok(out)
}

/// One page of a multipart object's parts. Their list is given only when the object has
/// checksums (S3 then lists each part's); the count always.
fn parts(
    info: &ObjectInfo,
    max: Option<i32>,
    marker: Option<i32>,
) -> S3Result<GetObjectAttributesParts> {
    let max = match max {
        None => 1000,
        Some(m) if m >= 0 => m.min(1000) as usize,
        Some(_) => {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-max-parts must not be negative"
            ))
        }
    };
    let marker = marker.unwrap_or(0).max(0) as u32;
    let after: Vec<_> = info
        .part_list
        .iter()
        .filter(|p| p.number > marker)
        .collect();
    let truncated = after.len() > max;
    let shown: Vec<_> = after.into_iter().take(max).collect();
    let listed = (!info.checksums.is_empty()).then(|| {
        shown
            .iter()
            .map(|p| {
                let [crc32, crc32c, sha1, sha256, crc64nvme] =
                    super::checksum::fields(&p.checksums);
                ObjectPart {
                    part_number: Some(p.number as i32),
                    size: Some(p.size as i64),
                    checksum_crc32: crc32,
                    checksum_crc32c: crc32c,
                    checksum_sha1: sha1,
                    checksum_sha256: sha256,
                    checksum_crc64nvme: crc64nvme,
                }
            })
            .collect()
    });
    Ok(GetObjectAttributesParts {
        total_parts_count: Some(info.part_list.len() as i32),
        part_number_marker: Some(marker as i32),
        next_part_number_marker: truncated
            .then(|| shown.last().map(|p| p.number as i32))
            .flatten(),
        max_parts: Some(max as i32),
        is_truncated: Some(truncated),
        parts: listed,
    })
}

//! Object versions as an unversioned bucket has them: every object is its key's one version,
//! `null`, the latest. Tools (consoles, backup and sync tools, `mc`, rclone's `--s3-versions`)
//! call ListObjectVersions and GetBucketVersioning on every bucket; versioning itself
//! (PutBucketVersioning) is not there and stays NotImplemented.

use super::list::Listing;
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// The version id of every object while versioning is not there.
pub const NULL_VERSION: &str = "null";

/// Where a ListObjectVersions page starts: after `key-marker`, whose only version is `null`.
pub fn start_after(input: &ListObjectVersionsInput) -> S3Result<Option<String>> {
    match (&input.key_marker, &input.version_id_marker) {
        (None, Some(v)) if !v.is_empty() => Err(s3_error!(
            InvalidArgument,
            "A version-id marker cannot be specified without a key marker."
        )),
        (_, Some(v)) if !v.is_empty() && v != NULL_VERSION => {
            Err(s3_error!(InvalidArgument, "Invalid version id specified"))
        }
        (marker, _) => Ok(marker.clone().filter(|m| !m.is_empty())),
    }
}

/// A listing page as ListObjectVersions output.
pub fn output(input: ListObjectVersionsInput, mut l: Listing) -> ListObjectVersionsOutput {
    // The next page starts after the last entry; it is an object's `null` version unless the
    // page ended on a common prefix.
    let next_key = l.next_after.as_deref().map(|k| l.enc(k));
    let last_is_object =
        next_key.is_some() && l.contents.last().and_then(|o| o.key.as_ref()) == next_key.as_ref();
    let next_version = last_is_object.then(|| NULL_VERSION.to_string());
    let versions = std::mem::take(&mut l.contents)
        .into_iter()
        .map(version)
        .collect();
    ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: Some(l.enc(input.prefix.as_deref().unwrap_or_default())),
        delimiter: input.delimiter.filter(|d| !d.is_empty()).map(|d| l.enc(&d)),
        key_marker: Some(l.enc(input.key_marker.as_deref().unwrap_or_default())),
        version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
        max_keys: Some(l.max_keys as i32),
        is_truncated: Some(l.truncated),
        next_key_marker: next_key,
        next_version_id_marker: next_version,
        versions: Some(versions),
        common_prefixes: Some(std::mem::take(&mut l.prefixes)),
        encoding_type: input.encoding_type,
        ..Default::default()
    }
}

/// A listed object as its `null` version.
fn version(o: Object) -> ObjectVersion {
    ObjectVersion {
        e_tag: o.e_tag,
        is_latest: Some(true),
        key: o.key,
        last_modified: o.last_modified,
        owner: o.owner,
        size: o.size,
        storage_class: o
            .storage_class
            .map(|c| ObjectVersionStorageClass::from(c.as_str().to_string())),
        version_id: Some(NULL_VERSION.to_string()),
        ..Default::default()
    }
}

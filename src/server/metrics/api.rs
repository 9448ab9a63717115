//! The `api` label of a request, in MinIO's spelling: the name of MinIO's handler for the
//! operation, lowercased (`putobject`, `putbucket`, `newmultipartupload`, …), so that
//! dashboards and alerts written for MinIO group and filter Strata's requests the same way.

use std::borrow::Cow;

/// The label of an S3 operation, given by its name in the protocol layer (AWS's name, e.g.
/// `CreateBucket`, `PutBucketVersioning`). MinIO names most handlers as AWS does; the rest
/// are spelled out here.
pub fn for_operation(op: &str) -> Cow<'static, str> {
    let minio = match op {
        "CreateBucket" => "putbucket",
        "DeleteObjects" => "deletemultipleobjects",
        "CreateMultipartUpload" => "newmultipartupload",
        "UploadPart" => "putobjectpart",
        "UploadPartCopy" => "copyobjectpart",
        "ListParts" => "listobjectparts",
        "ListObjects" => "listobjectsv1",
        "PostObject" => "postpolicybucket",
        "RestoreObject" => "postrestoreobject",
        "GetObjectLockConfiguration" => "getbucketobjectlockconfig",
        "PutObjectLockConfiguration" => "putbucketobjectlockconfig",
        "GetBucketReplication" => "getbucketreplicationconfig",
        "PutBucketReplication" => "putbucketreplicationconfig",
        "DeleteBucketReplication" => "deletebucketreplicationconfig",
        "GetBucketLifecycleConfiguration" => "getbucketlifecycle",
        "PutBucketLifecycleConfiguration" => "putbucketlifecycle",
        "GetBucketNotificationConfiguration" => "getbucketnotification",
        "PutBucketNotificationConfiguration" => "putbucketnotification",
        // The frequent ones, without an allocation per request.
        "GetObject" => "getobject",
        "PutObject" => "putobject",
        "HeadObject" => "headobject",
        "DeleteObject" => "deleteobject",
        "CopyObject" => "copyobject",
        "ListObjectsV2" => "listobjectsv2",
        "HeadBucket" => "headbucket",
        "ListBuckets" => "listbuckets",
        "CompleteMultipartUpload" => "completemultipartupload",
        _ => return Cow::Owned(op.to_ascii_lowercase()),
    };
    Cow::Borrowed(minio)
}

/// Why a request was refused before the protocol layer resolved its operation, counted in
/// `minio_s3_requests_rejected_*_total` as MinIO counts its rejections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Signature, credentials, expired or malformed authorization.
    Auth,
    /// The request's date is too far from the server's.
    Timestamp,
    /// Anything else: a malformed path, header or query.
    Invalid,
}

/// The label of a request that never reached an operation, from the S3 error code it was
/// answered with: `notfound` and `methodnotallowed` (MinIO's names for requests no route
/// takes), or `rejected` with the reason.
pub fn for_unrouted(code: Option<&str>) -> (&'static str, Option<Rejection>) {
    match code {
        Some("NotImplemented") => ("notfound", None),
        Some("MethodNotAllowed") => ("methodnotallowed", None),
        Some("RequestTimeTooSkewed") => ("rejected", Some(Rejection::Timestamp)),
        Some(
            "AccessDenied"
            | "SignatureDoesNotMatch"
            | "InvalidAccessKeyId"
            | "AuthorizationHeaderMalformed"
            | "AuthorizationQueryParametersError"
            | "MissingSecurityHeader"
            | "ExpiredToken"
            | "InvalidToken"
            | "NotSignedUp"
            | "XAmzContentSHA256Mismatch",
        ) => ("rejected", Some(Rejection::Auth)),
        _ => ("rejected", Some(Rejection::Invalid)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_take_minio_names() {
        assert_eq!(for_operation("CreateBucket"), "putbucket");
        assert_eq!(for_operation("PutBucketVersioning"), "putbucketversioning");
        assert_eq!(for_operation("UploadPart"), "putobjectpart");
        assert_eq!(for_operation("GetObject"), "getobject");
        assert_eq!(for_operation("ListObjectVersions"), "listobjectversions");
    }

    #[test]
    fn unrouted_requests_are_named_by_their_refusal() {
        assert_eq!(for_unrouted(Some("NotImplemented")), ("notfound", None));
        assert_eq!(
            for_unrouted(Some("SignatureDoesNotMatch")),
            ("rejected", Some(Rejection::Auth))
        );
        assert_eq!(
            for_unrouted(Some("InvalidBucketName")),
            ("rejected", Some(Rejection::Invalid))
        );
        assert_eq!(for_unrouted(None), ("rejected", Some(Rejection::Invalid)));
    }
}

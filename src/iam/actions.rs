//! Which IAM action each S3 operation needs, and on which resource: AWS's table ("Actions,
//! resources, and condition keys for Amazon S3"), keyed by the operation's name as s3s gives
//! it (`GetObject`, `ListObjectsV2`).
//!
//! Some operations are checked more than once, and the caller does the extra checks:
//! `DeleteObjects` checks `s3:DeleteObject` on every key it names; `CopyObject` and
//! `UploadPartCopy` check `s3:PutObject` on the target and `s3:GetObject` on the source
//! ([`OperationActions::copy_source`]); a request naming a `versionId` checks the version's
//! action (`s3:GetObjectVersion`) instead.

use crate::document::S3_ARN_PREFIX;

/// What the action is checked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    /// `arn:aws:s3:::*`: the account's buckets (`ListBuckets`).
    AllBuckets,
    /// `arn:aws:s3:::bucket`.
    Bucket,
    /// `arn:aws:s3:::bucket/key`.
    Object,
    /// `arn:aws:s3:::bucket/key` for each key the request names (`DeleteObjects`).
    EachObject,
}

impl ResourceKind {
    /// The resource ARN for this kind (`key` is ignored for bucket-level kinds).
    pub fn arn(self, bucket: &str, key: &str) -> String {
        match self {
            ResourceKind::AllBuckets => format!("{S3_ARN_PREFIX}*"),
            ResourceKind::Bucket => bucket_arn(bucket),
            ResourceKind::Object | ResourceKind::EachObject => object_arn(bucket, key),
        }
    }
}

/// `arn:aws:s3:::bucket`.
pub fn bucket_arn(bucket: &str) -> String {
    format!("{S3_ARN_PREFIX}{bucket}")
}

/// `arn:aws:s3:::bucket/key`.
pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("{S3_ARN_PREFIX}{bucket}/{key}")
}

/// One check: an action on a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S3Action {
    /// The IAM action, `s3:GetObject`.
    pub action: &'static str,
    /// The action instead when the request names a version (`versionId`), if it differs.
    pub version_action: Option<&'static str>,
    pub resource: ResourceKind,
}

impl S3Action {
    /// The action to check, for a request that names a version or not.
    pub fn action_for(&self, names_version: bool) -> &'static str {
        match (names_version, self.version_action) {
            (true, Some(versioned)) => versioned,
            _ => self.action,
        }
    }
}

/// The checks of one S3 operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationActions {
    /// On the target (the bucket or the object the request is addressed to).
    pub target: S3Action,
    /// On the source object of a copy (`x-amz-copy-source`).
    pub copy_source: Option<S3Action>,
}

const fn on(action: &'static str, resource: ResourceKind) -> S3Action {
    S3Action {
        action,
        version_action: None,
        resource,
    }
}

const fn versioned(
    action: &'static str,
    version: &'static str,
    resource: ResourceKind,
) -> S3Action {
    S3Action {
        action,
        version_action: Some(version),
        resource,
    }
}

/// The checks of the S3 operation `operation` (s3s's name), `None` for an operation this
/// table does not know (refuse it).
pub fn s3_operation(operation: &str) -> Option<OperationActions> {
    let target = object_operation(operation)
        .or_else(|| bucket_operation(operation))
        .or_else(|| bucket_configuration(operation))?;
    let copy_source = matches!(operation, "CopyObject" | "UploadPartCopy").then_some(versioned(
        "s3:GetObject",
        "s3:GetObjectVersion",
        ResourceKind::Object,
    ));
    Some(OperationActions {
        target,
        copy_source,
    })
}

fn object_operation(operation: &str) -> Option<S3Action> {
    use ResourceKind::{EachObject, Object};
    Some(match operation {
        "GetObject" | "HeadObject" => versioned("s3:GetObject", "s3:GetObjectVersion", Object),
        "SelectObjectContent" => on("s3:GetObject", Object),
        "GetObjectAttributes" => versioned(
            "s3:GetObjectAttributes",
            "s3:GetObjectVersionAttributes",
            Object,
        ),
        "PutObject"
        | "PostObject"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload" => on("s3:PutObject", Object),
        "AbortMultipartUpload" => on("s3:AbortMultipartUpload", Object),
        "ListParts" => on("s3:ListMultipartUploadParts", Object),
        "DeleteObject" => versioned("s3:DeleteObject", "s3:DeleteObjectVersion", Object),
        "DeleteObjects" => versioned("s3:DeleteObject", "s3:DeleteObjectVersion", EachObject),
        "GetObjectTagging" => {
            versioned("s3:GetObjectTagging", "s3:GetObjectVersionTagging", Object)
        }
        "PutObjectTagging" => {
            versioned("s3:PutObjectTagging", "s3:PutObjectVersionTagging", Object)
        }
        "DeleteObjectTagging" => versioned(
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging",
            Object,
        ),
        "GetObjectAcl" => versioned("s3:GetObjectAcl", "s3:GetObjectVersionAcl", Object),
        "PutObjectAcl" => versioned("s3:PutObjectAcl", "s3:PutObjectVersionAcl", Object),
        "GetObjectRetention" => on("s3:GetObjectRetention", Object),
        "PutObjectRetention" => on("s3:PutObjectRetention", Object),
        "GetObjectLegalHold" => on("s3:GetObjectLegalHold", Object),
        "PutObjectLegalHold" => on("s3:PutObjectLegalHold", Object),
        "GetObjectTorrent" => {
            versioned("s3:GetObjectTorrent", "s3:GetObjectVersionTorrent", Object)
        }
        "RestoreObject" => on("s3:RestoreObject", Object),
        _ => return None,
    })
}

fn bucket_operation(operation: &str) -> Option<S3Action> {
    use ResourceKind::{AllBuckets, Bucket};
    Some(match operation {
        "ListBuckets" => on("s3:ListAllMyBuckets", AllBuckets),
        "CreateBucket" => on("s3:CreateBucket", Bucket),
        "DeleteBucket" => on("s3:DeleteBucket", Bucket),
        "HeadBucket" | "ListObjects" | "ListObjectsV2" => on("s3:ListBucket", Bucket),
        "ListObjectVersions" => on("s3:ListBucketVersions", Bucket),
        "ListMultipartUploads" => on("s3:ListBucketMultipartUploads", Bucket),
        "GetBucketLocation" => on("s3:GetBucketLocation", Bucket),
        "GetBucketPolicy" => on("s3:GetBucketPolicy", Bucket),
        "PutBucketPolicy" => on("s3:PutBucketPolicy", Bucket),
        "DeleteBucketPolicy" => on("s3:DeleteBucketPolicy", Bucket),
        "GetBucketPolicyStatus" => on("s3:GetBucketPolicyStatus", Bucket),
        "GetBucketAcl" => on("s3:GetBucketAcl", Bucket),
        "PutBucketAcl" => on("s3:PutBucketAcl", Bucket),
        "GetBucketVersioning" => on("s3:GetBucketVersioning", Bucket),
        "PutBucketVersioning" => on("s3:PutBucketVersioning", Bucket),
        "GetBucketTagging" => on("s3:GetBucketTagging", Bucket),
        "PutBucketTagging" | "DeleteBucketTagging" => on("s3:PutBucketTagging", Bucket),
        _ => return None,
    })
}

/// Bucket sub-resources whose Delete is a Put of nothing, as AWS names them.
fn bucket_configuration(operation: &str) -> Option<S3Action> {
    use ResourceKind::Bucket;
    Some(match operation {
        "GetBucketCors" => on("s3:GetBucketCORS", Bucket),
        "PutBucketCors" | "DeleteBucketCors" => on("s3:PutBucketCORS", Bucket),
        "GetBucketEncryption" => on("s3:GetEncryptionConfiguration", Bucket),
        "PutBucketEncryption" | "DeleteBucketEncryption" => {
            on("s3:PutEncryptionConfiguration", Bucket)
        }
        "GetBucketLifecycleConfiguration" => on("s3:GetLifecycleConfiguration", Bucket),
        "PutBucketLifecycleConfiguration" | "DeleteBucketLifecycle" => {
            on("s3:PutLifecycleConfiguration", Bucket)
        }
        "GetBucketNotificationConfiguration" => on("s3:GetBucketNotification", Bucket),
        "PutBucketNotificationConfiguration" => on("s3:PutBucketNotification", Bucket),
        "GetBucketReplication" => on("s3:GetReplicationConfiguration", Bucket),
        "PutBucketReplication" | "DeleteBucketReplication" => {
            on("s3:PutReplicationConfiguration", Bucket)
        }
        "GetObjectLockConfiguration" => on("s3:GetBucketObjectLockConfiguration", Bucket),
        "PutObjectLockConfiguration" => on("s3:PutBucketObjectLockConfiguration", Bucket),
        "GetBucketWebsite" => on("s3:GetBucketWebsite", Bucket),
        "PutBucketWebsite" => on("s3:PutBucketWebsite", Bucket),
        "DeleteBucketWebsite" => on("s3:DeleteBucketWebsite", Bucket),
        "GetBucketLogging" => on("s3:GetBucketLogging", Bucket),
        "PutBucketLogging" => on("s3:PutBucketLogging", Bucket),
        "GetBucketRequestPayment" => on("s3:GetBucketRequestPayment", Bucket),
        "PutBucketRequestPayment" => on("s3:PutBucketRequestPayment", Bucket),
        "GetBucketAccelerateConfiguration" => on("s3:GetAccelerateConfiguration", Bucket),
        "PutBucketAccelerateConfiguration" => on("s3:PutAccelerateConfiguration", Bucket),
        "GetBucketOwnershipControls" => on("s3:GetBucketOwnershipControls", Bucket),
        "PutBucketOwnershipControls" | "DeleteBucketOwnershipControls" => {
            on("s3:PutBucketOwnershipControls", Bucket)
        }
        "GetPublicAccessBlock" => on("s3:GetBucketPublicAccessBlock", Bucket),
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => {
            on("s3:PutBucketPublicAccessBlock", Bucket)
        }
        "GetBucketAnalyticsConfiguration" | "ListBucketAnalyticsConfigurations" => {
            on("s3:GetAnalyticsConfiguration", Bucket)
        }
        "PutBucketAnalyticsConfiguration" | "DeleteBucketAnalyticsConfiguration" => {
            on("s3:PutAnalyticsConfiguration", Bucket)
        }
        "GetBucketInventoryConfiguration" | "ListBucketInventoryConfigurations" => {
            on("s3:GetInventoryConfiguration", Bucket)
        }
        "PutBucketInventoryConfiguration" | "DeleteBucketInventoryConfiguration" => {
            on("s3:PutInventoryConfiguration", Bucket)
        }
        "GetBucketMetricsConfiguration" | "ListBucketMetricsConfigurations" => {
            on("s3:GetMetricsConfiguration", Bucket)
        }
        "PutBucketMetricsConfiguration" | "DeleteBucketMetricsConfiguration" => {
            on("s3:PutMetricsConfiguration", Bucket)
        }
        "GetBucketIntelligentTieringConfiguration"
        | "ListBucketIntelligentTieringConfigurations" => {
            on("s3:GetIntelligentTieringConfiguration", Bucket)
        }
        "PutBucketIntelligentTieringConfiguration"
        | "DeleteBucketIntelligentTieringConfiguration" => {
            on("s3:PutIntelligentTieringConfiguration", Bucket)
        }
        "CreateBucketMetadataTableConfiguration" => {
            on("s3:CreateBucketMetadataTableConfiguration", Bucket)
        }
        "GetBucketMetadataTableConfiguration" => {
            on("s3:GetBucketMetadataTableConfiguration", Bucket)
        }
        "DeleteBucketMetadataTableConfiguration" => {
            on("s3:DeleteBucketMetadataTableConfiguration", Bucket)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceKind::{AllBuckets, Bucket, EachObject, Object};

    #[test]
    fn operations_map_to_aws_actions() {
        let cases: &[(&str, &str, ResourceKind)] = &[
            ("GetObject", "s3:GetObject", Object),
            ("HeadObject", "s3:GetObject", Object),
            ("SelectObjectContent", "s3:GetObject", Object),
            ("PutObject", "s3:PutObject", Object),
            ("PostObject", "s3:PutObject", Object),
            ("CopyObject", "s3:PutObject", Object),
            ("CreateMultipartUpload", "s3:PutObject", Object),
            ("UploadPart", "s3:PutObject", Object),
            ("UploadPartCopy", "s3:PutObject", Object),
            ("CompleteMultipartUpload", "s3:PutObject", Object),
            ("AbortMultipartUpload", "s3:AbortMultipartUpload", Object),
            ("ListParts", "s3:ListMultipartUploadParts", Object),
            ("DeleteObject", "s3:DeleteObject", Object),
            ("DeleteObjects", "s3:DeleteObject", EachObject),
            ("PutObjectTagging", "s3:PutObjectTagging", Object),
            ("GetObjectAttributes", "s3:GetObjectAttributes", Object),
            ("ListBuckets", "s3:ListAllMyBuckets", AllBuckets),
            ("HeadBucket", "s3:ListBucket", Bucket),
            ("ListObjects", "s3:ListBucket", Bucket),
            ("ListObjectsV2", "s3:ListBucket", Bucket),
            ("ListObjectVersions", "s3:ListBucketVersions", Bucket),
            (
                "ListMultipartUploads",
                "s3:ListBucketMultipartUploads",
                Bucket,
            ),
            ("GetBucketLocation", "s3:GetBucketLocation", Bucket),
            ("CreateBucket", "s3:CreateBucket", Bucket),
            ("DeleteBucket", "s3:DeleteBucket", Bucket),
            ("DeleteBucketTagging", "s3:PutBucketTagging", Bucket),
            ("GetBucketCors", "s3:GetBucketCORS", Bucket),
            ("DeleteBucketCors", "s3:PutBucketCORS", Bucket),
            (
                "DeleteBucketLifecycle",
                "s3:PutLifecycleConfiguration",
                Bucket,
            ),
            (
                "GetBucketEncryption",
                "s3:GetEncryptionConfiguration",
                Bucket,
            ),
            (
                "GetObjectLockConfiguration",
                "s3:GetBucketObjectLockConfiguration",
                Bucket,
            ),
            (
                "GetBucketNotificationConfiguration",
                "s3:GetBucketNotification",
                Bucket,
            ),
            ("DeleteBucketPolicy", "s3:DeleteBucketPolicy", Bucket),
            ("PutBucketVersioning", "s3:PutBucketVersioning", Bucket),
        ];
        for (op, action, resource) in cases {
            let got = s3_operation(op).unwrap_or_else(|| panic!("{op} is mapped"));
            assert_eq!(got.target.action, *action, "{op}");
            assert_eq!(got.target.resource, *resource, "{op}");
        }
    }

    #[test]
    fn versions_have_their_own_actions() {
        let cases: &[(&str, Option<&str>)] = &[
            ("GetObject", Some("s3:GetObjectVersion")),
            ("HeadObject", Some("s3:GetObjectVersion")),
            ("DeleteObject", Some("s3:DeleteObjectVersion")),
            ("DeleteObjects", Some("s3:DeleteObjectVersion")),
            ("GetObjectTagging", Some("s3:GetObjectVersionTagging")),
            ("PutObjectTagging", Some("s3:PutObjectVersionTagging")),
            ("DeleteObjectTagging", Some("s3:DeleteObjectVersionTagging")),
            ("GetObjectAttributes", Some("s3:GetObjectVersionAttributes")),
            ("GetObjectAcl", Some("s3:GetObjectVersionAcl")),
            ("PutObject", None),
            ("ListObjectsV2", None),
            ("GetBucketLocation", None),
        ];
        for (op, want) in cases {
            let got = s3_operation(op).unwrap_or_else(|| panic!("{op} is mapped"));
            assert_eq!(got.target.version_action, *want, "{op}");
        }
        let get = s3_operation("GetObject").expect("mapped").target;
        assert_eq!(get.action_for(false), "s3:GetObject");
        assert_eq!(get.action_for(true), "s3:GetObjectVersion");
        let put = s3_operation("PutObject").expect("mapped").target;
        assert_eq!(put.action_for(true), "s3:PutObject");
    }

    #[test]
    fn copies_also_read_their_source() {
        for op in ["CopyObject", "UploadPartCopy"] {
            let source = s3_operation(op).and_then(|a| a.copy_source).expect(op);
            assert_eq!(source.action_for(false), "s3:GetObject");
            assert_eq!(source.action_for(true), "s3:GetObjectVersion");
            assert_eq!(source.resource, Object);
        }
        for op in ["PutObject", "GetObject", "UploadPart"] {
            assert_eq!(s3_operation(op).and_then(|a| a.copy_source), None, "{op}");
        }
    }

    /// The operations s3s 0.14 names (its `ops/generated.rs`).
    const S3S_OPERATIONS: [&str; 99] = [
        "AbortMultipartUpload",
        "CompleteMultipartUpload",
        "CopyObject",
        "CreateBucket",
        "CreateBucketMetadataTableConfiguration",
        "CreateMultipartUpload",
        "CreateSession",
        "DeleteBucket",
        "DeleteBucketAnalyticsConfiguration",
        "DeleteBucketCors",
        "DeleteBucketEncryption",
        "DeleteBucketIntelligentTieringConfiguration",
        "DeleteBucketInventoryConfiguration",
        "DeleteBucketLifecycle",
        "DeleteBucketMetadataTableConfiguration",
        "DeleteBucketMetricsConfiguration",
        "DeleteBucketOwnershipControls",
        "DeleteBucketPolicy",
        "DeleteBucketReplication",
        "DeleteBucketTagging",
        "DeleteBucketWebsite",
        "DeleteObject",
        "DeleteObjectTagging",
        "DeleteObjects",
        "DeletePublicAccessBlock",
        "GetBucketAccelerateConfiguration",
        "GetBucketAcl",
        "GetBucketAnalyticsConfiguration",
        "GetBucketCors",
        "GetBucketEncryption",
        "GetBucketIntelligentTieringConfiguration",
        "GetBucketInventoryConfiguration",
        "GetBucketLifecycleConfiguration",
        "GetBucketLocation",
        "GetBucketLogging",
        "GetBucketMetadataTableConfiguration",
        "GetBucketMetricsConfiguration",
        "GetBucketNotificationConfiguration",
        "GetBucketOwnershipControls",
        "GetBucketPolicy",
        "GetBucketPolicyStatus",
        "GetBucketReplication",
        "GetBucketRequestPayment",
        "GetBucketTagging",
        "GetBucketVersioning",
        "GetBucketWebsite",
        "GetObject",
        "GetObjectAcl",
        "GetObjectAttributes",
        "GetObjectLegalHold",
        "GetObjectLockConfiguration",
        "GetObjectRetention",
        "GetObjectTagging",
        "GetObjectTorrent",
        "GetPublicAccessBlock",
        "HeadBucket",
        "HeadObject",
        "ListBucketAnalyticsConfigurations",
        "ListBucketIntelligentTieringConfigurations",
        "ListBucketInventoryConfigurations",
        "ListBucketMetricsConfigurations",
        "ListBuckets",
        "ListDirectoryBuckets",
        "ListMultipartUploads",
        "ListObjectVersions",
        "ListObjects",
        "ListObjectsV2",
        "ListParts",
        "PostObject",
        "PutBucketAccelerateConfiguration",
        "PutBucketAcl",
        "PutBucketAnalyticsConfiguration",
        "PutBucketCors",
        "PutBucketEncryption",
        "PutBucketIntelligentTieringConfiguration",
        "PutBucketInventoryConfiguration",
        "PutBucketLifecycleConfiguration",
        "PutBucketLogging",
        "PutBucketMetricsConfiguration",
        "PutBucketNotificationConfiguration",
        "PutBucketOwnershipControls",
        "PutBucketPolicy",
        "PutBucketReplication",
        "PutBucketRequestPayment",
        "PutBucketTagging",
        "PutBucketVersioning",
        "PutBucketWebsite",
        "PutObject",
        "PutObjectAcl",
        "PutObjectLegalHold",
        "PutObjectLockConfiguration",
        "PutObjectRetention",
        "PutObjectTagging",
        "PutPublicAccessBlock",
        "RestoreObject",
        "SelectObjectContent",
        "UploadPart",
        "UploadPartCopy",
        "WriteGetObjectResponse",
    ];

    #[test]
    fn every_s3s_operation_is_mapped_or_refused_on_purpose() {
        // Directory buckets (S3 Express) and Object Lambda are other services' actions.
        let unmapped = [
            "CreateSession",
            "ListDirectoryBuckets",
            "WriteGetObjectResponse",
        ];
        for op in S3S_OPERATIONS {
            let mapped = s3_operation(op);
            assert_eq!(mapped.is_none(), unmapped.contains(&op), "{op}");
            if let Some(m) = mapped {
                assert!(m.target.action.starts_with("s3:"), "{op}");
                let name = &m.target.action[3..];
                assert!(
                    name.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{op}: {name}"
                );
            }
        }
        assert_eq!(s3_operation("getobject"), None, "names are case-sensitive");
        assert_eq!(s3_operation("NoSuchOperation"), None);
    }

    #[test]
    fn resource_arns() {
        assert_eq!(Bucket.arn("b", "k"), "arn:aws:s3:::b");
        assert_eq!(Object.arn("b", "a/k"), "arn:aws:s3:::b/a/k");
        assert_eq!(EachObject.arn("b", "k"), "arn:aws:s3:::b/k");
        assert_eq!(AllBuckets.arn("b", "k"), "arn:aws:s3:::*");
    }
}

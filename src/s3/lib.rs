//! The S3 API on the storage engine. `s3s` parses requests, verifies SigV4 (headers,
//! presigned URLs, aws-chunked and trailer payloads) and writes XML; this module maps each
//! operation onto the engine, one file per operation family (the table at the end). Engine
//! calls block, so they run on tokio's blocking pool; bodies stream through `body.rs` with
//! bounded buffering. Which operation a request is, for metrics and access, comes from s3s's
//! access hook (`gate.rs`).
//!
//! Operations not in the table answer `NotImplemented` (s3s's default).

#[macro_use]
mod macros;

pub mod access;
pub mod acl;
mod attributes;
pub mod authz;
mod body;
mod bucket;
mod checksum;
mod convert;
mod crc_combine;
mod digest;
pub mod edge;
mod errors;
pub mod gate;
mod list;
mod mpu_checksum;
mod multipart;
mod object;
mod part_number;
mod policy;
pub mod post;
pub mod quota;
mod tagging;
mod upload;
mod versions;

use s3s::dto::*;
use s3s::{S3Error, S3Request, S3Response, S3Result, S3};
use std::sync::Arc;
use strata_engine::{Engine, EngineError};

pub use errors::to_s3;

pub struct StrataS3 {
    engine: Arc<Engine>,
    region: String,
    /// The buckets' policies, PublicAccessBlocks and ACLs (the authorizer reads the same).
    access: Arc<access::AccessConfigs>,
    /// Whether a bucket may take more bytes.
    quotas: Arc<dyn quota::Quotas>,
}

impl StrataS3 {
    pub fn new(
        engine: Arc<Engine>,
        region: String,
        access: Arc<access::AccessConfigs>,
        quotas: Arc<dyn quota::Quotas>,
    ) -> StrataS3 {
        StrataS3 {
            engine,
            region,
            access,
            quotas,
        }
    }

    /// Refuses a write of `incoming` bytes to a bucket it would take past its quota.
    fn admit(&self, bucket: &str, incoming: Option<u64>) -> S3Result<()> {
        self.quotas
            .admit(bucket, incoming)
            .map_err(|r| quota::refused(&r))
    }

    /// Runs a blocking engine call on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> Result<T, EngineError> + Send + 'static,
    ) -> S3Result<T> {
        self.blocking(move |e| f(e).map_err(to_s3)).await
    }

    /// Runs blocking work that answers in S3's terms (engine calls and the choices between
    /// them) on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> S3Result<T> + Send + 'static,
    ) -> S3Result<T> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(S3Error::internal_error)?
    }
}

fn owner() -> Owner {
    Owner {
        display_name: Some("strata".into()),
        id: Some("02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4".into()),
    }
}

/// Who started a multipart upload, as ListParts and ListMultipartUploads name it: the owner.
fn initiator() -> Initiator {
    let o = owner();
    Initiator {
        display_name: o.display_name,
        id: o.id,
    }
}

/// How the checksums of a PutObject/UploadPart body are checked: the ones given as headers,
/// or announced for the trailer, or asked for by algorithm.
pub(crate) fn checksum_plan(
    req_headers: &http::HeaderMap,
    given: [(&'static str, Option<String>); 5],
    algorithm: Option<&ChecksumAlgorithm>,
) -> S3Result<checksum::Plan> {
    let sdk_alg = req_headers
        .get("x-amz-sdk-checksum-algorithm")
        .and_then(|v| v.to_str().ok());
    let trailer = req_headers
        .get("x-amz-trailer")
        .and_then(|v| v.to_str().ok());
    checksum::Plan::new(given, algorithm.map(|a| a.as_str()).or(sdk_alg), trailer)
}

/// Implements `S3` as a table: each operation Strata implements and the module of its family
/// that handles it.
macro_rules! operations {
    ($($op:ident($input:ident -> $output:ident) => $($family:ident)::+;)*) => {
        #[async_trait::async_trait]
        impl S3 for StrataS3 {
            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    $($family)::+::$op(self, req).await
                }
            )*
        }
    };
}

operations! {
    list_buckets(ListBucketsInput -> ListBucketsOutput) => bucket;
    create_bucket(CreateBucketInput -> CreateBucketOutput) => bucket;
    head_bucket(HeadBucketInput -> HeadBucketOutput) => bucket;
    delete_bucket(DeleteBucketInput -> DeleteBucketOutput) => bucket;
    get_bucket_location(GetBucketLocationInput -> GetBucketLocationOutput) => bucket;
    get_bucket_versioning(GetBucketVersioningInput -> GetBucketVersioningOutput) => bucket;
    put_object(PutObjectInput -> PutObjectOutput) => object::put;
    get_object(GetObjectInput -> GetObjectOutput) => object::get;
    head_object(HeadObjectInput -> HeadObjectOutput) => object::get;
    get_object_attributes(GetObjectAttributesInput -> GetObjectAttributesOutput) => object::get;
    copy_object(CopyObjectInput -> CopyObjectOutput) => object::copy;
    delete_object(DeleteObjectInput -> DeleteObjectOutput) => object::delete;
    delete_objects(DeleteObjectsInput -> DeleteObjectsOutput) => object::delete;
    list_objects_v2(ListObjectsV2Input -> ListObjectsV2Output) => list;
    list_objects(ListObjectsInput -> ListObjectsOutput) => list;
    list_object_versions(ListObjectVersionsInput -> ListObjectVersionsOutput) => list;
    create_multipart_upload(CreateMultipartUploadInput -> CreateMultipartUploadOutput) => multipart;
    upload_part(UploadPartInput -> UploadPartOutput) => multipart;
    upload_part_copy(UploadPartCopyInput -> UploadPartCopyOutput) => multipart;
    complete_multipart_upload(CompleteMultipartUploadInput -> CompleteMultipartUploadOutput) => multipart;
    abort_multipart_upload(AbortMultipartUploadInput -> AbortMultipartUploadOutput) => multipart;
    list_parts(ListPartsInput -> ListPartsOutput) => multipart;
    list_multipart_uploads(ListMultipartUploadsInput -> ListMultipartUploadsOutput) => multipart;
    get_object_tagging(GetObjectTaggingInput -> GetObjectTaggingOutput) => tagging;
    put_object_tagging(PutObjectTaggingInput -> PutObjectTaggingOutput) => tagging;
    delete_object_tagging(DeleteObjectTaggingInput -> DeleteObjectTaggingOutput) => tagging;
    put_bucket_policy(PutBucketPolicyInput -> PutBucketPolicyOutput) => policy;
    get_bucket_policy(GetBucketPolicyInput -> GetBucketPolicyOutput) => policy;
    delete_bucket_policy(DeleteBucketPolicyInput -> DeleteBucketPolicyOutput) => policy;
    get_bucket_policy_status(GetBucketPolicyStatusInput -> GetBucketPolicyStatusOutput) => policy;
    put_public_access_block(PutPublicAccessBlockInput -> PutPublicAccessBlockOutput) => policy;
    get_public_access_block(GetPublicAccessBlockInput -> GetPublicAccessBlockOutput) => policy;
    delete_public_access_block(DeletePublicAccessBlockInput -> DeletePublicAccessBlockOutput) => policy;
    get_bucket_acl(GetBucketAclInput -> GetBucketAclOutput) => acl;
    put_bucket_acl(PutBucketAclInput -> PutBucketAclOutput) => acl;
    get_object_acl(GetObjectAclInput -> GetObjectAclOutput) => acl;
    put_object_acl(PutObjectAclInput -> PutObjectAclOutput) => acl;
}

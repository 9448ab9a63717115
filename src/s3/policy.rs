//! Bucket policies and PublicAccessBlock: Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus,
//! Put/Get/DeletePublicAccessBlock. What they store is in `crate::access`; what they mean is
//! evaluated by the authorizer the access gate asks (`crate::authz`).

use super::access::PublicAccessBlock;
use super::to_s3;
use super::StrataS3;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use strata_engine::EngineError;

/// The bucket must exist (its configuration is not kept for a missing one).
pub(crate) async fn require_bucket(s3: &StrataS3, bucket: &str) -> S3Result<()> {
    let b = bucket.to_string();
    if s3.run(move |e| e.bucket_exists(&b)).await? {
        Ok(())
    } else {
        Err(to_s3(EngineError::NoSuchBucket(bucket.to_string())))
    }
}

fn no_policy(bucket: &str) -> S3Error {
    s3_error!(
        NoSuchBucketPolicy,
        "The bucket policy does not exist: {bucket}"
    )
}

pub async fn put_bucket_policy(
    s3: &StrataS3,
    req: S3Request<PutBucketPolicyInput>,
) -> S3Result<S3Response<PutBucketPolicyOutput>> {
    let bucket = req.input.bucket;
    require_bucket(s3, &bucket).await?;
    let policy = strata_iam::Policy::parse_bucket(&req.input.policy, &bucket)
        .map_err(|e| s3_error!(MalformedPolicy, "{e}"))?;
    let blocked = s3
        .access
        .get(&bucket)
        .block
        .is_some_and(|b| b.block_public_policy);
    if blocked && policy.is_public() {
        return Err(s3_error!(
            AccessDenied,
            "The bucket's PublicAccessBlock (BlockPublicPolicy) refuses a public policy"
        ));
    }
    let access = s3.access.clone();
    s3.run(move |e| access.set_policy(e, &bucket, Some(policy)))
        .await?;
    Ok(no_content(PutBucketPolicyOutput::default()))
}

pub async fn get_bucket_policy(
    s3: &StrataS3,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    let bucket = req.input.bucket;
    require_bucket(s3, &bucket).await?;
    let policy = s3
        .access
        .get(&bucket)
        .policy
        .ok_or_else(|| no_policy(&bucket))?;
    Ok(S3Response::new(GetBucketPolicyOutput {
        policy: Some(policy.to_json()),
    }))
}

pub async fn delete_bucket_policy(
    s3: &StrataS3,
    req: S3Request<DeleteBucketPolicyInput>,
) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
    let bucket = req.input.bucket;
    require_bucket(s3, &bucket).await?;
    let access = s3.access.clone();
    s3.run(move |e| access.set_policy(e, &bucket, None)).await?;
    Ok(no_content(DeleteBucketPolicyOutput::default()))
}

pub async fn get_bucket_policy_status(
    s3: &StrataS3,
    req: S3Request<GetBucketPolicyStatusInput>,
) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
    let bucket = req.input.bucket;
    require_bucket(s3, &bucket).await?;
    let policy = s3
        .access
        .get(&bucket)
        .policy
        .ok_or_else(|| no_policy(&bucket))?;
    Ok(S3Response::new(GetBucketPolicyStatusOutput {
        policy_status: Some(PolicyStatus {
            is_public: Some(policy.is_public()),
        }),
    }))
}

pub async fn put_public_access_block(
    s3: &StrataS3,
    req: S3Request<PutPublicAccessBlockInput>,
) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
    let bucket = req.input.bucket;
    require_bucket(s3, &bucket).await?;
    let c = req.input.public_access_block_configuration;
    let block = PublicAccessBlock {
        block_public_acls: c.block_public_acls.unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
        block_public_policy: c.block_public_policy.unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
    };
    let access = s3.access.clone();
    s3.run(move |e| access.set_block(e, &bucket, Some(block)))
        .await?;
    Ok(S3Response::new(PutPublicAccessBlockOutput::default()))
}

pub async fn get_public_access_block(
    s3: &StrataS3,
    req: S3Request<GetPublicAccessBlockInput>,
) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
    let bucket = req.input.bucket;
    require_bucket(s3, &bucket).await?;
    let Some(b) = s3.access.get(&bucket).block else {
        let mut e = S3Error::with_message(
            S3ErrorCode::Custom("NoSuchPublicAccessBlockConfiguration".into()),
            format!("The public access block configuration was not found: {bucket}"),
        );
        e.set_status_code(http::StatusCode::NOT_FOUND);
        return Err(e);
    };
    Ok(S3Response::new(GetPublicAccessBlockOutput {
        public_access_block_configuration: Some(PublicAccessBlockConfiguration {
            block_public_acls: Some(b.block_public_acls),
            ignore_public_acls: Some(b.ignore_public_acls),
            block_public_policy: Some(b.block_public_policy),
            restrict_public_buckets: Some(b.restrict_public_buckets),
        }),
    }))
}

pub async fn delete_public_access_block(
    s3: &StrataS3,
    req: S3Request<DeletePublicAccessBlockInput>,
) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
    let bucket = req.input.bucket;
    require_bucket(s3, &bucket).await?;
    let access = s3.access.clone();
    s3.run(move |e| access.set_block(e, &bucket, None)).await?;
    Ok(no_content(DeletePublicAccessBlockOutput::default()))
}

/// S3 answers these deletions and PutBucketPolicy with 204 No Content.
fn no_content<T>(out: T) -> S3Response<T> {
    let mut r = S3Response::new(out);
    r.status = Some(http::StatusCode::NO_CONTENT);
    r
}

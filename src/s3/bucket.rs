//! Bucket operations: list, create, head, delete, location, versioning state.

use super::acl;
use super::convert::*;
use super::StrataS3;
use super::{owner, to_s3};
use crate::authz::{Grant, Refusal};
use crate::gate::refused;
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};
use strata_engine::BucketInfo;
use strata_engine::EngineError;
use strata_iam::ResourceKind;

pub async fn list_buckets(
    s3: &StrataS3,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let input = req.input;
    let page = BucketPage::new(&input, &s3.region)?;
    let all = s3.run(|e| e.list_buckets()).await?;
    let all = visible(req.extensions.get::<Grant>(), all)?;
    let (shown, next) = page.select(all);
    let buckets = shown
        .into_iter()
        .map(|b| Bucket {
            name: Some(b.name),
            creation_date: Some(timestamp(b.created_ns)),
            // S3 names the region once any of the paging parameters is given.
            bucket_region: page.paged.then(|| s3.region.clone()),
        })
        .collect();
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        owner: Some(owner()),
        prefix: input.prefix,
        continuation_token: next.as_deref().map(encode_token),
    }))
}

/// The buckets a requester sees: all with `s3:ListAllMyBuckets`; otherwise (as MinIO does)
/// those it may list or locate, and AccessDenied when that leaves none. Without the access
/// gate's grant, none (fail closed).
fn visible(grant: Option<&Grant>, all: Vec<BucketInfo>) -> S3Result<Vec<BucketInfo>> {
    let grant = grant.ok_or_else(|| refused(Refusal::AccessDenied))?;
    match grant.require("s3:ListAllMyBuckets", ResourceKind::AllBuckets, None, None) {
        Ok(()) => return Ok(all),
        Err(Refusal::AccessDenied) => {}
        Err(other) => return Err(refused(other)),
    }
    let root = grant.as_root_listing();
    let may = |b: &BucketInfo, action| {
        root.require(action, ResourceKind::Bucket, Some(&b.name), None)
            .is_ok()
    };
    let shown: Vec<BucketInfo> = all
        .into_iter()
        .filter(|b| may(b, "s3:ListBucket") || may(b, "s3:GetBucketLocation"))
        .collect();
    if shown.is_empty() {
        return Err(refused(Refusal::AccessDenied));
    }
    Ok(shown)
}

pub async fn create_bucket(
    s3: &StrataS3,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let bucket = req.input.bucket.clone();
    let asked = req
        .input
        .create_bucket_configuration
        .clone()
        .and_then(|c| c.location_constraint)
        .map(|l| l.as_str().to_string());
    if let Some(asked) = asked.filter(|l| !l.is_empty() && *l != s3.region) {
        return Err(s3_error!(
            InvalidLocationConstraint,
            "The specified location-constraint is not valid: this server is in {}, not {asked}",
            s3.region
        ));
    }
    let canned = acl::for_new_bucket(&req.extensions, &bucket, req.input.acl.as_ref())?;
    let location = format!("/{bucket}");
    let access = s3.access.clone();
    s3.run(move |e| access.create_bucket(e, &bucket, canned))
        .await?;
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(location),
    }))
}

pub async fn head_bucket(
    s3: &StrataS3,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    let bucket = req.input.bucket;
    let name = bucket.clone();
    if !s3.run(move |e| e.bucket_exists(&bucket)).await? {
        return Err(to_s3(EngineError::NoSuchBucket(name)));
    }
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(s3.region.clone()),
        ..Default::default()
    }))
}

pub async fn delete_bucket(
    s3: &StrataS3,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    let bucket = req.input.bucket;
    let access = s3.access.clone();
    s3.run(move |e| access.delete_bucket(e, &bucket)).await?;
    Ok(S3Response::new(DeleteBucketOutput::default()))
}

pub async fn get_bucket_location(
    s3: &StrataS3,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    let bucket = req.input.bucket;
    let name = bucket.clone();
    if !s3.run(move |e| e.bucket_exists(&bucket)).await? {
        return Err(to_s3(EngineError::NoSuchBucket(name)));
    }
    // us-east-1 is reported as an empty location, as S3 does.
    let location =
        (s3.region != "us-east-1").then(|| BucketLocationConstraint::from(s3.region.clone()));
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint: location,
    }))
}

pub async fn get_bucket_versioning(
    s3: &StrataS3,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let bucket = req.input.bucket;
    let name = bucket.clone();
    if !s3.run(move |e| e.bucket_exists(&bucket)).await? {
        return Err(to_s3(EngineError::NoSuchBucket(name)));
    }
    // Never enabled: the empty configuration S3 answers for such a bucket.
    Ok(S3Response::new(GetBucketVersioningOutput::default()))
}

/// The page of buckets ListBuckets asks for (`max-buckets`, `continuation-token`, `prefix`,
/// `bucket-region`).
struct BucketPage {
    /// Any paging parameter given (S3 then answers each bucket's region).
    paged: bool,
    max: usize,
    after: Option<String>,
    prefix: String,
    /// `bucket-region` names another region than this server's: no bucket is there.
    elsewhere: bool,
}

/// S3's page size when paging parameters come without `max-buckets`, and its largest.
const MAX_BUCKETS: usize = 10_000;

impl BucketPage {
    fn new(input: &ListBucketsInput, region: &str) -> S3Result<BucketPage> {
        let max = match input.max_buckets {
            None => MAX_BUCKETS,
            Some(m) if (1..=MAX_BUCKETS as i32).contains(&m) => m as usize,
            Some(_) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "max-buckets must be an integer between 1 and {MAX_BUCKETS}"
                ))
            }
        };
        Ok(BucketPage {
            paged: input.max_buckets.is_some()
                || input.continuation_token.is_some()
                || input.prefix.is_some()
                || input.bucket_region.is_some(),
            max,
            after: input
                .continuation_token
                .as_deref()
                .map(decode_token)
                .transpose()?,
            prefix: input.prefix.clone().unwrap_or_default(),
            elsewhere: input.bucket_region.as_ref().is_some_and(|r| r != region),
        })
    }

    /// The buckets of this page (by name, as listed) and, when more follow, the last one.
    fn select(
        &self,
        all: Vec<strata_engine::BucketInfo>,
    ) -> (Vec<strata_engine::BucketInfo>, Option<String>) {
        if self.elsewhere {
            return (Vec::new(), None);
        }
        let mut matching = all.into_iter().filter(|b| {
            b.name.starts_with(&self.prefix) && self.after.as_ref().is_none_or(|a| b.name > *a)
        });
        let shown: Vec<_> = matching.by_ref().take(self.max).collect();
        let more = matching.next().is_some();
        let next = more.then(|| shown.last().map(|b| b.name.clone())).flatten();
        (shown, next)
    }
}

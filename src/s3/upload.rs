//! Object and part uploads: the body read from the network block by block (`body.rs`) into the
//! engine. A body that fits in one block is read whole and stored by one engine call; a larger
//! one starts an engine upload (which checks the bucket, the key and, for a part, the
//! multipart upload before more of the body is read), is streamed into it a block at a time and
//! is committed once the body and its checksums are complete.

use super::body::{hash, stream_into, BodyReader};
use super::checksum::Plan;
use super::StrataS3;
use s3s::{s3_error, S3Result};
use std::collections::BTreeMap;
use strata_engine::{ObjectInfo, PartInfo, PutOptions};

/// The largest object a single PUT may store (MinIO's limit; S3's is 5 GiB).
pub const MAX_OBJECT_SIZE: u64 = 5 << 40;
/// The largest part (S3's and MinIO's limit).
pub const MAX_PART_SIZE: u64 = 5 << 30;

/// Refuses a body declared larger than `max` before any of it is read.
fn within(body: &BodyReader, max: u64) -> S3Result<()> {
    match body.expected() {
        Some(n) if n > max => Err(s3_error!(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed size: {n} bytes, at most {max}"
        )),
        _ => Ok(()),
    }
}

/// Where an UploadPart goes.
pub struct PartTarget {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub part: u32,
    pub content_md5: Option<[u8; 16]>,
}

/// The check run once the whole body is in: the checksums the client asked for, against its
/// headers and trailers.
fn body_check(
    body: &BodyReader,
    plan: Plan,
    trailers: Option<s3s::TrailingHeaders>,
) -> impl FnMut() -> Result<BTreeMap<String, String>, strata_engine::EngineError> + Send + 'static {
    let hasher = body.hasher.clone();
    move || plan.verify(&hasher, trailers.as_ref().and_then(|t| t.take()).as_ref())
}

impl StrataS3 {
    pub(super) async fn upload_object(
        &self,
        bucket: String,
        key: String,
        opts: PutOptions,
        mut body: BodyReader,
        plan: Plan,
        trailers: Option<s3s::TrailingHeaders>,
    ) -> S3Result<ObjectInfo> {
        within(&body, MAX_OBJECT_SIZE)?;
        self.admit(&bucket, body.expected())?;
        let size = self.engine.block_size();
        let first = body.next_block(size).await?;
        let hasher = body.hasher.clone();
        let mut check = body_check(&body, plan, trailers);
        if first.len() < size {
            return self
                .run(move |e| {
                    hash(&hasher, &first);
                    e.put_object_checked(&bucket, &key, &mut &first[..], &opts, &mut check)
                })
                .await;
        }
        let upload = self.run(move |e| e.begin_put(&bucket, &key, opts)).await?;
        let (upload, tail) = stream_into(upload, first, &mut body).await?;
        self.run(move |e| {
            hash(&hasher, &tail);
            e.finish_put(upload, &tail, &mut check)
        })
        .await
    }

    pub(super) async fn upload_part(
        &self,
        t: PartTarget,
        mut body: BodyReader,
        plan: Plan,
        trailers: Option<s3s::TrailingHeaders>,
    ) -> S3Result<PartInfo> {
        within(&body, MAX_PART_SIZE)?;
        self.admit(&t.bucket, body.expected())?;
        let size = self.engine.block_size();
        let first = body.next_block(size).await?;
        let hasher = body.hasher.clone();
        let mut check = body_check(&body, plan, trailers);
        let md5 = t.content_md5;
        if first.len() < size {
            return self
                .run(move |e| {
                    hash(&hasher, &first);
                    let body = &mut &first[..];
                    e.put_part_checked(
                        &t.bucket,
                        &t.key,
                        &t.upload_id,
                        t.part,
                        body,
                        md5,
                        &mut check,
                    )
                })
                .await;
        }
        let upload = self
            .run(move |e| e.begin_part(&t.bucket, &t.key, &t.upload_id, t.part))
            .await?;
        let (upload, tail) = stream_into(upload, first, &mut body).await?;
        self.run(move |e| {
            hash(&hasher, &tail);
            e.finish_part(upload, &tail, md5, &mut check)
        })
        .await
    }
}

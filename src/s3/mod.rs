//! The S3 API on the storage engine. `s3s` parses requests, verifies SigV4 (headers,
//! presigned URLs, aws-chunked and trailer payloads) and writes XML; this module maps each
//! operation onto the engine. Engine calls block, so they run on tokio's blocking pool;
//! bodies stream through `body.rs` with bounded buffering.
//!
//! Operations not implemented here answer `NotImplemented` (s3s's default).

mod attributes;
mod body;
mod checksum;
mod convert;
mod crc_combine;
pub mod edge;
mod errors;
pub mod gate;
mod mpu_checksum;
mod part_number;
pub mod post;
mod upload;
mod versions;

use crate::engine::{Engine, EngineError, ListQuery, ObjectInfo, PutOptions};
use body::{stream_object, BodyReader};
use convert::*;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result, S3};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use errors::to_s3;

pub struct StrataS3 {
    engine: Arc<Engine>,
    region: String,
}

impl StrataS3 {
    pub fn new(engine: Arc<Engine>, region: String) -> StrataS3 {
        StrataS3 { engine, region }
    }

    /// Runs a blocking engine call on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> Result<T, EngineError> + Send + 'static,
    ) -> S3Result<T> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(S3Error::internal_error)?
            .map_err(to_s3)
    }
}

/// One page of a listing, rendered for either ListObjects version.
struct Listing {
    contents: Vec<Object>,
    prefixes: Vec<CommonPrefix>,
    truncated: bool,
    /// Where the next page starts, when truncated.
    next_after: Option<String>,
    max_keys: usize,
    url: bool,
}

impl Listing {
    /// `encoding-type=url` applies to every key and prefix in the answer.
    fn enc(&self, s: &str) -> String {
        if self.url {
            url_encode(s)
        } else {
            s.to_string()
        }
    }
}

impl StrataS3 {
    #[allow(clippy::too_many_arguments)] // the parameters both ListObjects versions share
    async fn listing(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        delimiter: Option<&str>,
        after: Option<String>,
        max: Option<i32>,
        encoding: Option<&EncodingType>,
        with_owner: bool,
    ) -> S3Result<Listing> {
        let max_keys = max_keys(max)?;
        let q = ListQuery {
            prefix: prefix.unwrap_or_default().to_string(),
            delimiter: delimiter.filter(|d| !d.is_empty()).map(str::to_string),
            after,
            max_keys,
        };
        let b = bucket.to_string();
        let page = self.run(move |e| e.list_objects(&b, &q)).await?;
        let mut l = Listing {
            contents: Vec::new(),
            prefixes: Vec::new(),
            truncated: page.truncated,
            next_after: page.truncated.then_some(page.next_after).flatten(),
            max_keys,
            url: encoding.is_some_and(|t| t.as_str() == EncodingType::URL),
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
}

fn owner() -> Owner {
    Owner {
        display_name: Some("strata".into()),
        id: Some("02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4".into()),
    }
}

/// The standard headers of a PutObject/CopyObject/CreateMultipartUpload input.
macro_rules! std_headers {
    ($input:expr) => {
        StdHeaders {
            content_encoding: $input.content_encoding,
            content_disposition: $input.content_disposition,
            content_language: $input.content_language,
            cache_control: $input.cache_control,
            expires: $input.expires,
            website_redirect_location: $input.website_redirect_location,
        }
    };
}

/// The checksum headers of a PutObject/UploadPart input, by algorithm.
macro_rules! given_checksums {
    ($input:expr) => {
        [
            ("crc32", $input.checksum_crc32.clone()),
            ("crc32c", $input.checksum_crc32c.clone()),
            ("sha1", $input.checksum_sha1.clone()),
            ("sha256", $input.checksum_sha256.clone()),
            ("crc64nvme", $input.checksum_crc64nvme.clone()),
        ]
    };
}

/// Fills the object headers shared by GetObject and HeadObject outputs.
macro_rules! object_headers {
    ($out:expr, $info:expr) => {{
        let info: &ObjectInfo = $info;
        $out.e_tag = Some(etag(&info.etag));
        $out.last_modified = Some(timestamp(info.mod_time_ns));
        // S3's default for objects stored without one.
        $out.content_type = Some(
            info.content_type
                .clone()
                .unwrap_or_else(|| "binary/octet-stream".into()),
        );
        $out.content_encoding = std_header(info, CONTENT_ENCODING);
        $out.content_disposition = std_header(info, CONTENT_DISPOSITION);
        $out.content_language = std_header(info, CONTENT_LANGUAGE);
        $out.cache_control = std_header(info, CACHE_CONTROL);
        $out.expires = std_header(info, EXPIRES).and_then(|e| parse_http_date(&e));
        $out.website_redirect_location = std_header(info, REDIRECT);
        $out.metadata = user_metadata(info);
        $out.accept_ranges = Some("bytes".into());
        if info.reduced_redundancy {
            $out.storage_class = Some(StorageClass::from_static(StorageClass::REDUCED_REDUNDANCY));
        }
    }};
}

/// Applies `response-*` query overrides to a GetObject/HeadObject output.
macro_rules! response_overrides {
    ($out:expr, $input:expr) => {{
        if let Some(v) = $input.response_content_type.take() {
            $out.content_type = Some(v);
        }
        if let Some(v) = $input.response_content_encoding.take() {
            $out.content_encoding = Some(v);
        }
        if let Some(v) = $input.response_content_disposition.take() {
            $out.content_disposition = Some(v);
        }
        if let Some(v) = $input.response_content_language.take() {
            $out.content_language = Some(v);
        }
        if let Some(v) = $input.response_cache_control.take() {
            $out.cache_control = Some(v);
        }
        if let Some(v) = $input.response_expires.take() {
            $out.expires = Some(v);
        }
    }};
}

/// Stored checksums and their type (COMPOSITE or FULL_OBJECT) into an output.
macro_rules! checksum_fields_typed {
    ($out:expr, $stored:expr) => {{
        let stored: &BTreeMap<String, String> = $stored;
        checksum_fields!($out, stored);
        $out.checksum_type = mpu_checksum::checksum_type(stored);
    }};
}

/// Stored checksums into an output's checksum fields, when the client asked for them.
macro_rules! checksum_fields {
    ($out:expr, $stored:expr) => {{
        let [crc32, crc32c, sha1, sha256, crc64nvme] = checksum::fields($stored);
        $out.checksum_crc32 = crc32;
        $out.checksum_crc32c = crc32c;
        $out.checksum_sha1 = sha1;
        $out.checksum_sha256 = sha256;
        $out.checksum_crc64nvme = crc64nvme;
    }};
}

fn checksum_plan(
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

#[async_trait::async_trait]
impl S3 for StrataS3 {
    // ---- buckets ----

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let input = req.input;
        let page = BucketPage::new(&input, &self.region)?;
        let all = self.run(|e| e.list_buckets()).await?;
        let (shown, next) = page.select(all);
        let buckets = shown
            .into_iter()
            .map(|b| Bucket {
                name: Some(b.name),
                creation_date: Some(timestamp(b.created_ns)),
                // S3 names the region once any of the paging parameters is given.
                bucket_region: page.paged.then(|| self.region.clone()),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(owner()),
            prefix: input.prefix,
            continuation_token: next.as_deref().map(encode_token),
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        let asked = req
            .input
            .create_bucket_configuration
            .and_then(|c| c.location_constraint)
            .map(|l| l.as_str().to_string());
        if let Some(asked) = asked.filter(|l| !l.is_empty() && *l != self.region) {
            return Err(s3_error!(
                InvalidLocationConstraint,
                "The specified location-constraint is not valid: this server is in {}, not {asked}",
                self.region
            ));
        }
        let location = format!("/{bucket}");
        self.run(move |e| e.make_bucket(&bucket)).await?;
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(location),
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        let bucket = req.input.bucket;
        let name = bucket.clone();
        if !self.run(move |e| e.bucket_exists(&bucket)).await? {
            return Err(to_s3(EngineError::NoSuchBucket(name)));
        }
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.region.clone()),
            ..Default::default()
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket;
        self.run(move |e| e.delete_bucket(&bucket)).await?;
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        let bucket = req.input.bucket;
        let name = bucket.clone();
        if !self.run(move |e| e.bucket_exists(&bucket)).await? {
            return Err(to_s3(EngineError::NoSuchBucket(name)));
        }
        // us-east-1 is reported as an empty location, as S3 does.
        let location = (self.region != "us-east-1")
            .then(|| BucketLocationConstraint::from(self.region.clone()));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: location,
        }))
    }

    // ---- objects ----

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let mut input = req.input;
        // A browser POST (s3s's default post_object calls this): the checksum fields the front
        // took out of the form (see `post`).
        if let Some(form) = req.extensions.get::<post::PostForm>() {
            form.apply(&mut input);
        }
        input.content_encoding = stored_content_encoding(input.content_encoding.take());
        let reduced = reduced_redundancy(input.storage_class.as_ref().map(|s| s.as_str()))?;
        let plan = checksum_plan(
            &req.headers,
            given_checksums!(input),
            input.checksum_algorithm.as_ref(),
        )?;
        let mut opts = put_options(
            input.content_type.clone(),
            meta_map(input.metadata, std_headers!(input))?,
            parse_tagging_header(input.tagging.as_deref())?,
            content_md5(input.content_md5.as_deref())?,
            reduced,
        );
        let (bucket, key) = (input.bucket, input.key);
        // Checked by the engine under the key's lock, atomically with the write.
        opts.conditions = crate::engine::Conditions {
            if_match: etag_condition(input.if_match.as_ref()),
            if_none_match: etag_condition(input.if_none_match.as_ref()),
            ..Default::default()
        };
        let body = BodyReader::new(
            input.body,
            plan.hasher(),
            declared_length(&req.headers, input.content_length),
        );
        let info = self
            .upload_object(bucket, key, opts, body, plan, req.trailing_headers)
            .await?;
        let mut out = PutObjectOutput {
            e_tag: Some(etag(&info.etag)),
            size: Some(info.size as i64),
            ..Default::default()
        };
        checksum_fields_typed!(out, &info.checksums);
        Ok(S3Response::new(out))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let mut input = req.input;
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let mut reader = self.run(move |e| e.get_object(&bucket, &key, None)).await?;
        let info = reader.info().clone();
        Conditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        }
        .check(&info, true)?;
        let part = input
            .part_number
            .map(|n| part_number::select(&info, n, input.range.is_some()))
            .transpose()?
            .flatten();
        let mut out = GetObjectOutput::default();
        object_headers!(out, &info);
        if let Some(p) = &part {
            reader.restrict(p.start, p.len).map_err(to_s3)?;
            out.content_range = Some(p.content_range(info.size));
            out.content_length = Some(p.len as i64);
        } else if let Some(range) = &input.range {
            let r = range.check(info.size)?;
            reader.restrict(r.start, r.end - r.start).map_err(to_s3)?;
            out.content_range = Some(format!("bytes {}-{}/{}", r.start, r.end - 1, info.size));
            out.content_length = Some((r.end - r.start) as i64);
        } else {
            out.content_length = Some(info.size as i64);
        }
        if input.part_number.is_some() {
            out.parts_count = part_number::parts_count(&info);
        }
        if input.checksum_mode.is_some() && input.range.is_none() {
            checksum_fields!(out, read_checksums(&info, part.as_ref()));
            out.checksum_type = mpu_checksum::checksum_type(&info.checksums);
        }
        response_overrides!(out, input);
        out.tag_count = (!info.tags.is_empty()).then_some(info.tags.len() as i32);
        out.body = Some(stream_object(reader));
        Ok(S3Response::new(out))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let mut input = req.input;
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let info = self.run(move |e| e.head_object(&bucket, &key)).await?;
        Conditions {
            if_match: input.if_match.as_ref(),
            if_none_match: input.if_none_match.as_ref(),
            if_modified_since: input.if_modified_since.as_ref(),
            if_unmodified_since: input.if_unmodified_since.as_ref(),
        }
        .check(&info, true)?;
        let part = input
            .part_number
            .map(|n| part_number::select(&info, n, input.range.is_some()))
            .transpose()?
            .flatten();
        let mut out = HeadObjectOutput::default();
        object_headers!(out, &info);
        if let Some(p) = &part {
            out.content_range = Some(p.content_range(info.size));
            out.content_length = Some(p.len as i64);
        } else if let Some(range) = &input.range {
            let r = range.check(info.size)?;
            out.content_range = Some(format!("bytes {}-{}/{}", r.start, r.end - 1, info.size));
            out.content_length = Some((r.end - r.start) as i64);
        } else {
            out.content_length = Some(info.size as i64);
        }
        if input.part_number.is_some() {
            out.parts_count = part_number::parts_count(&info);
        }
        if input.checksum_mode.is_some() && input.range.is_none() {
            checksum_fields!(out, read_checksums(&info, part.as_ref()));
            out.checksum_type = mpu_checksum::checksum_type(&info.checksums);
        }
        response_overrides!(out, input);
        let mut resp = S3Response::new(out);
        // S3 answers HEAD with the tag count as GET does (s3s's HeadObjectOutput has no field).
        if !info.tags.is_empty() {
            resp.headers.insert(
                "x-amz-tagging-count",
                http::HeaderValue::from(info.tags.len()),
            );
        }
        Ok(resp)
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let input = req.input;
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        let info = self.run(move |e| e.head_object(&bucket, &key)).await?;
        Ok(S3Response::new(attributes::output(&info, &input)?))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let conditions = crate::engine::Conditions {
            if_match: etag_condition(input.if_match.as_ref()),
            if_match_last_modified_ns: input.if_match_last_modified_time.as_ref().map(timestamp_ns),
            if_match_size: input.if_match_size.map(|s| s.max(0) as u64),
            ..Default::default()
        };
        let (bucket, key) = (input.bucket, input.key);
        self.run(move |e| e.delete_object_if(&bucket, &key, &conditions))
            .await?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        if input.delete.objects.len() > 1000 {
            return Err(s3_error!(MalformedXML, "at most 1000 keys per request"));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let bucket = input.bucket;
        let keys: Vec<DeleteEntry> = input
            .delete
            .objects
            .into_iter()
            .map(|o| {
                let conditions = crate::engine::Conditions {
                    if_match: o.e_tag.map(|t| t.value().trim_matches('"').to_string()),
                    if_match_last_modified_ns: o.last_modified_time.as_ref().map(timestamp_ns),
                    if_match_size: o.size.map(|s| s.max(0) as u64),
                    ..Default::default()
                };
                DeleteEntry {
                    key: o.key,
                    version_id: o.version_id,
                    conditions,
                }
            })
            .collect();
        let results = self
            .run(move |e| {
                e.bucket_exists(&bucket)?
                    .then_some(())
                    .ok_or_else(|| EngineError::NoSuchBucket(bucket.clone()))?;
                Ok(keys
                    .into_iter()
                    .map(|d| {
                        let r = d.delete(e, &bucket);
                        (d, r)
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for (d, r) in results {
            match r {
                Ok(()) if quiet => {}
                Ok(()) => deleted.push(DeletedObject {
                    key: Some(d.key),
                    version_id: d.version_id,
                    ..Default::default()
                }),
                Err(s3) => errors.push(Error {
                    code: Some(s3.code().as_str().to_string()),
                    key: Some(d.key),
                    message: s3.message().map(str::to_string),
                    version_id: d.version_id,
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let (src_bucket, src_key) = copy_source(&input.copy_source)?;
        let replace_meta = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let replace_tags = input
            .tagging_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == TaggingDirective::REPLACE);
        let same = src_bucket == input.bucket && src_key == input.key;
        if same && !replace_meta && !replace_tags && input.storage_class.is_none() {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        let reduced = reduced_redundancy(input.storage_class.as_ref().map(|s| s.as_str()))?;
        let new_meta = meta_map(input.metadata, std_headers!(input))?;
        let new_tags = parse_tagging_header(input.tagging.as_deref())?;
        let conditions = CopyConditions {
            if_match: input.copy_source_if_match,
            if_none_match: input.copy_source_if_none_match,
            if_modified_since: input.copy_source_if_modified_since,
            if_unmodified_since: input.copy_source_if_unmodified_since,
        };
        let content_type = input.content_type;
        // x-amz-checksum-algorithm: computed over the copy besides the source's algorithms.
        let asked = input
            .checksum_algorithm
            .map(|a| a.as_str().to_ascii_uppercase());
        let (bucket, key) = (input.bucket, input.key);
        let info = self
            .run(move |e| {
                let (reader, src) = match conditions.open(e, &src_bucket, &src_key)? {
                    Ok(opened) => opened,
                    Err(refused) => return Ok(Err(refused)),
                };
                let (user_meta, ctype) = if replace_meta {
                    (new_meta, content_type)
                } else {
                    (src.user_meta.clone(), src.content_type.clone())
                };
                let tags = if replace_tags {
                    new_tags
                } else {
                    src.tags.clone()
                };
                if same && reduced == src.reduced_redundancy {
                    let now = crate::engine::now_ns();
                    return e
                        .update_metadata(&bucket, &key, &|m| {
                            m.user_meta = user_meta.clone();
                            m.content_type = ctype.clone();
                            m.tags = tags.clone();
                            m.mod_time_ns = now;
                        })
                        .map(Ok);
                }
                let opts = PutOptions {
                    content_type: ctype,
                    user_meta,
                    tags,
                    content_md5: None,
                    reduced_redundancy: reduced,
                    ..Default::default()
                };
                // The copy is one part: the source's algorithms are computed over its bytes
                // (a multipart source's COMPOSITE checksum does not describe the copy).
                let plan = checksum::Plan::computing(src.checksums.keys().chain(asked.iter()));
                let mut reader = checksum::Hashing::new(reader, plan.hasher());
                let hasher = reader.hasher.clone();
                e.put_object_checked(&bucket, &key, &mut reader, &opts, &mut || {
                    plan.verify(&hasher, None)
                })
                .map(Ok)
            })
            .await??;
        let mut result = CopyObjectResult {
            e_tag: Some(etag(&info.etag)),
            last_modified: Some(timestamp(info.mod_time_ns)),
            ..Default::default()
        };
        checksum_fields_typed!(result, &info.checksums);
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(result),
            ..Default::default()
        }))
    }

    // ---- listing ----

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let after = match (&input.continuation_token, &input.start_after) {
            (Some(t), _) => Some(decode_token(t)?),
            (None, s) => s.clone(),
        };
        let l = self
            .listing(
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

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let l = self
            .listing(
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

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = req.input;
        let after = versions::start_after(&input)?;
        let l = self
            .listing(
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

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let bucket = req.input.bucket;
        let name = bucket.clone();
        if !self.run(move |e| e.bucket_exists(&bucket)).await? {
            return Err(to_s3(EngineError::NoSuchBucket(name)));
        }
        // Never enabled: the empty configuration S3 answers for such a bucket.
        Ok(S3Response::new(GetBucketVersioningOutput::default()))
    }

    // ---- multipart ----

    async fn create_multipart_upload(
        &self,
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
        let (b, k) = (bucket.clone(), key.clone());
        let upload_id = self.run(move |e| e.new_multipart(&b, &k, &opts)).await?;
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

    async fn upload_part(
        &self,
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
        let upload = self.run(move |e| e.upload(&b, &k, &id)).await?;
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
        let info = self
            .upload_part(target, body, plan, req.trailing_headers)
            .await?;
        let mut out = UploadPartOutput {
            e_tag: Some(etag(&info.etag)),
            ..Default::default()
        };
        checksum_fields!(out, &info.checksums);
        Ok(S3Response::new(out))
    }

    async fn upload_part_copy(
        &self,
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
        let (bucket, key, id) = (input.bucket, input.key, input.upload_id);
        let (b, k, i) = (bucket.clone(), key.clone(), id.clone());
        let upload = self.run(move |e| e.upload(&b, &k, &i)).await?;
        // The copied bytes are checked with the upload's algorithm as an uploaded part is.
        let mut plan = checksum::Plan::default();
        mpu_checksum::require_for_part(&upload, &mut plan)?;
        let info = self
            .run(move |e| {
                let (reader, src) = match conditions.open(e, &src_bucket, &src_key)? {
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

    async fn complete_multipart_upload(
        &self,
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
        match self.run(move |e| e.upload_parts(&b, &k, &i)).await {
            Ok((upload, listed)) => {
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
        let conditions = crate::engine::Conditions {
            if_match: etag_condition(input.if_match.as_ref()),
            if_none_match: etag_condition(input.if_none_match.as_ref()),
            ..Default::default()
        };
        let (bucket, key, id) = (input.bucket, input.key, input.upload_id);
        let (b, k) = (bucket.clone(), key.clone());
        let info = self
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

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let (bucket, key, id) = (req.input.bucket, req.input.key, req.input.upload_id);
        self.run(move |e| e.abort_multipart(&bucket, &key, &id))
            .await?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    async fn list_parts(
        &self,
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
        let (upload, all) = self
            .run(move |e| e.upload_parts(&bucket, &key, &id))
            .await?;
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

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000) as usize;
        let (bucket, p) = (input.bucket.clone(), prefix.clone());
        let all = self.run(move |e| e.list_multipart(&bucket, &p)).await?;
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
                        storage_class: Some(storage_class(u.reduced_redundancy)),
                        checksum_algorithm: u.checksum_algorithm.map(ChecksumAlgorithm::from),
                        checksum_type: u.checksum_type.map(ChecksumType::from),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    // ---- tagging ----

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let (bucket, key) = (req.input.bucket, req.input.key);
        let info = self.run(move |e| e.head_object(&bucket, &key)).await?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set: info
                .tags
                .into_iter()
                .map(|(k, v)| Tag {
                    key: Some(k),
                    value: Some(v),
                })
                .collect(),
            version_id: None,
        }))
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        let mut tags = BTreeMap::new();
        for t in input.tagging.tag_set {
            let k = t
                .key
                .ok_or_else(|| s3_error!(InvalidTag, "a tag has no key"))?;
            if tags.insert(k, t.value.unwrap_or_default()).is_some() {
                return Err(s3_error!(InvalidTag, "duplicate tag key"));
            }
        }
        check_tags(&tags)?;
        let (bucket, key) = (input.bucket, input.key);
        self.run(move |e| e.update_metadata(&bucket, &key, &|m| m.tags = tags.clone()))
            .await?;
        Ok(S3Response::new(PutObjectTaggingOutput::default()))
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let (bucket, key) = (req.input.bucket, req.input.key);
        self.run(move |e| e.update_metadata(&bucket, &key, &|m| m.tags.clear()))
            .await?;
        Ok(S3Response::new(DeleteObjectTaggingOutput::default()))
    }
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
        all: Vec<crate::engine::BucketInfo>,
    ) -> (Vec<crate::engine::BucketInfo>, Option<String>) {
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

/// One key of a DeleteObjects request.
struct DeleteEntry {
    key: String,
    version_id: Option<String>,
    conditions: crate::engine::Conditions,
}

impl DeleteEntry {
    /// Deletes the key, unless the request names a version other than `null` (the only one
    /// kept): the access gate sees headers and the query, not this document, so the version is
    /// checked here, and such a key is NoSuchVersion with nothing deleted.
    fn delete(&self, e: &Engine, bucket: &str) -> Result<(), S3Error> {
        if self.version_id.as_deref().is_some_and(|v| v != "null") {
            return Err(s3_error!(
                NoSuchVersion,
                "The specified version does not exist (object versions are not kept yet)"
            ));
        }
        e.delete_object_if(bucket, &self.key, &self.conditions)
            .map_err(to_s3)
    }
}

/// `x-amz-copy-source-if-*` of CopyObject and UploadPartCopy.
struct CopyConditions {
    if_match: Option<ETagCondition>,
    if_none_match: Option<ETagCondition>,
    if_modified_since: Option<Timestamp>,
    if_unmodified_since: Option<Timestamp>,
}

impl CopyConditions {
    /// Opens the copy source; `Ok(Err(PreconditionFailed))` when a condition fails.
    fn open(
        &self,
        e: &Engine,
        bucket: &str,
        key: &str,
    ) -> Result<Result<(crate::engine::ObjectReader, ObjectInfo), S3Error>, EngineError> {
        let reader = e.get_object(bucket, key, None)?;
        let info = reader.info().clone();
        let cond = Conditions {
            if_match: self.if_match.as_ref(),
            if_none_match: self.if_none_match.as_ref(),
            if_modified_since: self.if_modified_since.as_ref(),
            if_unmodified_since: self.if_unmodified_since.as_ref(),
        };
        Ok(cond.check(&info, false).map(|()| (reader, info)))
    }
}

fn copy_source(src: &CopySource) -> S3Result<(String, String)> {
    match src {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => {
            if version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(s3_error!(
                    NoSuchVersion,
                    "object versions are not kept (versioning is not supported yet)"
                ));
            }
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err(s3_error!(
            NotImplemented,
            "only bucket/key copy sources are supported"
        )),
    }
}

/// `bytes=first-last` of x-amz-copy-source-range.
fn parse_copy_range(s: &str) -> S3Result<(u64, u64)> {
    let bad = || {
        s3_error!(
            InvalidArgument,
            "x-amz-copy-source-range must be bytes=first-last"
        )
    };
    let (a, b) = s
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
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

fn max_keys(m: Option<i32>) -> S3Result<usize> {
    match m {
        None => Ok(1000),
        Some(m) if m < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative")),
        Some(m) => Ok((m as usize).min(1000)),
    }
}

/// The checksums a read answers with: a multipart object's part read gives the part's own.
fn read_checksums<'a>(
    info: &'a ObjectInfo,
    part: Option<&part_number::PartRead<'a>>,
) -> &'a BTreeMap<String, String> {
    match part {
        Some(p) if info.multipart => &p.part.checksums,
        _ => &info.checksums,
    }
}

fn storage_class(reduced_redundancy: bool) -> StorageClass {
    StorageClass::from_static(if reduced_redundancy {
        StorageClass::REDUCED_REDUNDANCY
    } else {
        StorageClass::STANDARD
    })
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

//! Field-by-field copies between s3s input and output types that share field names but no
//! trait: headers, checksums, `response-*` overrides. Macros, as the types differ.

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

/// Whether a GET or HEAD asks for any `response-*` override.
macro_rules! asks_response_overrides {
    ($input:expr) => {
        $input.response_content_type.is_some()
            || $input.response_content_encoding.is_some()
            || $input.response_content_disposition.is_some()
            || $input.response_content_language.is_some()
            || $input.response_cache_control.is_some()
            || $input.response_expires.is_some()
    };
}

/// Stored checksums and their type (COMPOSITE or FULL_OBJECT) into an output.
macro_rules! checksum_fields_typed {
    ($out:expr, $stored:expr) => {{
        let stored: &std::collections::BTreeMap<String, String> = $stored;
        checksum_fields!($out, stored);
        $out.checksum_type = $crate::mpu_checksum::checksum_type(stored);
    }};
}

/// Stored checksums into an output's checksum fields, when the client asked for them.
macro_rules! checksum_fields {
    ($out:expr, $stored:expr) => {{
        let [crc32, crc32c, sha1, sha256, crc64nvme] = $crate::checksum::fields($stored);
        $out.checksum_crc32 = crc32;
        $out.checksum_crc32c = crc32c;
        $out.checksum_sha1 = sha1;
        $out.checksum_sha256 = sha256;
        $out.checksum_crc64nvme = crc64nvme;
    }};
}

//! Checksums of multipart uploads, made as S3 makes them.
//!
//! CreateMultipartUpload names an algorithm (`x-amz-checksum-algorithm`) and how the parts'
//! checksums make the object's (`x-amz-checksum-type`): COMPOSITE, the checksum of the parts'
//! checksums with `-N` (N parts) appended, the default for CRC32, CRC32C, SHA1 and SHA256; or
//! FULL_OBJECT, the CRC of the whole object (CRC32, CRC32C, CRC64NVME; the only one for
//! CRC64NVME), combined from the parts' CRCs. Every part is then checked with that algorithm
//! (a part sent with another is refused); CompleteMultipartUpload must name each part's
//! checksum for a COMPOSITE upload, and what it names must be what was stored.

use super::checksum::{self, Plan};
use super::crc_combine;
use s3s::dto::{ChecksumAlgorithm, ChecksumType, CompletedPart};
use s3s::{s3_error, S3Result};
use std::collections::BTreeMap;
use strata_engine::{EngineError, PartInfo, UploadInfo};

const COMPOSITE: &str = ChecksumType::COMPOSITE;
const FULL_OBJECT: &str = ChecksumType::FULL_OBJECT;

/// The algorithm and checksum type of a new upload (both upper case), defaults filled in.
pub fn for_create(
    algorithm: Option<&ChecksumAlgorithm>,
    kind: Option<&ChecksumType>,
) -> S3Result<Option<(String, String)>> {
    let Some(algorithm) = algorithm.map(|a| a.as_str().to_ascii_uppercase()) else {
        return match kind {
            Some(_) => Err(s3_error!(
                InvalidRequest,
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            )),
            None => Ok(None),
        };
    };
    let crc = matches!(algorithm.as_str(), "CRC32" | "CRC32C" | "CRC64NVME");
    let default = if algorithm == "CRC64NVME" {
        FULL_OBJECT
    } else {
        COMPOSITE
    };
    let kind = kind.map_or(default, |k| k.as_str()).to_string();
    let allowed = match kind.as_str() {
        COMPOSITE => algorithm != "CRC64NVME",
        FULL_OBJECT => crc,
        _ => false,
    };
    if !allowed {
        return Err(s3_error!(
            InvalidRequest,
            "The {kind} checksum type cannot be used with the {} checksum algorithm.",
            algorithm.to_ascii_lowercase()
        ));
    }
    Ok(Some((algorithm, kind)))
}

/// UploadPart of an upload with an algorithm: the part is checked with it, computed when the
/// client sent no checksum; a part checked with another algorithm only is refused, as S3 does.
pub fn require_for_part(upload: &UploadInfo, plan: &mut Plan) -> S3Result<()> {
    let Some(algorithm) = upload.checksum_algorithm.as_deref() else {
        return Ok(());
    };
    let name = algorithm.to_ascii_lowercase();
    if let Some(other) = plan.wanted.keys().find(|a| **a != name) {
        if !plan.wanted.contains_key(name.as_str()) {
            return Err(s3_error!(
                InvalidRequest,
                "Checksum Type mismatch occurred, expected checksum Type: {name}, actual checksum Type: {other}"
            ));
        }
    }
    plan.want(&name)
}

/// What CompleteMultipartUpload claims, checked against the parts listed before completing.
pub fn check_request(
    upload: &UploadInfo,
    listed: &[PartInfo],
    requested: &[CompletedPart],
    object_size: Option<i64>,
) -> S3Result<()> {
    for r in requested {
        let n = r.part_number.unwrap_or(0).max(0) as u32;
        let etag = r
            .e_tag
            .as_ref()
            .map(|t| t.value().trim_matches('"').to_string());
        let Some(stored) = listed
            .iter()
            .filter(|p| p.number == n && Some(&p.etag) == etag.as_ref())
            .max_by_key(|p| p.mod_time_ns)
        else {
            continue; // the engine answers InvalidPart for parts that are not there
        };
        let claimed = claimed_part(r);
        if let Some(algorithm) = &upload.checksum_algorithm {
            let composite = upload.checksum_type.as_deref() == Some(COMPOSITE);
            if composite && !claimed.contains_key(algorithm.as_str()) {
                return Err(s3_error!(
                    InvalidRequest,
                    "The upload was created using a {} checksum. The complete request must include the checksum for each part. It was missing for part {n} in the request.",
                    algorithm.to_ascii_lowercase()
                ));
            }
        }
        for (alg, value) in &claimed {
            if stored.checksums.get(alg) != Some(value) {
                return Err(s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found: the {} checksum of part {n} is not the one it was uploaded with.",
                    alg.to_ascii_lowercase()
                ));
            }
        }
    }
    if let Some(expected) = object_size {
        let size: u64 = requested
            .iter()
            .filter_map(|r| {
                let n = r.part_number? as u32;
                listed.iter().find(|p| p.number == n).map(|p| p.size)
            })
            .sum();
        if u64::try_from(expected).ok() != Some(size) {
            return Err(s3_error!(
                InvalidRequest,
                "The provided 'x-amz-mp-object-size' header ({expected}) does not match the object's size ({size})."
            ));
        }
    }
    Ok(())
}

/// The checksums a CompletedPart names, by algorithm (upper case).
fn claimed_part(r: &CompletedPart) -> BTreeMap<String, String> {
    [
        ("CRC32", &r.checksum_crc32),
        ("CRC32C", &r.checksum_crc32c),
        ("SHA1", &r.checksum_sha1),
        ("SHA256", &r.checksum_sha256),
        ("CRC64NVME", &r.checksum_crc64nvme),
    ]
    .into_iter()
    .filter_map(|(a, v)| v.clone().map(|v| (a.to_string(), v.trim().to_string())))
    .collect()
}

/// The object checksum the complete request claims (`x-amz-checksum-<alg>`), and its type.
pub struct Claim {
    pub value: Option<(String, String)>,
    pub kind: Option<String>,
}

impl Claim {
    /// A claim for another algorithm than the upload's cannot be checked: refused.
    pub fn check_algorithm(&self, upload: &UploadInfo) -> S3Result<()> {
        match (&self.value, &upload.checksum_algorithm) {
            (Some((alg, _)), Some(upload_alg)) if alg != upload_alg => Err(s3_error!(
                InvalidRequest,
                "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
                upload_alg.to_ascii_lowercase(),
                alg.to_ascii_lowercase()
            )),
            (Some((alg, _)), None) => Err(s3_error!(
                InvalidRequest,
                "The upload was created without a checksum algorithm: its {} cannot be checked.",
                alg.to_ascii_lowercase()
            )),
            _ => Ok(()),
        }
    }
}

/// The object's checksums, from the parts chosen for it (in order); compared with the claim.
pub fn object_checksums(
    upload: &UploadInfo,
    parts: &[PartInfo],
    claim: &Claim,
) -> Result<BTreeMap<String, String>, EngineError> {
    let Some(algorithm) = upload.checksum_algorithm.as_deref() else {
        return Ok(BTreeMap::new());
    };
    let kind = upload.checksum_type.as_deref().unwrap_or(COMPOSITE);
    if claim.kind.as_deref().is_some_and(|k| k != kind) {
        return Err(EngineError::ChecksumMismatch(format!(
            "The upload's checksum type is {kind}, not {}",
            claim.kind.as_deref().unwrap_or_default()
        )));
    }
    let values = parts
        .iter()
        .map(|p| {
            p.checksums.get(algorithm).cloned().ok_or_else(|| {
                EngineError::InvalidPart(format!(
                    "part {} has no {} checksum",
                    p.number,
                    algorithm.to_ascii_lowercase()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let value = if kind == FULL_OBJECT {
        full_object(algorithm, &values, parts)?
    } else {
        composite(algorithm, &values)?
    };
    if let Some((_, claimed)) = &claim.value {
        if without_count(claimed) != without_count(&value) {
            return Err(EngineError::ChecksumMismatch(format!(
                "The {algorithm} you specified did not match the calculated checksum."
            )));
        }
    }
    Ok(BTreeMap::from([(algorithm.to_string(), value)]))
}

/// `checksum(part checksums, concatenated)-N`.
fn composite(algorithm: &str, values: &[String]) -> Result<String, EngineError> {
    let mut raw = Vec::new();
    for v in values {
        raw.extend(decode(v)?);
    }
    let digest = checksum::digest(algorithm, &raw).ok_or_else(|| {
        EngineError::InvalidPart(format!("unknown checksum algorithm {algorithm}"))
    })?;
    Ok(format!("{digest}-{}", values.len()))
}

/// The CRC of the whole object, combined from the parts' CRCs and sizes.
fn full_object(
    algorithm: &str,
    values: &[String],
    parts: &[PartInfo],
) -> Result<String, EngineError> {
    let crc = match algorithm {
        "CRC32" => crc_combine::CRC32,
        "CRC32C" => crc_combine::CRC32C,
        "CRC64NVME" => crc_combine::CRC64NVME,
        other => {
            return Err(EngineError::InvalidPart(format!(
                "{other} has no full-object checksum"
            )))
        }
    };
    let mut whole: Option<u64> = None;
    for (v, p) in values.iter().zip(parts) {
        let bytes = decode(v)?;
        let part = bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
        whole = Some(match whole {
            None => part,
            Some(w) => crc.combine(w, part, p.size),
        });
    }
    let bytes = whole.unwrap_or(0).to_be_bytes();
    let width = (crc.width / 8) as usize;
    Ok(base64_simd::STANDARD.encode_to_string(&bytes[8 - width..]))
}

fn decode(v: &str) -> Result<Vec<u8>, EngineError> {
    base64_simd::STANDARD
        .decode_to_vec(without_count(v))
        .map_err(|_| EngineError::InvalidPart(format!("a part's checksum is not base64: {v}")))
}

/// A checksum without its `-N` (base64 has no `-`).
fn without_count(v: &str) -> &str {
    v.split_once('-').map_or(v, |(c, _)| c)
}

/// COMPOSITE when the stored checksum is one of parts (`…-N`), else FULL_OBJECT; none
/// without a checksum.
pub fn checksum_type(checksums: &BTreeMap<String, String>) -> Option<ChecksumType> {
    let v = checksums.values().next()?;
    Some(ChecksumType::from_static(if v.contains('-') {
        COMPOSITE
    } else {
        FULL_OBJECT
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::checksum::ChecksumHasher;

    fn alg(a: &str) -> ChecksumAlgorithm {
        ChecksumAlgorithm::from(a.to_string())
    }

    fn kind(k: &str) -> ChecksumType {
        ChecksumType::from(k.to_string())
    }

    #[test]
    fn creation_defaults_and_refusals_follow_s3() {
        let ok = |a: &str, k: Option<&str>| for_create(Some(&alg(a)), k.map(kind).as_ref());
        assert_eq!(
            ok("CRC32", None).unwrap(),
            Some(("CRC32".into(), "COMPOSITE".into()))
        );
        assert_eq!(
            ok("CRC64NVME", None).unwrap(),
            Some(("CRC64NVME".into(), "FULL_OBJECT".into()))
        );
        assert_eq!(
            ok("CRC32C", Some("FULL_OBJECT")).unwrap(),
            Some(("CRC32C".into(), "FULL_OBJECT".into()))
        );
        for (a, k) in [
            ("SHA256", "FULL_OBJECT"),
            ("SHA1", "FULL_OBJECT"),
            ("CRC64NVME", "COMPOSITE"),
            ("CRC32", "OTHER"),
        ] {
            let e = ok(a, Some(k)).unwrap_err();
            assert_eq!(e.code().as_str(), "InvalidRequest", "{a} {k}");
        }
        assert_eq!(for_create(None, None).unwrap(), None);
        assert!(for_create(None, Some(&kind("COMPOSITE"))).is_err());
    }

    fn part(number: u32, data: &[u8]) -> PartInfo {
        let mut h = ChecksumHasher {
            crc32: Some(Default::default()),
            crc64nvme: Some(Default::default()),
            sha256: Some(Default::default()),
            ..Default::default()
        };
        h.update(data);
        let c = h.finalize();
        PartInfo {
            number,
            size: data.len() as u64,
            etag: format!("e{number}"),
            mod_time_ns: 0,
            checksums: [
                ("CRC32".to_string(), c.checksum_crc32.unwrap()),
                ("CRC64NVME".to_string(), c.checksum_crc64nvme.unwrap()),
                ("SHA256".to_string(), c.checksum_sha256.unwrap()),
            ]
            .into(),
            attempt: "a".into(),
        }
    }

    fn upload(a: &str, k: &str) -> UploadInfo {
        serde_json::from_value(serde_json::json!({
            "key": "k", "upload_id": "u", "initiated_ns": 0, "content_type": null,
            "user_meta": {}, "tags": {},
            "erasure": {"codec": 1, "bitrot": 1, "data": 2, "parity": 2,
                        "block_size": 1048576, "distribution": [0, 1, 2, 3]},
            "checksum_algorithm": a, "checksum_type": k
        }))
        .unwrap()
    }

    #[test]
    fn object_checksums_are_made_from_the_parts() {
        let (a, b) = (vec![7u8; 1000], vec![9u8; 333]);
        let parts = [part(1, &a), part(2, &b)];
        let none = Claim {
            value: None,
            kind: None,
        };
        // FULL_OBJECT: the CRC of the whole.
        let whole = part(0, &[a.clone(), b.clone()].concat());
        for alg in ["CRC32", "CRC64NVME"] {
            let got = object_checksums(&upload(alg, "FULL_OBJECT"), &parts, &none).unwrap();
            assert_eq!(got[alg], whole.checksums[alg], "{alg}");
        }
        // COMPOSITE: the checksum of the concatenated part checksums, with the count.
        let got = object_checksums(&upload("SHA256", "COMPOSITE"), &parts, &none).unwrap();
        let raw: Vec<u8> = parts
            .iter()
            .flat_map(|p| decode(&p.checksums["SHA256"]).unwrap())
            .collect();
        assert_eq!(
            got["SHA256"],
            format!("{}-2", checksum::digest("SHA256", &raw).unwrap())
        );
        assert_eq!(checksum_type(&got).unwrap().as_str(), "COMPOSITE");
        // A wrong claim is BadDigest; a part without the algorithm's checksum cannot be used.
        let wrong = Claim {
            value: Some(("SHA256".into(), "AAAA".into())),
            kind: None,
        };
        assert!(matches!(
            object_checksums(&upload("SHA256", "COMPOSITE"), &parts, &wrong),
            Err(EngineError::ChecksumMismatch(_))
        ));
        assert!(matches!(
            object_checksums(&upload("CRC32C", "COMPOSITE"), &parts, &none),
            Err(EngineError::InvalidPart(_))
        ));
    }
}

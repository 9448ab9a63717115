//! Additional checksums (`x-amz-checksum-{crc32,crc32c,sha1,sha256,crc64nvme}`): which ones the
//! client asked for (header value, `x-amz-checksum-algorithm`, or a trailer), computed while the
//! body streams, compared before the object becomes visible.

use s3s::checksum::ChecksumHasher;
use s3s::{s3_error, S3Result};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use strata_engine::EngineError;

/// The algorithms S3 knows, by their names in `x-amz-checksum-<name>`.
pub const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "sha1", "sha256", "crc64nvme"];

/// What to compute and what the headers already claim.
#[derive(Default)]
pub struct Plan {
    /// Algorithm (lowercase) → expected value from a header, if one was sent.
    pub wanted: BTreeMap<&'static str, Option<String>>,
    /// The algorithm whose value the client announced in `x-amz-trailer`: the trailer must come.
    pub trailer: Option<&'static str>,
}

impl Plan {
    /// `given` holds the header values by algorithm; `algorithm` is x-amz-checksum-algorithm
    /// (or the SDK's x-amz-sdk-checksum-algorithm); `trailer` is the x-amz-trailer header.
    pub fn new(
        given: [(&'static str, Option<String>); 5],
        algorithm: Option<&str>,
        trailer: Option<&str>,
    ) -> S3Result<Plan> {
        let mut wanted = BTreeMap::new();
        for (name, value) in given {
            if let Some(v) = &value {
                well_formed(name, v)?;
                wanted.insert(name, value);
            }
        }
        if wanted.len() > 1 {
            return Err(s3_error!(
                InvalidRequest,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
            ));
        }
        let mut announced = None;
        for (is_trailer, requested) in [
            (false, algorithm),
            (
                true,
                trailer.map(|t| t.trim().trim_start_matches("x-amz-checksum-")),
            ),
        ] {
            let Some(requested) = requested else {
                continue;
            };
            let lower = requested.to_ascii_lowercase();
            let name = ALGORITHMS.iter().find(|a| **a == lower).ok_or_else(|| {
                s3_error!(InvalidRequest, "unsupported checksum algorithm {requested}")
            })?;
            wanted.entry(name).or_insert(None);
            if is_trailer {
                announced = Some(*name);
            }
        }
        Ok(Plan {
            wanted,
            trailer: announced,
        })
    }

    /// A plan computing the named algorithms (as stored: `CRC32`, …), nothing to compare.
    pub fn computing<'a>(names: impl Iterator<Item = &'a String>) -> Plan {
        let wanted = names
            .filter_map(|n| {
                let lower = n.to_ascii_lowercase();
                ALGORITHMS.iter().find(|a| **a == lower).map(|a| (*a, None))
            })
            .collect();
        Plan {
            wanted,
            trailer: None,
        }
    }

    /// Adds an algorithm to compute (checked against its header or trailer, when sent).
    pub fn want(&mut self, name: &str) -> S3Result<()> {
        let known = ALGORITHMS
            .iter()
            .find(|a| **a == name)
            .ok_or_else(|| s3_error!(InvalidRequest, "unsupported checksum algorithm {name}"))?;
        self.wanted.entry(known).or_insert(None);
        Ok(())
    }

    pub fn hasher(&self) -> ChecksumHasher {
        let mut h = ChecksumHasher::default();
        for name in self.wanted.keys() {
            match *name {
                "crc32" => h.crc32 = Some(Default::default()),
                "crc32c" => h.crc32c = Some(Default::default()),
                "sha1" => h.sha1 = Some(Default::default()),
                "sha256" => h.sha256 = Some(Default::default()),
                _ => h.crc64nvme = Some(Default::default()),
            }
        }
        h
    }

    /// Compares what was computed with the headers and trailers; returns the checksums to
    /// store (uppercase algorithm → base64 value).
    pub fn verify(
        &self,
        hasher: &Arc<Mutex<ChecksumHasher>>,
        trailers: Option<&http::HeaderMap>,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        if self.wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        let computed = hasher
            .lock()
            .map(|mut h| std::mem::take(&mut *h).finalize())
            .map_err(|_| EngineError::ChecksumMismatch("checksum state poisoned".into()))?;
        let mut out = BTreeMap::new();
        for (name, header_value) in &self.wanted {
            let value = match *name {
                "crc32" => computed.checksum_crc32.clone(),
                "crc32c" => computed.checksum_crc32c.clone(),
                "sha1" => computed.checksum_sha1.clone(),
                "sha256" => computed.checksum_sha256.clone(),
                _ => computed.checksum_crc64nvme.clone(),
            }
            .unwrap_or_default();
            let trailer_value = trailers
                .and_then(|t| t.get(format!("x-amz-checksum-{name}")))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            if self.trailer == Some(*name) && header_value.is_none() && trailer_value.is_none() {
                // An aws-chunked body that ended before its final chunk and trailer: the
                // announced checksum was never checked.
                return Err(EngineError::Body(std::io::Error::other(format!(
                    "Incomplete body: the announced trailer x-amz-checksum-{name} did not come"
                ))));
            }
            if let Some(expected) = header_value.clone().or(trailer_value) {
                if expected.trim() != value {
                    return Err(EngineError::ChecksumMismatch(format!(
                        "The {} you specified did not match the calculated checksum.",
                        name.to_ascii_uppercase()
                    )));
                }
            }
            out.insert(name.to_ascii_uppercase(), value);
        }
        Ok(out)
    }
}

/// A checksum header's value is the base64 of the algorithm's digest (S3: InvalidRequest
/// otherwise, before any byte is compared).
fn well_formed(name: &str, value: &str) -> S3Result<()> {
    let len = match name {
        "crc32" | "crc32c" => 4,
        "crc64nvme" => 8,
        "sha1" => 20,
        _ => 32,
    };
    let decoded = base64_simd::STANDARD.decode_to_vec(value.trim().as_bytes());
    if decoded.is_ok_and(|d| d.len() == len) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidRequest,
            "Value for x-amz-checksum-{name} header is invalid."
        ))
    }
}

/// Stored checksums into the five optional output fields.
pub fn fields(stored: &BTreeMap<String, String>) -> [Option<String>; 5] {
    ALGORITHMS.map(|a| stored.get(&a.to_ascii_uppercase()).cloned())
}

/// The base64 checksum of `data` with an algorithm named as stored (`CRC32`, …).
pub fn digest(algorithm: &str, data: &[u8]) -> Option<String> {
    let name = algorithm.to_ascii_lowercase();
    let plan = Plan {
        wanted: [(*ALGORITHMS.iter().find(|a| **a == name)?, None)].into(),
        trailer: None,
    };
    let mut h = plan.hasher();
    h.update(data);
    let c = h.finalize();
    [
        c.checksum_crc32,
        c.checksum_crc32c,
        c.checksum_sha1,
        c.checksum_sha256,
        c.checksum_crc64nvme,
    ]
    .into_iter()
    .flatten()
    .next()
}

/// The one checksum a request claims in `x-amz-checksum-<alg>` headers (upper case
/// algorithm, value), if any.
pub fn fields_given(given: [(&'static str, Option<String>); 5]) -> Option<(String, String)> {
    given
        .into_iter()
        .find_map(|(a, v)| v.map(|v| (a.to_ascii_uppercase(), v.trim().to_string())))
}

/// A reader that hashes what passes through it (a copy checked as an upload is).
pub struct Hashing<R> {
    pub inner: R,
    pub hasher: Arc<Mutex<ChecksumHasher>>,
}

impl<R> Hashing<R> {
    pub fn new(inner: R, hasher: ChecksumHasher) -> Hashing<R> {
        Hashing {
            inner,
            hasher: Arc::new(Mutex::new(hasher)),
        }
    }
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut h) = self.hasher.lock() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

//! `partNumber` on GetObject and HeadObject: a ranged read of one part, as S3 answers it (206
//! with the part's Content-Range; `x-amz-mp-parts-count` for objects made by a multipart
//! upload; InvalidPartNumber beyond the last part). A plain object is its own part 1.

use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use strata_engine::{ObjectInfo, ObjectPart};

/// Where one part lies in its object.
pub struct PartRead<'a> {
    pub part: &'a ObjectPart,
    pub start: u64,
    pub len: u64,
}

impl PartRead<'_> {
    pub fn content_range(&self, size: u64) -> String {
        format!(
            "bytes {}-{}/{}",
            self.start,
            self.start + self.len - 1,
            size
        )
    }
}

/// The part a `partNumber` read selects; `None` when it is the whole of an empty object (no
/// byte range can name it).
pub fn select(info: &ObjectInfo, n: i32, with_range: bool) -> S3Result<Option<PartRead<'_>>> {
    if with_range {
        return Err(s3_error!(
            InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter"
        ));
    }
    if !(1..=10_000).contains(&n) {
        return Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ));
    }
    let mut start = 0;
    for part in &info.part_list {
        if part.number == n as u32 {
            return Ok((part.size > 0).then_some(PartRead {
                part,
                start,
                len: part.size,
            }));
        }
        start += part.size;
    }
    Err(invalid_part_number())
}

/// S3's answer to a part number beyond the object's last part (s3s has no such code).
fn invalid_part_number() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
    e
}

/// `x-amz-mp-parts-count` of a `partNumber` read: only objects made by a multipart upload have
/// parts to count.
pub fn parts_count(info: &ObjectInfo) -> Option<i32> {
    info.multipart.then_some(info.part_list.len() as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn object(sizes: &[u64], multipart: bool) -> ObjectInfo {
        let part_list: Vec<ObjectPart> = sizes
            .iter()
            .enumerate()
            .map(|(i, s)| ObjectPart {
                number: i as u32 + 1,
                size: *s,
                checksums: BTreeMap::new(),
            })
            .collect();
        ObjectInfo {
            bucket: "b".into(),
            key: "k".into(),
            size: sizes.iter().sum(),
            etag: "e".into(),
            mod_time_ns: 0,
            version_id: "v".into(),
            content_type: None,
            user_meta: BTreeMap::new(),
            tags: BTreeMap::new(),
            checksums: BTreeMap::new(),
            parts: part_list.len(),
            part_list,
            multipart,
            reduced_redundancy: false,
            acl: None,
        }
    }

    fn code(r: S3Result<Option<PartRead<'_>>>) -> String {
        r.err()
            .map(|e| e.code().as_str().to_string())
            .unwrap_or_default()
    }

    #[test]
    fn parts_are_ranges_of_their_object() {
        let o = object(&[5, 7, 3], true);
        let p = select(&o, 2, false).unwrap().unwrap();
        assert_eq!(
            (p.start, p.len, p.content_range(o.size)),
            (5, 7, "bytes 5-11/15".into())
        );
        let last = select(&o, 3, false).unwrap().unwrap();
        assert_eq!((last.start, last.len), (12, 3));
        assert_eq!(parts_count(&o), Some(3));
        assert_eq!(code(select(&o, 4, false)), "InvalidPartNumber");
        assert_eq!(code(select(&o, 0, false)), "InvalidArgument");
        assert_eq!(code(select(&o, 10_001, false)), "InvalidArgument");
        assert_eq!(code(select(&o, 1, true)), "InvalidRequest");
    }

    #[test]
    fn a_plain_object_is_its_own_first_part() {
        let o = object(&[9], false);
        let p = select(&o, 1, false).unwrap().unwrap();
        assert_eq!((p.start, p.len), (0, 9));
        assert_eq!(parts_count(&o), None);
        assert_eq!(code(select(&o, 2, false)), "InvalidPartNumber");
        let empty = object(&[0], false);
        assert!(select(&empty, 1, false).unwrap().is_none());
    }
}

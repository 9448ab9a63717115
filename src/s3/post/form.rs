//! The fields of a `multipart/form-data` POST upload: read from the front of the body up to the
//! file part's headers, and written back (changed) in front of the untouched file part. The
//! file's bytes are never read here.

/// What precedes the file in a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// Field names as sent, values as UTF-8 text, in order.
    pub fields: Vec<(String, String)>,
    /// The file part's `filename`, when it has one.
    pub filename: Option<String>,
    /// Where the file part's boundary line starts in the scanned bytes.
    pub file_at: usize,
}

/// The outcome of scanning the bytes read so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// The file part's headers are not complete yet.
    More,
    /// Not a form s3s would parse either: left for s3s to refuse.
    Malformed,
    Form(Form),
}

/// The boundary of a `multipart/form-data` Content-Type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    let mime = parts.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

/// Scans `buf` (the body so far) for the fields before the part named `file`.
pub fn scan(buf: &[u8], boundary: &str) -> Scan {
    let open = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    // The first boundary line, at the start (s3s allows one empty line before it).
    let start = if buf.starts_with(b"\r\n") { 2 } else { 0 };
    if buf.len() < start + open.len() + 2 {
        return Scan::More;
    }
    if !buf[start..].starts_with(open.as_bytes()) {
        return Scan::Malformed;
    }
    let mut part_at = start;
    let mut pos = start + open.len();
    let mut fields = Vec::new();
    loop {
        if buf.len() < pos + 2 {
            return Scan::More;
        }
        if &buf[pos..pos + 2] != b"\r\n" {
            // `--` (the form's end) or garbage: no file part.
            return Scan::Malformed;
        }
        let headers_at = pos + 2;
        let Some(headers_len) = find(&buf[headers_at..], b"\r\n\r\n") else {
            return Scan::More;
        };
        let headers = &buf[headers_at..headers_at + headers_len];
        let Some((name, filename)) = disposition(headers) else {
            return Scan::Malformed;
        };
        if name.eq_ignore_ascii_case("file") {
            return Scan::Form(Form {
                fields,
                filename,
                file_at: part_at,
            });
        }
        let value_at = headers_at + headers_len + 4;
        let Some(value_len) = find(&buf[value_at..], delimiter.as_bytes()) else {
            return Scan::More;
        };
        let Ok(value) = std::str::from_utf8(&buf[value_at..value_at + value_len]) else {
            return Scan::Malformed;
        };
        fields.push((name, value.to_string()));
        part_at = value_at + value_len + 2;
        pos = value_at + value_len + delimiter.len();
    }
}

/// The fields written back as form parts, each with the one header s3s reads.
pub fn write(fields: &[(String, String)], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `name` and `filename` of a part's Content-Disposition header.
fn disposition(headers: &[u8]) -> Option<(String, Option<String>)> {
    let text = std::str::from_utf8(headers).ok()?;
    let value = text.split("\r\n").find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(v.trim())
    })?;
    let param = |key: &str| {
        value.split(';').skip(1).find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    Some((param("name")?, param("filename")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "XyZ";

    fn body() -> Vec<u8> {
        let mut b = write(
            &[
                ("key".into(), "up/${filename}".into()),
                ("Policy".into(), "eyJ9".into()),
            ],
            B,
        );
        b.extend_from_slice(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n\
              Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n",
        );
        b
    }

    #[test]
    fn reads_the_fields_before_the_file() {
        let b = body();
        let Scan::Form(f) = scan(&b, B) else {
            panic!("no form")
        };
        assert_eq!(
            f.fields,
            vec![
                ("key".to_string(), "up/${filename}".to_string()),
                ("Policy".to_string(), "eyJ9".to_string())
            ]
        );
        assert_eq!(f.filename.as_deref(), Some("a b.txt"));
        assert!(
            b[f.file_at..].starts_with(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"")
        );
        // Written back, the fields are the same bytes.
        assert_eq!(write(&f.fields, B), b[..f.file_at].to_vec());
    }

    #[test]
    fn asks_for_more_until_the_file_headers_are_in() {
        let b = body();
        let file_headers_end = find(&b, b"text/plain\r\n\r\n").unwrap() + 14;
        for cut in 0..file_headers_end {
            assert_eq!(scan(&b[..cut], B), Scan::More, "cut at {cut}");
        }
        assert!(matches!(scan(&b[..file_headers_end], B), Scan::Form(_)));
    }

    #[test]
    fn other_bodies_are_left_alone() {
        assert_eq!(scan(b"--other\r\n\r\n", B), Scan::Malformed);
        assert_eq!(scan(b"--XyZ--\r\n", B), Scan::Malformed);
        assert_eq!(
            boundary("multipart/form-data; boundary=\"ab\""),
            Some("ab".into())
        );
        assert_eq!(boundary("application/xml"), None);
    }
}

//! Completes the S3 error documents of every refused request, whoever wrote them (the protocol
//! layer for signature, path and routing errors, the operations for the rest): S3 and MinIO
//! send `<Code>`, `<Message>`, `<Resource>` (the path asked for), `<RequestId>` (the
//! `x-amz-request-id` header's value) and `<HostId>`, and clients show them; the protocol
//! layer writes only the first two, and some codes without a message.
//!
//! The documents come from s3s's serializer, which escapes every text it writes: the first
//! `<Code>` element is the error's code and the last `</Error>` closes the document.

use bytes::Bytes;

const CLOSE: &str = "</Error>";

/// What identifies the request in its error document.
pub struct Ids<'a> {
    pub resource: &'a str,
    pub request_id: &'a str,
    pub host_id: &'a str,
}

/// The document with the missing elements added, and its error code; `None` for a body that
/// is not an S3 error document.
pub fn complete(body: &[u8], ids: &Ids) -> Option<(Bytes, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let end = text.rfind(CLOSE)?;
    let start = text.find("<Error>")?;
    let code = element(&text[start..end], "Code")?.to_string();
    let mut added = String::new();
    if element(&text[start..end], "Message").is_none() {
        if let Some(m) = standard_message(&code) {
            added.push_str(&format!("<Message>{m}</Message>"));
        }
    }
    for (name, value) in [
        ("Resource", ids.resource),
        ("RequestId", ids.request_id),
        ("HostId", ids.host_id),
    ] {
        if element(&text[start..end], name).is_none() {
            added.push_str(&format!("<{name}>{}</{name}>", escape(value)));
        }
    }
    let doc = format!("{}{added}{}", &text[..end], &text[end..]);
    Some((Bytes::from(doc), code))
}

/// The text of the first `<name>` element of `doc`.
pub(crate) fn element<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let from = doc.find(&open)? + open.len();
    let to = doc[from..].find(&format!("</{name}>"))? + from;
    Some(&doc[from..to])
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// S3's message for the codes the protocol layer sends without one.
pub(crate) fn standard_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "InvalidBucketName" => "The specified bucket is not valid.",
        "InvalidURI" => "Couldn't parse the specified URI.",
        "KeyTooLongError" => "Your key is too long.",
        "NotImplemented" => {
            "A header or query you provided implies functionality that is not implemented."
        }
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "IncompleteBody" => {
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        }
        "InvalidRequest" => "Invalid Request.",
        "InvalidArgument" => "Invalid Argument.",
        "MalformedXML" => {
            "The XML you provided was not well-formed or did not validate against our \
             published schema."
        }
        "MaxMessageLengthExceeded" => "Your request was too big.",
        "AccessDenied" => "Access Denied.",
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method."
        }
        "InvalidAccessKeyId" => "The Access Key Id you provided does not exist in our records.",
        "AuthorizationHeaderMalformed" => "The authorization header is malformed.",
        "RequestTimeTooSkewed" => {
            "The difference between the request time and the server's time is too large."
        }
        "InvalidDigest" => "The Content-MD5 you specified is not valid.",
        "BadDigest" => "The Content-MD5 you specified did not match what we received.",
        "NoSuchBucket" => "The specified bucket does not exist.",
        "NoSuchKey" => "The specified key does not exist.",
        "NoSuchUpload" => "The specified multipart upload does not exist.",
        "InternalError" => "We encountered an internal error. Please try again.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: Ids = Ids {
        resource: "/b/a&b<c>",
        request_id: "17A2B3C4D5E6F708",
        host_id: "h0st",
    };

    #[test]
    fn missing_elements_are_added_before_the_end() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidBucketName</Code></Error>"#;
        let (out, code) = complete(doc, &IDS).unwrap();
        assert_eq!(code, "InvalidBucketName");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidBucketName</Code>\
             <Message>The specified bucket is not valid.</Message>\
             <Resource>/b/a&amp;b&lt;c&gt;</Resource><RequestId>17A2B3C4D5E6F708</RequestId>\
             <HostId>h0st</HostId></Error>"
        );
    }

    #[test]
    fn a_message_mentioning_tags_is_left_as_written() {
        let doc = b"<Error><Code>NoSuchKey</Code><Message>no &lt;/Error&gt; here</Message>\
                    <RequestId>given</RequestId></Error>";
        let (out, _) = complete(doc, &IDS).unwrap();
        let out = std::str::from_utf8(&out).unwrap();
        assert!(
            out.contains("<Message>no &lt;/Error&gt; here</Message>"),
            "{out}"
        );
        assert_eq!(out.matches("<RequestId>").count(), 1, "{out}");
        assert!(out.ends_with("<HostId>h0st</HostId></Error>"), "{out}");
    }

    #[test]
    fn other_bodies_are_not_documents() {
        assert!(complete(b"write quorum lost\n", &IDS).is_none());
        assert!(complete(b"<Error><Message>x</Message></Error>", &IDS).is_none());
    }
}

//! STS's XML documents (namespace `https://sts.amazonaws.com/doc/2011-06-15/`): the
//! credentials an action hands out, its errors, and the protocol layer's S3 error documents
//! reshaped into STS ones for STS requests.

use crate::errdoc::{element, escape, standard_message};
use bytes::Bytes;
use http::StatusCode;
use strata_iam::store::Credentials;

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// `<{action}Response>`: `extra` elements of the result (escaped here), `AssumedRoleUser`
/// (empty, as MinIO's), the credentials and the request id.
pub fn credentials(
    action: &str,
    creds: &Credentials,
    extra: &[(&str, &str)],
    request_id: &str,
) -> String {
    let extra: String = extra
        .iter()
        .map(|(name, value)| format!("<{name}>{}</{name}>", escape(value)))
        .collect();
    let token = creds
        .session_token
        .as_ref()
        .map(|t| escape(t.expose()))
        .unwrap_or_default();
    let expiration = strata_iam::date::rfc3339(creds.expiry.unwrap_or(0));
    format!(
        "{DECL}<{action}Response xmlns=\"{NS}\"><{action}Result>{extra}\
         <AssumedRoleUser><Arn></Arn><AssumedRoleId></AssumedRoleId></AssumedRoleUser>\
         <Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
         </{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>\
         </{action}Response>",
        escape(&creds.access_key),
        escape(creds.secret_key.expose()),
        escape(request_id),
    )
}

/// `<ErrorResponse>`: the fault is the sender's for a 4xx status, the server's otherwise.
pub fn error(status: StatusCode, code: &str, message: &str, request_id: &str) -> String {
    let kind = if status.is_client_error() {
        "Sender"
    } else {
        "Receiver"
    };
    format!(
        "{DECL}<ErrorResponse xmlns=\"{NS}\"><Error><Type>{kind}</Type><Code>{}</Code>\
         <Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(code),
        escape(message),
        escape(request_id),
    )
}

/// The error document of an STS request as STS writes it, and its code: the protocol layer's
/// S3 documents (`<Error>` at the top, from a refused signature, an unknown key, …) are
/// reshaped, code and message kept; the STS route's own are kept. `None` for a body that is
/// neither.
pub fn reshape(body: &[u8], status: StatusCode, request_id: &str) -> Option<(Bytes, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Error>")?;
    let code = element(&text[start..], "Code")?.to_string();
    if text.contains("<ErrorResponse") {
        return Some((Bytes::copy_from_slice(body), code));
    }
    let message = element(&text[start..], "Message")
        .map(unescape)
        .or_else(|| standard_message(&code).map(str::to_string))
        .unwrap_or_default();
    let doc = error(status, &unescape(&code), &message, request_id);
    Some((Bytes::from(doc), code))
}

/// The text of an element s3s escaped (`escape` undone).
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_iam::Secret;

    #[test]
    fn credentials_are_aws_s_document() {
        let creds = Credentials {
            access_key: "AKIA0123456789ABCDEF".into(),
            secret_key: Secret::new("se<cr>et"),
            session_token: Some(Secret::new("tok&en")),
            expiry: Some(1_796_538_442),
        };
        let doc = credentials("AssumeRole", &creds, &[("Provider", "a&b")], "REQ1");
        assert!(doc.starts_with(DECL), "{doc}");
        for part in [
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">",
            "<AssumeRoleResult><Provider>a&amp;b</Provider>",
            "<AccessKeyId>AKIA0123456789ABCDEF</AccessKeyId>",
            "<SecretAccessKey>se&lt;cr&gt;et</SecretAccessKey>",
            "<SessionToken>tok&amp;en</SessionToken>",
            "<Expiration>2026-12-06T06:27:22Z</Expiration>",
            "<ResponseMetadata><RequestId>REQ1</RequestId></ResponseMetadata>",
            "</AssumeRoleResponse>",
        ] {
            assert!(doc.contains(part), "{part} not in {doc}");
        }
    }

    #[test]
    fn s3_errors_are_reshaped_and_sts_errors_kept() {
        let s3 = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch\
                   </Code><Message>a &amp; b</Message></Error>";
        let (doc, code) = reshape(s3, StatusCode::FORBIDDEN, "R").unwrap();
        let doc = String::from_utf8(doc.to_vec()).unwrap();
        assert_eq!(code, "SignatureDoesNotMatch");
        assert!(
            doc.contains(
                "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
                 <Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>a &amp; b\
                 </Message></Error><RequestId>R</RequestId></ErrorResponse>"
            ),
            "{doc}"
        );
        let bare = b"<Error><Code>InvalidAccessKeyId</Code></Error>";
        let (doc, _) = reshape(bare, StatusCode::FORBIDDEN, "R").unwrap();
        assert!(String::from_utf8_lossy(&doc).contains("does not exist in our records"));
        let ours = error(StatusCode::BAD_REQUEST, "MissingParameter", "m", "R");
        let (kept, code) = reshape(ours.as_bytes(), StatusCode::BAD_REQUEST, "R").unwrap();
        assert_eq!(
            (kept.as_ref(), code.as_str()),
            (ours.as_bytes(), "MissingParameter")
        );
        assert!(reshape(b"not xml", StatusCode::BAD_REQUEST, "R").is_none());
        let server = error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "x", "R");
        assert!(server.contains("<Type>Receiver</Type>"));
    }
}

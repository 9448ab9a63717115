//! The client against a stand-in server on a local socket: what goes on the wire (signed
//! body hash, encrypted bodies, query), and how each kind of answer comes back.

use super::*;
use crate::types::{AccountStatus, AddOrUpdateUserReq};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

const SECRET: &str = "root-secret-key-123";

/// A request as the stand-in server saw it.
struct Seen {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A stand-in server: answers each request with `handler`'s (status, body), on keep-alive
/// connections, and reports each request on the returned channel.
fn serve(
    handler: impl Fn(&Seen) -> (u16, Vec<u8>) + Send + 'static,
) -> (String, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut out = stream;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap().to_string();
                let target = parts.next().unwrap().to_string();
                let mut headers = BTreeMap::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(": ").unwrap();
                    headers.insert(k.to_ascii_lowercase(), v.to_string());
                }
                let len: usize = headers
                    .get("content-length")
                    .map_or(0, |v| v.parse().unwrap());
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).unwrap();
                let seen = Seen {
                    method,
                    target,
                    headers,
                    body,
                };
                let (status, reply) = handler(&seen);
                let _ = tx.send(seen);
                write!(
                    out,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n\r\n",
                    reply.len()
                )
                .unwrap();
                out.write_all(&reply).unwrap();
            }
        }
    });
    (addr, rx)
}

fn client(endpoint: &str, secret: &str) -> AdminClient {
    AdminClient::new(Config {
        endpoint: endpoint.to_string(),
        access_key: "root".into(),
        secret_key: Secret::new(secret),
        region: "us-east-1".into(),
    })
    .unwrap()
}

fn seal(plain: &[u8]) -> Vec<u8> {
    crypto::encrypt(SECRET.as_bytes(), plain, Cipher::Argon2idChaCha20Poly1305).unwrap()
}

#[tokio::test]
async fn an_encrypted_request_is_signed_over_what_is_sent() {
    let (ep, seen) = serve(|_| (200, Vec::new()));
    let mut c = client(&ep, SECRET);
    let call = Call::add_user("alice", &Secret::new("alice-secret-1")).unwrap();
    assert_eq!(c.call(&call).await.unwrap(), Vec::<u8>::new());
    let s = seen.recv().unwrap();
    assert_eq!(s.method, "PUT");
    assert_eq!(s.target, "/minio/admin/v3/add-user?accessKey=alice");
    // The body on the wire is sealed with the caller's secret: no secret in the clear.
    assert!(!s.body.windows(14).any(|w| w == b"alice-secret-1"));
    let plain = crypto::decrypt(SECRET.as_bytes(), &s.body).unwrap();
    let req: AddOrUpdateUserReq = serde_json::from_slice(&plain).unwrap();
    assert_eq!(req.secret_key.as_deref(), Some("alice-secret-1"));
    assert_eq!(req.status, Some(AccountStatus::Enabled));
    // The signature covers the body: its hash is the sealed body's.
    assert_eq!(
        s.headers["x-amz-content-sha256"],
        sigv4::payload_sha256(&s.body)
    );
    assert!(
        s.headers["authorization"].contains("Credential=root/")
            && s.headers["authorization"].contains("/us-east-1/s3/aws4_request")
    );
    assert_eq!(s.headers["content-type"], "application/octet-stream");
}

#[tokio::test]
async fn an_encrypted_answer_is_decrypted_and_a_plain_one_read_as_is() {
    let (ep, seen) = serve(|s| {
        if s.target.starts_with("/minio/admin/v3/list-users") {
            (
                200,
                seal(br#"{"alice":{"status":"enabled","policyName":"readonly"}}"#),
            )
        } else {
            (
                200,
                br#"{"status":"disabled","memberOf":["devs"]}"#.to_vec(),
            )
        }
    });
    let mut c = client(&ep, SECRET);
    let users = c.list_users().await.unwrap();
    assert_eq!(users["alice"].policy_name.as_deref(), Some("readonly"));
    let info = c.user_info("bob").await.unwrap();
    assert_eq!(info.status, AccountStatus::Disabled);
    assert_eq!(info.member_of, vec!["devs".to_string()]);
    // Both on one connection, plain GETs with the empty body's hash.
    let a = seen.recv().unwrap();
    let b = seen.recv().unwrap();
    assert_eq!((a.method.as_str(), b.method.as_str()), ("GET", "GET"));
    assert_eq!(b.target, "/minio/admin/v3/user-info?accessKey=bob");
    assert_eq!(
        b.headers["x-amz-content-sha256"],
        sigv4::payload_sha256(b"")
    );
}

#[tokio::test]
async fn error_answers_name_the_servers_code_and_message() {
    let (ep, _seen) = serve(|s| {
        match s.target.as_str() {
        t if t.contains("user-info") => (
            404,
            br#"{"Code":"XMinioAdminNoSuchUser","Message":"The specified user does not exist.","Resource":"/x"}"#.to_vec(),
        ),
        t if t.contains("groups") => (
            501,
            br#"{"Code":"NotImplemented","Message":"admin call groups is not implemented yet"}"#.to_vec(),
        ),
        t if t.contains("list-users") => (
            403,
            b"<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>".to_vec(),
        ),
        _ => (502, b"bad gateway".to_vec()),
    }
    });
    let mut c = client(&ep, SECRET);
    let e = c.user_info("ghost").await.unwrap_err();
    assert!(
        matches!(&e, Error::Server { status: 404, code, .. } if code == "XMinioAdminNoSuchUser"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "XMinioAdminNoSuchUser: The specified user does not exist. (HTTP 404)"
    );
    assert!(!e.is_bad_credentials());
    let e = c.list_groups().await.unwrap_err();
    assert!(
        matches!(e, Error::NotImplemented { call: "groups", .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("does not serve the admin call groups yet"),
        "{e}"
    );
    let e = c.list_users().await.unwrap_err();
    assert!(e.is_bad_credentials(), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("SignatureDoesNotMatch: The request signature"),
        "{e}"
    );
    let e = c.list_policies().await.unwrap_err();
    assert_eq!(e.code(), Some("HTTP502"), "{e:?}");
    assert!(e.to_string().contains("bad gateway"), "{e}");
}

#[tokio::test]
async fn an_answer_sealed_with_another_secret_is_refused() {
    let (ep, _seen) = serve(|_| (200, seal(b"{}")));
    let mut c = client(&ep, "not-the-secret-key");
    let e = c.list_users().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decrypt {
                call: "list-users",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn endpoints_must_be_plain_http_urls_and_config_hides_the_secret() {
    for bad in ["https://h:1", "h:9000", "http://", "http://h:1/path"] {
        let r = AdminClient::new(Config {
            endpoint: bad.into(),
            access_key: "a".into(),
            secret_key: Secret::new("s"),
            region: "us-east-1".into(),
        });
        assert!(matches!(r, Err(Error::Endpoint(_))), "{bad}");
    }
    let config = Config {
        endpoint: "http://h:1/".into(),
        access_key: "a".into(),
        secret_key: Secret::new("very-secret"),
        region: "us-east-1".into(),
    };
    assert!(!format!("{config:?}").contains("very-secret"));
    assert!(AdminClient::new(config).is_ok());
}

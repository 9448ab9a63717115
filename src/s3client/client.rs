//! A small S3 client for load generation: one keep-alive HTTP/1.1 connection per worker,
//! requests signed with SigV4, bodies shared (`Bytes`) so generating load costs no copies.

use super::sigv4::{
    amz_date_now, payload_sha256, sign_payload, uri_encode, Credentials, UNSIGNED_PAYLOAD,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connection: {0}")]
    Connect(String),
    #[error("HTTP {status}: {code}")]
    Status { status: u16, code: String },
    #[error("{0}")]
    Protocol(String),
}

/// What one request did: bytes moved and, for reads, time to the first body byte.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    pub bytes: u64,
    pub ttfb: Option<Duration>,
}

/// A request for [`Client::send`].
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, not yet percent-encoded (`/` kept).
    pub path: &'a str,
    /// Query pairs, not yet percent-encoded, in any order.
    pub query: &'a [(&'a str, &'a str)],
    /// Extra headers, not signed (`content-type`, …).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Bytes,
    /// The longest response body read; a longer one is an error.
    pub max_body: usize,
}

/// What [`Client::send`] got back, whatever the status.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

pub struct Client {
    creds: Arc<Credentials>,
    host: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    pub fn new(creds: Arc<Credentials>, host: String) -> Client {
        Client {
            creds,
            host,
            sender: None,
        }
    }

    async fn connection(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, ClientError> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(&self.host)
                .await
                .map_err(|e| ClientError::Connect(e.to_string()))?;
            let _ = stream.set_nodelay(true);
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| ClientError::Connect(e.to_string()))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        self.sender
            .as_mut()
            .ok_or_else(|| ClientError::Connect("no connection".into()))
    }

    /// The request `method path?query` with `body`, signed (`payload`: the
    /// `x-amz-content-sha256` to sign) and with the extra `headers` (unsigned).
    fn build(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
        payload: &str,
    ) -> Result<http::Request<Full<Bytes>>, ClientError> {
        let qs = canonical_query(query);
        let epath = uri_encode(path, true);
        let signed = sign_payload(
            &self.creds,
            method,
            &self.host,
            &epath,
            &qs,
            &amz_date_now(),
            payload,
        );
        let uri = if qs.is_empty() {
            epath.clone()
        } else {
            format!("{epath}?{qs}")
        };
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", &self.host)
            .header("content-length", body.len());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        for (k, v) in signed {
            req = req.header(k, v);
        }
        req.body(Full::new(body))
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Sends a request on the kept connection (a fresh one if there is none), once more on a
    /// fresh connection if the kept one turns out closed.
    async fn exchange(
        &mut self,
        req: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, ClientError> {
        let reused = self.sender.as_ref().is_some_and(|s| !s.is_closed());
        let retry = reused.then(|| req_clone(&req));
        let sender = self.connection().await?;
        match sender.send_request(req).await {
            Ok(r) => Ok(r),
            // A keep-alive connection the server closed meanwhile: the request was never
            // processed, so it is sent once more on a fresh connection.
            Err(e) if e.is_canceled() || e.is_closed() => {
                self.sender = None;
                let Some(again) = retry else {
                    return Err(ClientError::Connect(e.to_string()));
                };
                let sender = self.connection().await?;
                sender.send_request(again).await.map_err(|e| {
                    self.sender = None;
                    ClientError::Connect(e.to_string())
                })
            }
            Err(e) => {
                self.sender = None;
                Err(ClientError::Connect(e.to_string()))
            }
        }
    }

    /// Sends a request whose signature covers its body (`x-amz-content-sha256` is the body's
    /// SHA-256) and returns the answer whatever its status, the body read whole up to
    /// `max_body` bytes: for calls that are not S3's (the admin API), whose errors are not
    /// S3's XML.
    pub async fn send(&mut self, req: Request<'_>) -> Result<Response, ClientError> {
        let payload = payload_sha256(&req.body);
        let built = self.build(
            req.method,
            req.path,
            req.query,
            req.headers,
            req.body,
            &payload,
        )?;
        let resp = self.exchange(built).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = resp.into_body();
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                self.sender = None;
                ClientError::Protocol(e.to_string())
            })?;
            if let Some(data) = frame.data_ref() {
                if kept.len() + data.len() > req.max_body {
                    self.sender = None;
                    return Err(ClientError::Protocol(format!(
                        "response body over {} bytes",
                        req.max_body
                    )));
                }
                kept.extend_from_slice(data);
            }
        }
        Ok(Response {
            status,
            headers,
            body: Bytes::from(kept),
        })
    }

    /// Sends a signed request and reads the whole response body (counting it, not keeping it
    /// unless `keep`).
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Bytes,
        keep: bool,
    ) -> Result<(Outcome, Bytes), ClientError> {
        let req = self.build(method, path, query, &[], body, UNSIGNED_PAYLOAD)?;
        let start = Instant::now();
        let resp = self.exchange(req).await?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut outcome = Outcome::default();
        let mut kept = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                self.sender = None;
                ClientError::Protocol(e.to_string())
            })?;
            if let Some(data) = frame.data_ref() {
                outcome.ttfb.get_or_insert_with(|| start.elapsed());
                outcome.bytes += data.len() as u64;
                if keep || !status.is_success() {
                    kept.extend_from_slice(data);
                }
            }
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&kept);
            let code = between(&text, "<Code>", "</Code>")
                .unwrap_or("")
                .to_string();
            return Err(ClientError::Status {
                status: status.as_u16(),
                code,
            });
        }
        Ok((outcome, Bytes::from(kept)))
    }

    pub async fn create_bucket(&mut self, bucket: &str) -> Result<(), ClientError> {
        match self
            .request("PUT", &format!("/{bucket}"), &[], Bytes::new(), false)
            .await
        {
            Ok(_) => Ok(()),
            Err(ClientError::Status { code, .. }) if code == "BucketAlreadyOwnedByYou" => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn put(
        &mut self,
        bucket: &str,
        key: &str,
        body: Bytes,
    ) -> Result<Outcome, ClientError> {
        let len = body.len() as u64;
        self.request("PUT", &format!("/{bucket}/{key}"), &[], body, false)
            .await?;
        Ok(Outcome {
            bytes: len,
            ttfb: None,
        })
    }

    pub async fn get(&mut self, bucket: &str, key: &str) -> Result<Outcome, ClientError> {
        Ok(self
            .request("GET", &format!("/{bucket}/{key}"), &[], Bytes::new(), false)
            .await?
            .0)
    }

    pub async fn stat(&mut self, bucket: &str, key: &str) -> Result<Outcome, ClientError> {
        self.request(
            "HEAD",
            &format!("/{bucket}/{key}"),
            &[],
            Bytes::new(),
            false,
        )
        .await?;
        Ok(Outcome::default())
    }

    pub async fn delete(&mut self, bucket: &str, key: &str) -> Result<Outcome, ClientError> {
        self.request(
            "DELETE",
            &format!("/{bucket}/{key}"),
            &[],
            Bytes::new(),
            false,
        )
        .await?;
        Ok(Outcome::default())
    }

    /// One ListObjectsV2 page: keys and the continuation token, if any.
    pub async fn list_page(
        &mut self,
        bucket: &str,
        prefix: &str,
        token: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), ClientError> {
        let mut q = vec![("list-type", "2"), ("prefix", prefix), ("max-keys", "1000")];
        if let Some(t) = token {
            q.push(("continuation-token", t));
        }
        let (_, body) = self
            .request("GET", &format!("/{bucket}"), &q, Bytes::new(), true)
            .await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        let keys = all_between(&text, "<Key>", "</Key>")
            .into_iter()
            .map(xml_unescape)
            .collect();
        let next = (between(&text, "<IsTruncated>", "</IsTruncated>") == Some("true"))
            .then(|| {
                between(&text, "<NextContinuationToken>", "</NextContinuationToken>")
                    .map(xml_unescape)
            })
            .flatten();
        Ok((keys, next))
    }

    /// Every key under `prefix`; returns the count.
    pub async fn list_all(
        &mut self,
        bucket: &str,
        prefix: &str,
    ) -> Result<(u64, Vec<String>), ClientError> {
        let mut token: Option<String> = None;
        let mut all = Vec::new();
        loop {
            let (keys, next) = self.list_page(bucket, prefix, token.as_deref()).await?;
            all.extend(keys);
            match next {
                Some(t) => token = Some(t),
                None => return Ok((all.len() as u64, all)),
            }
        }
    }

    /// A multipart upload of `parts` parts of `part` bytes each.
    pub async fn multipart(
        &mut self,
        bucket: &str,
        key: &str,
        part: Bytes,
        parts: u32,
    ) -> Result<Outcome, ClientError> {
        let path = format!("/{bucket}/{key}");
        let (_, body) = self
            .request("POST", &path, &[("uploads", "")], Bytes::new(), true)
            .await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        let id = between(&text, "<UploadId>", "</UploadId>")
            .ok_or_else(|| ClientError::Protocol("no UploadId in the response".into()))?
            .to_string();
        let mut etag = String::new();
        let mut complete = String::from("<CompleteMultipartUpload>");
        for n in 1..=parts {
            let num = n.to_string();
            self.request(
                "PUT",
                &path,
                &[("partNumber", &num), ("uploadId", &id)],
                part.clone(),
                false,
            )
            .await?;
            if etag.is_empty() {
                // Every part has the same content, so the same ETag: MD5 of the part.
                use md5::{Digest, Md5};
                etag = Md5::digest(&part)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
            }
            complete.push_str(&format!(
                "<Part><PartNumber>{n}</PartNumber><ETag>\"{etag}\"</ETag></Part>"
            ));
        }
        complete.push_str("</CompleteMultipartUpload>");
        self.request(
            "POST",
            &path,
            &[("uploadId", &id)],
            Bytes::from(complete),
            false,
        )
        .await?;
        Ok(Outcome {
            bytes: part.len() as u64 * parts as u64,
            ttfb: None,
        })
    }
}

/// The query string as SigV4 canonicalises it and as it is sent: each name and value
/// percent-encoded, pairs sorted.
fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn req_clone(req: &http::Request<Full<Bytes>>) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone());
    for (k, v) in req.headers() {
        b = b.header(k, v);
    }
    // Full<Bytes> is a cheap clone of the shared buffer.
    b.body(req.body().clone())
        .unwrap_or_else(|_| http::Request::new(Full::new(Bytes::new())))
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

fn all_between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(s) = rest.find(open) {
        let after = &rest[s + open.len()..];
        let Some(e) = after.find(close) else { break };
        out.push(&after[..e]);
        rest = &after[e + close.len()..];
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::sign_payload;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Answers one request on a fresh listener with `reply` (a whole HTTP response), from a
    /// thread; returns the listener's address and the request as received (head, body).
    fn one_shot(reply: &'static str) -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let task = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = s.read(&mut chunk).unwrap();
                assert!(n > 0, "connection closed in the head");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.trim().parse().unwrap());
            while buf.len() < head_end + len {
                let n = s.read(&mut chunk).unwrap();
                assert!(n > 0, "connection closed in the body");
                buf.extend_from_slice(&chunk[..n]);
            }
            s.write_all(reply.as_bytes()).unwrap();
            (head, buf[head_end..].to_vec())
        });
        (addr, task)
    }

    fn header<'a>(head: &'a str, name: &str) -> &'a str {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {head}"))
    }

    fn creds() -> Arc<Credentials> {
        Arc::new(Credentials {
            access_key: "AK".into(),
            secret_key: "SK-secret".into(),
            region: "us-east-1".into(),
        })
    }

    /// `send` signs the body's SHA-256, encodes and sorts the query, adds the extra headers,
    /// and hands back a failure's status and body instead of an error.
    #[tokio::test]
    async fn send_signs_the_body_and_returns_any_status() {
        let (addr, task) = one_shot(
            "HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n{\"Code\":\"NotImpl\"}\n\n",
        );
        let mut c = Client::new(creds(), addr.clone());
        let resp = c
            .send(Request {
                method: "PUT",
                path: "/minio/admin/v3/add-user",
                query: &[("z", "1"), ("accessKey", "a b")],
                headers: &[("content-type", "application/octet-stream")],
                body: Bytes::from_static(b"hello"),
                max_body: 1024,
            })
            .await
            .unwrap();
        assert_eq!(resp.status, 501);
        assert_eq!(&resp.body[..], b"{\"Code\":\"NotImpl\"}\n\n");
        let (head, body) = task.join().unwrap();
        assert_eq!(body, b"hello");
        assert!(
            head.starts_with("PUT /minio/admin/v3/add-user?accessKey=a%20b&z=1 HTTP/1.1\r\n"),
            "{head}"
        );
        assert_eq!(header(&head, "content-type"), "application/octet-stream");
        let sha = header(&head, "x-amz-content-sha256");
        assert_eq!(sha, payload_sha256(b"hello"));
        let date = header(&head, "x-amz-date");
        let expected = sign_payload(
            &creds(),
            "PUT",
            &addr,
            "/minio/admin/v3/add-user",
            "accessKey=a%20b&z=1",
            date,
            sha,
        );
        assert_eq!(header(&head, "authorization"), expected[2].1);
    }

    #[tokio::test]
    async fn send_refuses_a_body_over_the_limit() {
        let (addr, task) = one_shot("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789");
        let mut c = Client::new(creds(), addr);
        let err = c
            .send(Request {
                method: "GET",
                path: "/x",
                query: &[],
                headers: &[],
                body: Bytes::new(),
                max_body: 4,
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("over 4 bytes"), "{err}");
        task.join().unwrap();
    }
}

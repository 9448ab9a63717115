//! Sending admin calls: SigV4 over `strata_s3client::Client`, bodies encrypted and decrypted
//! as the endpoint table says, error answers read as the server's code and message.

use crate::{Call, Secret};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use strata_admin::crypto::{self, Cipher, CryptoError};
use strata_admin::types::{
    AddServiceAccountResp, ErrorResponse, GroupDesc, InfoServiceAccountResp, ListGroupsResp,
    ListServiceAccountsResp, ListUsersResp, PolicyAssociationResp, UserInfo,
};
use strata_s3client::{sigv4, Client, ClientError, Request};

/// The longest answer read (a list of many users or policies is well under it).
const MAX_RESPONSE: usize = 16 << 20;

/// Where and as whom to connect. (No `Debug` derive: it holds a secret key.)
#[derive(Clone)]
pub struct Config {
    /// `http://host:port` (a trailing `/` is allowed; https is not spoken).
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: Secret,
    /// The SigV4 region (`us-east-1` unless the server is set to another).
    pub region: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("secret_key", &self.secret_key)
            .field("region", &self.region)
            .finish()
    }
}

/// Why an admin call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad endpoint {0:?}: give an http:// URL such as http://127.0.0.1:9000")]
    Endpoint(String),
    /// Refused before sending: the request would be invalid.
    #[error("{0}")]
    Invalid(String),
    #[error("cannot reach the server: {0}")]
    Transport(#[from] ClientError),
    /// The server answered with an error document (its `Code` and `Message`).
    #[error("{code}: {message} (HTTP {status})")]
    Server {
        /// The admin path called (`add-user`, …).
        call: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    /// The server knows the call but does not serve it (yet): HTTP 501.
    #[error("the server does not serve the admin call {call} yet (HTTP 501 NotImplemented)")]
    NotImplemented { call: &'static str, message: String },
    /// An encrypted answer that does not decrypt with the caller's secret key.
    #[error("the answer to {call} does not decrypt with this secret key: {source}")]
    Decrypt {
        call: &'static str,
        source: CryptoError,
    },
    /// An answer that is not what the call returns.
    #[error("unexpected answer to {call}: {detail}")]
    Response { call: &'static str, detail: String },
    #[error("no randomness: {0}")]
    Random(String),
}

impl Error {
    /// The server refused the caller's credentials themselves (an unknown access key or a
    /// signature made with the wrong secret key), not the call.
    pub fn is_bad_credentials(&self) -> bool {
        matches!(self, Error::Server { code, .. }
            if code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId")
    }

    /// The server's error code, if it answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Server { code, .. } => Some(code),
            Error::NotImplemented { .. } => Some("NotImplemented"),
            _ => None,
        }
    }
}

/// A client of one server's admin API, as one identity. Calls go one at a time over one
/// keep-alive connection.
pub struct AdminClient {
    http: Client,
    secret: Secret,
}

impl AdminClient {
    pub fn new(config: Config) -> Result<AdminClient, Error> {
        let host = config
            .endpoint
            .strip_prefix("http://")
            .map(|h| h.trim_end_matches('/'))
            .filter(|h| !h.is_empty() && !h.contains('/'))
            .ok_or_else(|| Error::Endpoint(config.endpoint.clone()))?
            .to_string();
        let creds = sigv4::Credentials {
            access_key: config.access_key,
            secret_key: config.secret_key.expose().to_string(),
            region: config.region,
        };
        Ok(AdminClient {
            http: Client::new(Arc::new(creds), host),
            secret: config.secret_key,
        })
    }

    /// Sends a call; returns the answer's body in the clear.
    pub async fn call(&mut self, call: &Call) -> Result<Vec<u8>, Error> {
        let ep = call.endpoint;
        let body = if ep.encrypted_request {
            crypto::encrypt(
                self.secret.expose().as_bytes(),
                &call.body,
                Cipher::Argon2idAesGcm,
            )
            .map_err(|e| Error::Invalid(e.to_string()))?
        } else {
            call.body.clone()
        };
        let query: Vec<(&str, &str)> = call.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = ep.full_path();
        let resp = self
            .http
            .send(Request {
                method: ep.method.as_str(),
                path: &path,
                query: &query,
                // What madmin and minio-py send; MinIO wants it on attach and detach.
                headers: &[("content-type", "application/octet-stream")],
                body: Bytes::from(body),
                max_body: MAX_RESPONSE,
            })
            .await?;
        if !(200..300).contains(&resp.status) {
            return Err(error_of(ep.path, resp.status, &resp.body));
        }
        if ep.encrypted_response && !resp.body.is_empty() {
            return crypto::decrypt_limited(
                self.secret.expose().as_bytes(),
                &resp.body,
                MAX_RESPONSE,
            )
            .map_err(|source| Error::Decrypt {
                call: ep.path,
                source,
            });
        }
        Ok(resp.body.to_vec())
    }

    /// Sends a call and reads its answer as `T`.
    pub async fn call_json<T: DeserializeOwned>(&mut self, call: &Call) -> Result<T, Error> {
        let body = self.call(call).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Response {
            call: call.endpoint.path,
            detail: e.to_string(),
        })
    }

    pub async fn list_users(&mut self) -> Result<ListUsersResp, Error> {
        self.call_json(&Call::list_users()).await
    }

    pub async fn user_info(&mut self, name: &str) -> Result<UserInfo, Error> {
        self.call_json(&Call::user_info(name)).await
    }

    /// Policy names and documents.
    pub async fn list_policies(
        &mut self,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>, Error> {
        self.call_json(&Call::list_policies()).await
    }

    /// A canned policy's document.
    pub async fn policy_info(&mut self, name: &str) -> Result<serde_json::Value, Error> {
        self.call_json(&Call::policy_info(name)).await
    }

    pub async fn associate(&mut self, call: &Call) -> Result<PolicyAssociationResp, Error> {
        self.call_json(call).await
    }

    pub async fn list_groups(&mut self) -> Result<ListGroupsResp, Error> {
        // MinIO writes `null` when there are no groups.
        let v: Option<ListGroupsResp> = self.call_json(&Call::list_groups()).await?;
        Ok(v.unwrap_or_default())
    }

    pub async fn group_info(&mut self, name: &str) -> Result<GroupDesc, Error> {
        self.call_json(&Call::group_info(name)).await
    }

    pub async fn add_service_account(
        &mut self,
        call: &Call,
    ) -> Result<AddServiceAccountResp, Error> {
        self.call_json(call).await
    }

    pub async fn list_service_accounts(
        &mut self,
        user: Option<&str>,
    ) -> Result<ListServiceAccountsResp, Error> {
        self.call_json(&Call::list_service_accounts(user)).await
    }

    pub async fn service_account_info(
        &mut self,
        access_key: &str,
    ) -> Result<InfoServiceAccountResp, Error> {
        self.call_json(&Call::service_account_info(access_key))
            .await
    }
}

/// The error of a failed answer: MinIO's JSON error document, S3's XML one (the signature
/// is checked before the admin route), or the status alone.
fn error_of(call: &'static str, status: u16, body: &[u8]) -> Error {
    let (code, message) = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(doc) => (doc.code, doc.message),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            match (xml_text(&text, "Code"), xml_text(&text, "Message")) {
                (Some(code), message) => (code, message.unwrap_or_default()),
                (None, _) => (
                    format!("HTTP{status}"),
                    text.chars()
                        .take(200)
                        .collect::<String>()
                        .trim()
                        .to_string(),
                ),
            }
        }
    };
    if status == 501 || code == "NotImplemented" {
        return Error::NotImplemented { call, message };
    }
    Error::Server {
        call,
        status,
        code,
        message,
    }
}

/// The text of the first `<tag>…</tag>`, with XML's five escapes undone.
fn xml_text(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(
        text[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests;

//! The client side of MinIO's admin API (`/minio/admin/v3/…`): what `strata admin` calls to
//! manage users, canned policies, groups and service accounts, without clap, so that the
//! requests are testable on their own (and the operator can reuse them).
//!
//! - [`Call`]: one admin call built but not sent — its endpoint, taken from
//!   `strata_admin::ENDPOINTS` (which says which bodies are encrypted and which query the call
//!   needs), its query and its body in the clear. Pure.
//! - [`AdminClient`]: sends calls over `strata_s3client::Client` (SigV4, service `s3`,
//!   `x-amz-content-sha256` the SHA-256 of the body), encrypts and decrypts the bodies the
//!   table names with the caller's secret key (`strata_admin::crypto`), and turns an error
//!   answer (MinIO's JSON error document, or S3's XML one when the signature is refused
//!   before the admin route) into an [`Error`] that names the server's code and message.
//! - [`Secret`]: a secret key that never shows in `Debug` output.
//!
//! Why a crate of its own: it needs both the signer (`strata-s3client`) and the wire formats
//! (`strata-admin`), which are leaves and stay so — the server links the formats without an
//! HTTP client, the load generator the client without Argon2.

mod call;
mod client;
mod secret;

pub use call::Call;
pub use client::{AdminClient, Config, Error};
pub use secret::Secret;
/// The JSON bodies of the calls (madmin's), re-exported for the callers that print them.
pub use strata_admin::types;
pub use strata_admin::{AccountStatus, Endpoint, Method};

//! A small S3 client over hyper's HTTP/1 connections, signing every request with SigV4
//! (`sigv4`): what `strata bench` drives servers with, and what replication and the tests will
//! reuse. Only the calls those need: bucket create/delete, PUT/GET/HEAD/DELETE of objects,
//! listing and multipart uploads; and [`Client::send`], any request with its body's SHA-256
//! signed and its answer returned whatever the status, which `strata-adminclient` builds the
//! admin API's calls on.

pub mod client;
pub mod sigv4;

pub use client::{Client, ClientError, Outcome, Request, Response};

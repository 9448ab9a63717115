//! A small S3 client over hyper's HTTP/1 connections, signing every request with SigV4
//! (`sigv4`): what `strata bench` drives servers with, and what replication and the tests will
//! reuse. Only the calls those need: bucket create/delete, PUT/GET/HEAD/DELETE of objects,
//! listing and multipart uploads.

pub mod client;
pub mod sigv4;

pub use client::{Client, ClientError, Outcome};

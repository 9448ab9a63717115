//! The CSI protocol (`csi.v1`), generated from proto/csi.proto by build.rs.
#![allow(clippy::all, missing_docs, rustdoc::all)]

tonic::include_proto!("csi.v1");

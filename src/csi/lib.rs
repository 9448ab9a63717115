//! The CSI driver (`strata csi`): a node plugin that stages and publishes volumes as
//! XFS-project-quota directories on the node's Strata drives, and a controller that places
//! volumes on drives and reports capacity. Both speak CSI over gRPC on a unix socket.

pub mod authority;
pub mod controller;
pub mod drives;
pub mod error;
#[cfg(test)]
mod fake_mounter;
pub mod identity;
pub mod kube_cache;
pub mod kube_store;
/// The CRD types live in `strata-kube` (shared with the manifests and the operator).
pub use strata_kube::model;
pub mod mount;
pub mod mount_options;
pub mod mounter;
pub mod node;
#[cfg(test)]
mod node_tests;
pub mod placement;
pub mod proto;
pub mod quota;
pub mod request;
pub mod rpc_log;
pub mod server;
pub mod status;
pub mod store;
pub mod volumes;

pub use server::{run, socket_path, CsiConfig, Mode};

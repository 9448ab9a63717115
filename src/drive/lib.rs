//! Drive management: discover the node's block devices, format chosen ones as Strata drives
//! (XFS with project quotas), classify them into tiers, mount them after reboots, release them.

pub mod discover;
/// Crash-safe file helpers, shared with the CSI driver (`strata-util`).
pub use strata_util::fsutil;
mod error;
pub mod host;
pub mod identity;
pub mod model;
pub mod mounts;
pub mod ops;
pub mod probe;
pub mod registry;
pub mod sys;
pub mod udev;

pub use error::DriveError;
pub use host::HostRoot;
pub use model::{Device, Reason, Status, Tier, Transport};
pub use registry::{DriveRecord, Registry, StateDir};

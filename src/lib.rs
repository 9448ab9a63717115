//! Strata: erasure-coded, S3-compatible object storage on the bare drives of a Kubernetes
//! cluster. This package is the thin binaries (`strata`, `drivectl`: `cli`) and the end-to-end
//! tests; each part is its own crate under `src/` (see ARCHITECTURE.md), re-exported here under
//! its short name so that the tests and tools reach every part as `strata::<part>`.

pub mod cli;
pub mod logging;

pub use strata_adminclient as adminclient;
pub use strata_bench as bench;
pub use strata_codec::{bitrot, erasure, md5x};
pub use strata_csi as csi;
pub use strata_drive as drive;
pub use strata_drive::fsutil;
pub use strata_engine as engine;
pub use strata_kube as kube;
pub use strata_kube::manifests as deploy;
pub use strata_s3 as s3;
pub use strata_s3client as s3client;
pub use strata_server as server;

//! The end-to-end tests: the `strata` and `drivectl` binaries driven as their users drive them
//! (real S3 clients, the CSI socket, loop devices with XFS), in one test binary (one link).
//! Each module is a family of tests; `common`, `s3_support` and `csi_support` hold what they
//! share. (The engine's own tests are the engine crate's: src/engine/tests/.)

mod common;
mod csi_support;
mod s3_support;

mod admin_cli;
mod bench_honesty;
mod csi_driver;
mod csi_e2e;
mod csi_kube;
mod csi_quota;
mod deploy_manifests;
mod drive_fixtures;
mod drive_loop;
mod run_script;
mod s3_access;
mod s3_background;
mod s3_clients;
mod s3_conformance;
mod s3_drive_symlinks;
mod s3_errors;
mod s3_faults;
mod s3_hostile;
mod s3_iam;
mod s3_memory;
mod s3_observability;
mod s3_protocol;
mod s3_sts;
mod workspace_rules;

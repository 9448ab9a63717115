//! Command-line front ends. Thin: parse flags into each part's checked configuration, call the
//! library, print, choose the exit code. Only this package depends on clap.

pub mod admin;
pub mod bench;
pub mod csi;
pub mod drivectl;
pub mod prometheus;
pub mod server;
pub mod strata;
pub mod table;

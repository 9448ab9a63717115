//! The engine's integration tests, one binary (one link, against the engine and the codec
//! only): each module is a family of tests; `support` holds what they share.

mod background;
mod concurrency;
mod crash;
mod crash_points;
mod faults;
mod integrity;
mod ops;
mod props;
mod review;
mod support;
mod symlinks;
mod system;

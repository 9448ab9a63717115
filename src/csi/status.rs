//! What every CSI service needs to answer: a run of blocking work whose error becomes its
//! gRPC status (see `error.rs`), and byte counts in the protocol's int64 fields.

use tonic::{Response, Status};

pub type Reply<T> = Result<Response<T>, Status>;

/// Runs a blocking body (state file lock, syscalls, fsync) without stalling the async workers;
/// its error becomes the status the spec names for it.
pub fn blocking<T, E: Into<Status>>(f: impl FnOnce() -> Result<T, E>) -> Reply<T> {
    tokio::task::block_in_place(f)
        .map(Response::new)
        .map_err(Into::into)
}

/// Bytes as the protocol's int64.
pub fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

//! What every CSI service needs to answer: the gRPC status for a failure of its own, of the
//! state store, a run of blocking work, and byte counts in the protocol's int64 fields.

use super::store::StoreError;
use tonic::{Response, Status};

pub type Reply<T> = Result<Response<T>, Status>;

/// Runs a blocking body (state file lock, syscalls, fsync) without stalling the async workers;
/// its error becomes the status the spec names for it.
pub fn blocking<T, E: Into<Status>>(f: impl FnOnce() -> Result<T, E>) -> Reply<T> {
    tokio::task::block_in_place(f)
        .map(Response::new)
        .map_err(Into::into)
}

/// Internal: a failure of the plugin's own work, with what it was doing.
pub fn internal(what: &str, e: impl std::fmt::Display) -> Status {
    Status::internal(format!("{what}: {e}"))
}

/// Unavailable: the state (file or API server) could not be read or written; retrying helps.
pub fn store_error(e: StoreError) -> Status {
    Status::unavailable(e.to_string())
}

/// Bytes as the protocol's int64.
pub fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

//! Where the IAM state is kept: one document per entity, under a key such as
//! `users/alice.json`. The server implements [`Backend`] over erasure-coded objects in the
//! deployment's system area; [`MemoryBackend`] keeps them in memory (tests, and callers'
//! tests), and [`FaultyBackend`] fails a chosen call.
//!
//! A backend stores bytes under keys and nothing more: a `save` replaces the whole document
//! (atomically: a reader sees the old or the new bytes, never a mix), a `delete` of an absent
//! key succeeds, and `list` returns every key that starts with a prefix.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Why the backend could not do what was asked. Built by the backend's implementer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("IAM storage: {kind}: {message}")]
pub struct BackendError {
    pub kind: BackendErrorKind,
    pub message: String,
}

/// The broad reason, for the caller to choose a response (retry, 503, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// A local I/O error of this kind.
    Io(io::ErrorKind),
    /// Too few drives (or, later, nodes) answered to read or write with quorum.
    QuorumLost,
}

impl std::fmt::Display for BackendErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendErrorKind::Io(kind) => write!(f, "I/O error ({kind})"),
            BackendErrorKind::QuorumLost => f.write_str("quorum lost"),
        }
    }
}

impl BackendError {
    pub fn new(kind: BackendErrorKind, message: impl Into<String>) -> BackendError {
        BackendError {
            kind,
            message: message.into(),
        }
    }
}

impl From<io::Error> for BackendError {
    fn from(e: io::Error) -> BackendError {
        BackendError::new(BackendErrorKind::Io(e.kind()), e.to_string())
    }
}

/// Stored documents by key.
pub trait Backend: Send + Sync {
    /// The document under `key`, `None` when there is none.
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError>;
    /// Stores `bytes` under `key`, replacing any document there.
    fn save(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError>;
    /// Removes the document under `key`; removing an absent one succeeds.
    fn delete(&self, key: &str) -> Result<(), BackendError>;
    /// Every key that starts with `prefix` (whole keys, in any order).
    fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError>;
}

/// Documents in memory.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    docs: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryBackend {
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    /// Every stored document, by key (for tests that look at what was written).
    pub fn documents(&self) -> BTreeMap<String, Vec<u8>> {
        self.docs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn docs(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for MemoryBackend {
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        Ok(self.docs().get(key).cloned())
    }

    fn save(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError> {
        self.docs().insert(key.to_string(), bytes.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.docs().remove(key);
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError> {
        Ok(self
            .docs()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
}

/// Another backend whose calls are counted, and one of which fails on purpose (before it
/// reaches the inner backend): for tests of what a failing backend leaves behind.
pub struct FaultyBackend {
    inner: Arc<dyn Backend>,
    calls: AtomicUsize,
    /// The call (by its number, from 0) that fails; `usize::MAX`: none.
    fail_at: AtomicUsize,
}

impl FaultyBackend {
    pub fn new(inner: Arc<dyn Backend>) -> FaultyBackend {
        FaultyBackend {
            inner,
            calls: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(usize::MAX),
        }
    }

    /// Calls made so far (to size a sweep over the calls of one operation).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The `n`-th call from now (from 0) fails; the ones before and after it do not.
    pub fn fail_call(&self, n: usize) {
        self.fail_at.store(self.calls() + n, Ordering::SeqCst);
    }

    /// No call fails.
    pub fn heal(&self) {
        self.fail_at.store(usize::MAX, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), BackendError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n == self.fail_at.load(Ordering::SeqCst) {
            return Err(BackendError::new(
                BackendErrorKind::Io(io::ErrorKind::Other),
                format!("call {n} failed (injected)"),
            ));
        }
        Ok(())
    }
}

impl Backend for FaultyBackend {
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.check()?;
        self.inner.load(key)
    }

    fn save(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError> {
        self.check()?;
        self.inner.save(key, bytes)
    }

    fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.check()?;
        self.inner.delete(key)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError> {
        self.check()?;
        self.inner.list(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_backend_stores_lists_and_deletes() {
        let b = MemoryBackend::new();
        assert_eq!(b.load("users/a.json").unwrap(), None);
        b.save("users/a.json", b"1").unwrap();
        b.save("users/b.json", b"2").unwrap();
        b.save("groups/g.json", b"3").unwrap();
        b.save("users/a.json", b"4").unwrap();
        assert_eq!(b.load("users/a.json").unwrap().as_deref(), Some(&b"4"[..]));
        assert_eq!(b.list("users/").unwrap(), ["users/a.json", "users/b.json"]);
        b.delete("users/a.json").unwrap();
        b.delete("users/a.json").unwrap();
        assert_eq!(b.list("users/").unwrap(), ["users/b.json"]);
    }

    #[test]
    fn faulty_backend_fails_the_chosen_call_only() {
        let b = FaultyBackend::new(Arc::new(MemoryBackend::new()));
        b.save("k", b"v").unwrap();
        b.fail_call(1);
        assert!(b.load("k").is_ok());
        let err = b.save("k", b"w").unwrap_err();
        assert_eq!(err.kind, BackendErrorKind::Io(io::ErrorKind::Other));
        assert_eq!(b.load("k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(b.calls(), 4);
        b.fail_call(0);
        b.heal();
        assert!(b.list("").is_ok());
    }
}

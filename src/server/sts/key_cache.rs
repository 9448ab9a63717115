//! The identity provider's keys, fetched when first needed and kept: fetched again when a
//! token names a key the set does not have (a provider rotating its keys) and when the set is
//! an hour old (a key the provider withdrew stops verifying), but never more than once per
//! `MIN_REFETCH`, so that tokens with made-up key ids cannot make the server hammer the
//! provider. A failed fetch keeps the keys held (and is logged); with none held, tokens are
//! refused until a fetch succeeds.
//!
//! Where the keys are: `--oidc-jwks-url`, else the `jwks_uri` of the issuer's discovery
//! document (`<issuer>/.well-known/openid-configuration`, whose `issuer` must be the one
//! configured, as OpenID Connect Discovery requires).

use super::fetch::{Fetch, FetchError};
use super::jwks::KeySet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Keys held longer than this are fetched again at their next use.
const REFRESH_AFTER: Duration = Duration::from_secs(3600);
/// Fetches are at least this far apart.
pub const MIN_REFETCH: Duration = Duration::from_secs(10);

/// Where the key set is published.
#[derive(Clone, Debug)]
pub enum Source {
    Jwks(String),
    Discovery { issuer: String },
}

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("the identity provider's keys are not available: {0}")]
    Unavailable(String),
}

struct Held {
    keys: Arc<KeySet>,
    at: Instant,
}

struct Fetches {
    last: Option<Instant>,
    last_error: Option<String>,
    /// The discovery document's `jwks_uri`, once read.
    jwks_uri: Option<String>,
}

pub struct KeyCache {
    source: Source,
    fetch: Arc<dyn Fetch>,
    held: RwLock<Option<Held>>,
    /// Serialises fetches; a request that waited here finds the keys another fetched.
    fetches: tokio::sync::Mutex<Fetches>,
}

impl KeyCache {
    pub fn new(source: Source, fetch: Arc<dyn Fetch>) -> KeyCache {
        KeyCache {
            source,
            fetch,
            held: RwLock::new(None),
            fetches: tokio::sync::Mutex::new(Fetches {
                last: None,
                last_error: None,
                jwks_uri: None,
            }),
        }
    }

    /// The keys to check a token naming `kid` (or none) against.
    pub async fn keys(&self, kid: Option<&str>) -> Result<Arc<KeySet>, KeysError> {
        if let Some(keys) = self.usable(kid) {
            return Ok(keys);
        }
        let mut f = self.fetches.lock().await;
        if let Some(keys) = self.usable(kid) {
            return Ok(keys);
        }
        if f.last.is_none_or(|t| t.elapsed() >= MIN_REFETCH) {
            f.last = Some(Instant::now());
            match self.fetch_keys(&mut f).await {
                Ok(keys) => {
                    tracing::info!(keys = keys.keys.len(), "OpenID provider keys fetched");
                    f.last_error = None;
                    *self.write() = Some(Held {
                        keys: Arc::new(keys),
                        at: Instant::now(),
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "OpenID provider keys could not be fetched");
                    f.last_error = Some(e);
                }
            }
        }
        match &*self.read() {
            Some(h) => Ok(h.keys.clone()),
            None => Err(KeysError::Unavailable(
                f.last_error
                    .clone()
                    .unwrap_or_else(|| "not fetched yet".into()),
            )),
        }
    }

    /// The keys held, if they are recent and (for a token naming one) have its key.
    fn usable(&self, kid: Option<&str>) -> Option<Arc<KeySet>> {
        let held = self.read();
        let h = held.as_ref()?;
        let fresh = h.at.elapsed() < REFRESH_AFTER;
        (fresh && kid.is_none_or(|k| h.keys.has(k))).then(|| h.keys.clone())
    }

    async fn fetch_keys(&self, f: &mut Fetches) -> Result<KeySet, String> {
        let url = match (&self.source, &f.jwks_uri) {
            (Source::Jwks(url), _) => url.clone(),
            (Source::Discovery { .. }, Some(uri)) => uri.clone(),
            (Source::Discovery { issuer }, None) => {
                let uri = self.discover(issuer).await?;
                f.jwks_uri = Some(uri.clone());
                uri
            }
        };
        let body = self.fetch.get(&url).await.map_err(|e| describe(&url, e))?;
        KeySet::parse(&body).map_err(|e| format!("{url}: {e}"))
    }

    /// The `jwks_uri` of the issuer's discovery document.
    async fn discover(&self, issuer: &str) -> Result<String, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let body = self.fetch.get(&url).await.map_err(|e| describe(&url, e))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))?;
        if doc.get("issuer").and_then(|v| v.as_str()) != Some(issuer) {
            return Err(format!(
                "{url}: its issuer is not {issuer:?} (OpenID Connect Discovery requires it)"
            ));
        }
        doc.get("jwks_uri")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("{url}: no jwks_uri"))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Held>> {
        self.held.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<Held>> {
        self.held.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn describe(url: &str, e: FetchError) -> String {
    format!("{url}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Serves fixed documents by URL, counting the fetches.
    #[derive(Default)]
    pub struct Fake {
        pub docs: Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
        pub count: AtomicUsize,
    }

    impl Fake {
        fn set(&self, url: &str, doc: serde_json::Value) {
            self.docs
                .lock()
                .unwrap()
                .insert(url.into(), doc.to_string().into_bytes());
        }
    }

    #[async_trait::async_trait]
    impl Fetch for Fake {
        async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
            self.count.fetch_add(1, Ordering::SeqCst);
            self.docs
                .lock()
                .unwrap()
                .get(url)
                .cloned()
                .ok_or(FetchError::Status(404))
        }
    }

    fn jwks(kids: &[&str]) -> serde_json::Value {
        let keys: Vec<_> = kids
            .iter()
            .map(|k| serde_json::json!({"kty": "RSA", "kid": k, "n": "AQAB", "e": "AQAB"}))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn keys_are_discovered_cached_and_refetched_for_unknown_ids_at_most_every_few_seconds() {
        let fake = Arc::new(Fake::default());
        fake.set(
            "http://idp/.well-known/openid-configuration",
            serde_json::json!({"issuer": "http://idp", "jwks_uri": "http://idp/keys"}),
        );
        fake.set("http://idp/keys", jwks(&["a"]));
        let cache = KeyCache::new(
            Source::Discovery {
                issuer: "http://idp".into(),
            },
            fake.clone(),
        );
        rt().block_on(async {
            assert!(cache.keys(Some("a")).await.unwrap().has("a"));
            assert_eq!(fake.count.load(Ordering::SeqCst), 2);
            // Held: no fetch.
            for _ in 0..5 {
                assert!(cache.keys(Some("a")).await.is_ok());
                assert!(cache.keys(None).await.is_ok());
            }
            assert_eq!(fake.count.load(Ordering::SeqCst), 2);
            // An unknown key less than MIN_REFETCH after the last fetch: no fetch.
            fake.set("http://idp/keys", jwks(&["a", "b"]));
            for _ in 0..5 {
                assert!(!cache.keys(Some("b")).await.unwrap().has("b"));
            }
            assert_eq!(fake.count.load(Ordering::SeqCst), 2);
            // Once MIN_REFETCH has passed, one fetch finds the new key (the discovery
            // document is not read again).
            let mut f = cache.fetches.lock().await;
            f.last = Instant::now().checked_sub(MIN_REFETCH);
            drop(f);
            assert!(cache.keys(Some("b")).await.unwrap().has("b"));
            assert_eq!(fake.count.load(Ordering::SeqCst), 3);
            for _ in 0..5 {
                assert!(!cache.keys(Some("zzz")).await.unwrap().has("zzz"));
            }
            assert_eq!(fake.count.load(Ordering::SeqCst), 3);
        });
    }

    #[test]
    fn failures_keep_what_is_held_and_say_why_when_nothing_is() {
        let fake = Arc::new(Fake::default());
        let cache = KeyCache::new(Source::Jwks("http://idp/keys".into()), fake.clone());
        rt().block_on(async {
            let e = cache.keys(Some("a")).await.unwrap_err().to_string();
            assert!(e.contains("http://idp/keys") && e.contains("404"), "{e}");
            // Not fetched again at once.
            assert!(cache.keys(Some("a")).await.is_err());
            assert_eq!(fake.count.load(Ordering::SeqCst), 1);
        });
        // A discovery document naming another issuer is refused.
        let fake = Arc::new(Fake::default());
        fake.set(
            "http://idp/.well-known/openid-configuration",
            serde_json::json!({"issuer": "http://evil", "jwks_uri": "http://idp/keys"}),
        );
        fake.set("http://idp/keys", jwks(&["a"]));
        let cache = KeyCache::new(
            Source::Discovery {
                issuer: "http://idp".into(),
            },
            fake,
        );
        let e = rt()
            .block_on(cache.keys(Some("a")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("issuer"), "{e}");
    }
}

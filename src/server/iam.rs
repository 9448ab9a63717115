//! IAM in the server: the store's documents as system documents of the engine (`iam/…`,
//! erasure-coded, read with quorum), and the S3 authentication hook over the store's
//! identities (root, users, service accounts, temporary credentials).

use s3s::auth::{S3Auth, SecretKey};
use s3s::{s3_error, S3Error, S3ErrorCode};
use std::sync::Arc;
use strata_engine::{Engine, EngineError};
use strata_iam::{Backend, BackendError, BackendErrorKind, Iam, LookupError};

/// Where the IAM documents live in the system area.
const PREFIX: &str = "iam/";

/// The IAM store's backend: the engine's system area.
pub struct EngineBackend {
    engine: Arc<Engine>,
}

impl EngineBackend {
    pub fn new(engine: Arc<Engine>) -> EngineBackend {
        EngineBackend { engine }
    }
}

fn backend_error(e: EngineError) -> BackendError {
    let kind = match &e {
        EngineError::ReadQuorum { .. } | EngineError::WriteQuorum { .. } => {
            BackendErrorKind::QuorumLost
        }
        EngineError::Drive { source, .. } => BackendErrorKind::Io(source.kind()),
        _ => BackendErrorKind::Io(std::io::ErrorKind::Other),
    };
    BackendError::new(kind, e.to_string())
}

impl Backend for EngineBackend {
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.engine
            .get_system(&format!("{PREFIX}{key}"))
            .map_err(backend_error)
    }

    fn save(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError> {
        self.engine
            .put_system(&format!("{PREFIX}{key}"), bytes)
            .map_err(backend_error)
    }

    fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.engine
            .delete_system(&format!("{PREFIX}{key}"))
            .map_err(backend_error)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError> {
        let keys = self
            .engine
            .list_system(&format!("{PREFIX}{prefix}"))
            .map_err(backend_error)?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(PREFIX).map(str::to_string))
            .collect())
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The S3 error of an access key that does not authenticate, as MinIO answers it.
pub fn lookup_error(e: &LookupError) -> S3Error {
    match e {
        LookupError::UnknownAccessKey | LookupError::ParentMissing(_) => s3_error!(
            InvalidAccessKeyId,
            "The Access Key Id you provided does not exist in our records."
        ),
        LookupError::TemporaryExpired => s3_error!(ExpiredToken, "The provided token has expired."),
        LookupError::UserDisabled(_)
        | LookupError::ParentDisabled(_)
        | LookupError::ServiceAccountDisabled
        | LookupError::ServiceAccountExpired
        | LookupError::Unsealable => {
            let mut err = S3Error::with_message(
                S3ErrorCode::InvalidAccessKeyId,
                "Your account is disabled; please contact your administrator.",
            );
            err.set_status_code(http::StatusCode::FORBIDDEN);
            err
        }
    }
}

/// Signatures are checked against the secret of whoever the access key is.
pub struct IamAuth {
    pub iam: Arc<Iam>,
}

#[async_trait::async_trait]
impl S3Auth for IamAuth {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<SecretKey> {
        match self.iam.identity(access_key, now()) {
            Ok(id) => Ok(SecretKey::from(id.secret().expose().to_string())),
            Err(e) => {
                if !matches!(e, LookupError::UnknownAccessKey) {
                    tracing::info!(access_key, reason = %e, "credentials refused");
                }
                Err(lookup_error(&e))
            }
        }
    }
}

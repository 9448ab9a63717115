//! The identity record Strata keeps on every drive it formats. It travels with the drive, so
//! the node registry can always be rebuilt from the drives themselves.

use super::model::Tier;
use crate::fsutil;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Directory at the root of a Strata drive holding Strata's own records.
pub const SYSTEM_DIR: &str = ".strata";
/// Directory at the root of a Strata drive holding CSI volumes (one sub-directory each).
pub const VOLUMES_DIR: &str = "volumes";
const IDENTITY_FILE: &str = "drive.json";
pub const IDENTITY_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub format_version: u32,
    /// The drive's identity: its XFS filesystem UUID, which survives device renames.
    pub drive_id: String,
    pub node: String,
    pub tier: Tier,
    /// True once an operator set the tier with `drivectl tier`; it then wins over detection.
    pub tier_overridden: bool,
    /// RFC 3339 time of formatting.
    pub formatted_at: String,
    pub tool_version: String,
    /// Whether the drive is mounted with XFS project quotas (volumes are size-limited).
    pub project_quota: bool,
}

impl Identity {
    pub fn path(mount_point: &Path) -> PathBuf {
        mount_point.join(SYSTEM_DIR).join(IDENTITY_FILE)
    }

    pub fn load(mount_point: &Path) -> io::Result<Identity> {
        let bytes = fs::read(Identity::path(mount_point))?;
        serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Writes the record crash-safely (temporary file, fsync, rename, directory fsync).
    pub fn store(&self, mount_point: &Path) -> io::Result<()> {
        let dir = mount_point.join(SYSTEM_DIR);
        fs::create_dir_all(&dir)?;
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        fsutil::atomic_write(&dir.join(IDENTITY_FILE), &bytes)
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_through_the_drive() {
        let dir = tempfile::tempdir().unwrap();
        let id = Identity {
            format_version: IDENTITY_FORMAT_VERSION,
            drive_id: "6f1c2a9e-3b4d-4e5f-8a7b-1c2d3e4f5a6b".into(),
            node: "n1".into(),
            tier: Tier::Warm,
            tier_overridden: false,
            formatted_at: now_rfc3339(),
            tool_version: "0.1.0".into(),
            project_quota: true,
        };
        id.store(dir.path()).unwrap();
        assert_eq!(Identity::load(dir.path()).unwrap(), id);
    }

    #[test]
    fn corrupt_identity_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(SYSTEM_DIR)).unwrap();
        fs::write(Identity::path(dir.path()), b"{not json").unwrap();
        let err = Identity::load(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}

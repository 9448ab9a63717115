use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error(transparent)]
    Discover(#[from] super::discover::DiscoverError),
    #[error("{0}: no such block device")]
    NoSuchDevice(String),
    #[error("{0}: not a block device")]
    NotBlockDevice(String),
    #[error("refusing to format {device}: {}", reasons.join("; "))]
    Refused {
        device: String,
        reasons: Vec<String>,
    },
    #[error("refusing to format {device}: the kernel is busy with it ({source}); is it mounted or in use?")]
    Busy {
        device: String,
        source: std::io::Error,
    },
    #[error("refusing to format {0}: this kernel cannot mount XFS with project quotas (CONFIG_XFS_QUOTA is off), so volumes on it could not be size-limited; pass --allow-no-quota to format it anyway")]
    QuotaUnsupported(String),
    #[error("refusing to format {0}: cannot tell whether this kernel can enforce XFS project quotas: /proc/fs/xfs does not say (XFS could not be loaded, or this /proc is not the kernel's) and no kernel config is readable (/boot/config-<release>, /proc/config.gz); the device was not touched. Make one of them readable (in a container: the host's /boot under --host-root), or pass --allow-no-quota to format it anyway (its volumes are then size-limited only if the kernel has quotas after all)")]
    QuotaUnknown(String),
    #[error("{device}: {message}")]
    Mkfs { device: String, message: String },
    #[error("{device}: cannot mount on {target}: {source}")]
    Mount {
        device: String,
        target: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{device} is already a Strata drive ({drive_id}) but not one of this state directory's: `drivectl mount --rebuild` adopts it if its identity names this node; `format --force` makes it again only if it has no identity record (a format that was interrupted)")]
    NotRegistered { device: String, drive_id: String },
    #[error("no Strata drive {0:?} in the registry (see `drivectl list --status strata`)")]
    UnknownDrive(String),
    #[error("drive {0} is not mounted (run `drivectl mount`)")]
    NotMounted(String),
    #[error("refusing to release drive {drive}: it holds {count} volume(s); delete them first")]
    HasVolumes { drive: String, count: usize },
    #[error("refusing to release drive {drive}: {why}; nothing was changed")]
    ReleaseRefused { drive: String, why: String },
}

impl DriveError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> DriveError {
        DriveError::Io {
            what: what.into(),
            source,
        }
    }
}

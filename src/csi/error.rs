//! What the volume logic of the node and the controller fails with, and the one place
//! ([`VolumeError::code`]) that names the gRPC code the CSI specification gives each failure.
//! Request validation (`request.rs`) decides its own statuses; they pass through unchanged.

use super::placement::PlacementError;
use super::store::StoreError;
use std::io;
use strata_drive::Tier;
use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A request refused by `request.rs`, with the code it chose.
    #[error("{}", .0.message())]
    Request(Status),
    #[error("volume {0} does not exist")]
    NoSuchVolume(String),
    #[error("volume {id} lives on node {node}, not {here}")]
    OtherNode {
        id: String,
        node: String,
        here: String,
    },
    #[error("volume {0} is being deleted")]
    Deleting(String),
    /// CreateVolume repeated for a volume being deleted: the caller should retry later.
    #[error("volume {0} is being deleted")]
    RecreatedWhileDeleting(String),
    #[error("volume id {id} collides with volume {name:?}")]
    IdCollision { id: String, name: String },
    #[error(
        "volume {name} exists with {bytes} bytes on tier {tier} on node {node}, incompatible with this request"
    )]
    Incompatible {
        name: String,
        bytes: u64,
        tier: Tier,
        node: String,
    },
    #[error(transparent)]
    Placement(#[from] PlacementError),
    #[error("drive {drive} has {free} bytes free, the volume needs {extra} more (a volume cannot span drives)")]
    NoRoomToGrow {
        drive: String,
        free: u64,
        extra: u64,
    },
    #[error("volume {id} is still in use, {place}: unpublish and unstage it first")]
    InUse { id: String, place: String },
    /// The state contradicts itself (a record naming what is not there).
    #[error("{0}")]
    Inconsistent(&'static str),
    #[error("drive {drive} is not usable on this node: {why}")]
    DriveNotServed { drive: String, why: String },
    #[error("drive {drive}: {why}")]
    DriveFailing { drive: String, why: String },
    #[error("the directory of volume {id} is gone from drive {drive}: its data is lost")]
    DataLost { id: String, drive: String },
    #[error("volume {id} is still mounted at {at}: unpublish and unstage it first")]
    StillMounted { id: String, at: String },
    #[error("volume {0} must be staged first: staging_target_path is empty")]
    NotStagedYet(String),
    #[error("volume {id} is not staged at {path}")]
    NotStagedAt { id: String, path: String },
    #[error("volume {id} is not mounted at {path}")]
    NotMountedAt { id: String, path: String },
    /// Stage or publish on a path that shows something else (with what it shows).
    #[error("{0}")]
    PathTaken(String),
    #[error("volume {id} allows a single writer and is already published at {at}")]
    SingleWriter { id: String, at: String },
    #[error("volume {id} has {bytes} bytes reserved; expand it through the controller first")]
    ExpandFirst { id: String, bytes: u64 },
    /// Another call on the same volume is still running (the in-flight guard).
    #[error("an operation on volume {0} is already in progress")]
    Busy(String),
    /// GetVolumeStats knows only NotFound for a volume this node does not serve.
    #[error("{0}")]
    NotServed(Box<VolumeError>),
    #[error("mounting drives: {0}")]
    DrivesUnavailable(String),
    #[error("{path} stays mounted after 16 unmounts")]
    StuckMount { path: String },
    /// The node's own work (mounts, quotas, directories) failed.
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VolumeError {
    /// A failure of the plugin's own work, with what it was doing.
    pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> VolumeError {
        let what = what.into();
        move |source| VolumeError::Io { what, source }
    }

    /// The gRPC code the CSI specification names for this failure.
    pub fn code(&self) -> Code {
        use VolumeError::*;
        match self {
            Request(s) => s.code(),
            NoSuchVolume(_) | NotMountedAt { .. } | NotServed(_) => Code::NotFound,
            Placement(PlacementError::TooLarge(_)) | NoRoomToGrow { .. } => Code::OutOfRange,
            Placement(PlacementError::NoRoom(_)) => Code::ResourceExhausted,
            // A name whose id is another name's volume: that volume exists, and is not this one.
            Incompatible { .. } | IdCollision { .. } => Code::AlreadyExists,
            RecreatedWhileDeleting(_) => Code::Aborted,
            Inconsistent(_) => Code::Internal,
            OtherNode { .. }
            | InUse { .. }
            | Deleting(_)
            | DriveNotServed { .. }
            | DriveFailing { .. }
            | StillMounted { .. }
            | NotStagedYet(_)
            | NotStagedAt { .. }
            | SingleWriter { .. } => Code::FailedPrecondition,
            PathTaken(_) => Code::AlreadyExists,
            ExpandFirst { .. } => Code::OutOfRange,
            DataLost { .. } => Code::DataLoss,
            Busy(_) => Code::Aborted,
            // The state or the drives cannot be reached now: retrying helps.
            DrivesUnavailable(_) | Store(_) => Code::Unavailable,
            StuckMount { .. } | Io { .. } => Code::Internal,
        }
    }
}

impl From<Status> for VolumeError {
    fn from(s: Status) -> VolumeError {
        VolumeError::Request(s)
    }
}

impl From<VolumeError> for Status {
    fn from(e: VolumeError) -> Status {
        match e {
            VolumeError::Request(s) => s,
            e => Status::new(e.code(), e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_carry_the_code_and_the_message() {
        let s = Status::from(VolumeError::NoSuchVolume("v".into()));
        assert_eq!(
            (s.code(), s.message()),
            (Code::NotFound, "volume v does not exist")
        );
        let s = Status::from(VolumeError::Busy("v".into()));
        assert_eq!(s.code(), Code::Aborted);
        let s = Status::from(VolumeError::NotServed(Box::new(VolumeError::Deleting(
            "v".into(),
        ))));
        assert_eq!(
            (s.code(), s.message()),
            (Code::NotFound, "volume v is being deleted")
        );
        let s = Status::from(VolumeError::from(Status::invalid_argument("x is required")));
        assert_eq!(
            (s.code(), s.message()),
            (Code::InvalidArgument, "x is required")
        );
        let placement = |e| Status::from(VolumeError::Placement(e)).code();
        assert_eq!(
            placement(PlacementError::TooLarge("x".into())),
            Code::OutOfRange
        );
        assert_eq!(
            placement(PlacementError::NoRoom("x".into())),
            Code::ResourceExhausted
        );
        let s = Status::from(VolumeError::RecreatedWhileDeleting("pvc".into()));
        assert_eq!(
            (s.code(), s.message()),
            (Code::Aborted, "volume pvc is being deleted")
        );
        let s = Status::from(VolumeError::Incompatible {
            name: "pvc".into(),
            bytes: 5,
            tier: Tier::Hot,
            node: "n1".into(),
        });
        assert_eq!(s.code(), Code::AlreadyExists);
        assert_eq!(
            s.message(),
            "volume pvc exists with 5 bytes on tier hot on node n1, incompatible with this request"
        );
        let e = VolumeError::io("bind mount")(io::Error::from_raw_os_error(libc::EPERM));
        let s = Status::from(e);
        assert_eq!(s.code(), Code::Internal);
        assert!(s.message().starts_with("bind mount: "), "{}", s.message());
    }
}

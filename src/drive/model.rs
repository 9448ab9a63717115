//! What discovery reports about a block device, and the vocabulary (tier, transport, status,
//! reasons) shared by `drivectl`, the CSI driver and the operator.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Storage tier of a drive: the StorageClass parameter `tier` selects drives by it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Hot,
    Warm,
    Cold,
}

impl Tier {
    /// The default tier: NVMe is hot, other solid-state drives warm, spinning disks cold.
    pub fn classify(transport: Transport, rotational: bool) -> Tier {
        match (transport, rotational) {
            (_, true) => Tier::Cold,
            (Transport::Nvme, false) => Tier::Hot,
            (_, false) => Tier::Warm,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cold => "cold",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "hot" => Ok(Tier::Hot),
            "warm" => Ok(Tier::Warm),
            "cold" => Ok(Tier::Cold),
            _ => Err(format!("unknown tier {s:?}: expected hot, warm or cold")),
        }
    }
}

/// How the device is attached, derived from its place in the sysfs device tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Nvme,
    Sata,
    Sas,
    Scsi,
    Usb,
    Virtio,
    Mmc,
    Loop,
    Dm,
    Md,
    Unknown,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Nvme => "nvme",
            Transport::Sata => "sata",
            Transport::Sas => "sas",
            Transport::Scsi => "scsi",
            Transport::Usb => "usb",
            Transport::Virtio => "virtio",
            Transport::Mmc => "mmc",
            Transport::Loop => "loop",
            Transport::Dm => "dm",
            Transport::Md => "md",
            Transport::Unknown => "unknown",
        }
    }
}

/// Whether `drivectl format` may take the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Available,
    Unavailable,
    /// Already formatted by Strata.
    Strata,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "available",
            Status::Unavailable => "unavailable",
            Status::Strata => "strata",
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "available" => Ok(Status::Available),
            "unavailable" => Ok(Status::Unavailable),
            "strata" => Ok(Status::Strata),
            _ => Err(format!(
                "unknown status {s:?}: expected available, unavailable or strata"
            )),
        }
    }
}

/// Why a device is unavailable. Declared in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Mounted,
    Partitioned,
    HasFilesystem,
    Held,
    ReadOnly,
    TooSmall,
    Removable,
    RootDisk,
    Swap,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Mounted => "mounted",
            Reason::Partitioned => "partitioned",
            Reason::HasFilesystem => "has-filesystem",
            Reason::Held => "held",
            Reason::ReadOnly => "read-only",
            Reason::TooSmall => "too-small",
            Reason::Removable => "removable",
            Reason::RootDisk => "root-disk",
            Reason::Swap => "swap",
        }
    }

    /// `--force` overrides only an existing filesystem or signature; the rest protect data in use.
    pub fn forceable(self) -> bool {
        self == Reason::HasFilesystem
    }
}

/// Disk or partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Disk,
    Partition,
}

/// One block device as discovery sees it. Field names are the stable `-o json|yaml` schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub name: String,
    pub path: String,
    pub major_minor: String,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Bytes.
    pub size: u64,
    pub logical_block_size: u32,
    pub physical_block_size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wwn: Option<String>,
    pub transport: Transport,
    pub rotational: bool,
    pub removable: bool,
    pub read_only: bool,
    pub partitions: Vec<String>,
    pub holders: Vec<String>,
    pub mount_points: Vec<String>,
    /// Filesystem or other signature (`xfs`, `ext4`, `LVM2_member`, `gpt`, …).
    pub filesystem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fs_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fs_label: Option<String>,
    pub tier: Tier,
    pub status: Status,
    pub reasons: Vec<Reason>,
    /// Set when `status` is `strata`: the drive's identity (its XFS filesystem UUID).
    pub drive_id: Option<String>,
}

impl Device {
    /// One human sentence per reason, naming what was found (for refusals and `--all`).
    pub fn explain(&self, reason: Reason) -> String {
        match reason {
            Reason::Mounted => format!("mounted at {}", self.mount_points.join(", ")),
            Reason::Partitioned => format!("has partitions ({})", self.partitions.join(", ")),
            Reason::HasFilesystem => format!(
                "carries a {} signature",
                self.filesystem.as_deref().unwrap_or("filesystem")
            ),
            Reason::Held => format!("held by {}", self.holders.join(", ")),
            Reason::ReadOnly => "is read-only".to_string(),
            Reason::TooSmall => format!(
                "is too small ({} < {})",
                human_size(self.size),
                human_size(super::discover::MIN_DRIVE_SIZE)
            ),
            Reason::Removable => "is removable media".to_string(),
            Reason::RootDisk => "is (part of) the root disk".to_string(),
            Reason::Swap => "is in use as swap".to_string(),
        }
    }
}

pub use strata_util::size::human_size;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_transport_and_rotation() {
        assert_eq!(Tier::classify(Transport::Nvme, false), Tier::Hot);
        assert_eq!(Tier::classify(Transport::Sata, false), Tier::Warm);
        assert_eq!(Tier::classify(Transport::Sas, true), Tier::Cold);
        assert_eq!(Tier::classify(Transport::Nvme, true), Tier::Cold);
    }

    #[test]
    fn bad_tier_names_are_rejected() {
        assert_eq!("HOT".parse::<Tier>(), Ok(Tier::Hot));
        let err = "lukewarm".parse::<Tier>().unwrap_err();
        assert!(err.contains("hot, warm or cold"), "{err}");
    }
}

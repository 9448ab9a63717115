//! Discovery: every block device of the node, read from sysfs, explained with the reasons it
//! may or may not be formatted. Pure reading: nothing here changes the host.

use super::host::HostRoot;
use super::model::{Device, Kind, Reason, Status, Tier, Transport};
use super::mounts::{self, MountEntry};
use super::probe::{self, Signature};
use super::udev::UdevRecord;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// Smaller devices are refused: XFS needs room for its log, and a tiny drive is a mistake.
pub const MIN_DRIVE_SIZE: u64 = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("cannot read block devices from {path}: {source}")]
    Sysfs {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What sysfs says about one device, before the node-wide picture is known.
#[derive(Debug, Clone)]
struct SysBlock {
    name: String,
    devpath: String,
    major_minor: String,
    size: u64,
    partition_of: Option<String>,
    lbs: u32,
    pbs: u32,
    rotational: bool,
    removable: bool,
    read_only: bool,
    holders: Vec<String>,
    slaves: Vec<String>,
    model: Option<String>,
    vendor: Option<String>,
    serial: Option<String>,
    wwid: Option<String>,
    dm_name: Option<String>,
}

/// Lists every block device with its status and reasons, in natural name order.
pub fn discover(host: &HostRoot) -> Result<Vec<Device>, DiscoverError> {
    let blocks = read_sys_blocks(host)?;
    let by_name: HashMap<&str, &SysBlock> = blocks.iter().map(|b| (b.name.as_str(), b)).collect();
    let mountinfo = mounts::read_mountinfo(&host.mountinfo());
    let users = Users::new(&blocks, &mountinfo, &mounts::read_swaps(&host.swaps()));
    let root_disks = root_disks(&by_name, &mountinfo, &users);

    let mut devices: Vec<Device> = blocks
        .iter()
        .map(|b| describe(host, b, &blocks, &by_name, &users, &root_disks))
        .collect();
    devices.sort_by_key(|d| natural_key(&d.name));
    Ok(devices)
}

fn describe(
    host: &HostRoot,
    b: &SysBlock,
    all: &[SysBlock],
    by_name: &HashMap<&str, &SysBlock>,
    users: &Users,
    root_disks: &BTreeSet<String>,
) -> Device {
    let udev = UdevRecord::load(&host.udev_data(&b.major_minor));
    let disk = b
        .partition_of
        .as_deref()
        .and_then(|p| by_name.get(p).copied())
        .unwrap_or(b);
    // Identity (model, serial, WWN) belongs to the disk; partitions inherit it.
    let disk_udev = if std::ptr::eq(disk, b) {
        udev.clone()
    } else {
        UdevRecord::load(&host.udev_data(&disk.major_minor))
    };
    let transport = detect_transport(&disk.name, &disk.devpath, &disk_udev);
    let partitions: Vec<String> = all
        .iter()
        .filter(|p| p.partition_of.as_deref() == Some(b.name.as_str()))
        .map(|p| p.name.clone())
        .collect();
    let signature = read_signature(host, &b.name, &udev, b.partition_of.is_none());
    let mut dev = Device {
        name: b.name.clone(),
        path: format!("/dev/{}", b.name),
        major_minor: b.major_minor.clone(),
        kind: if b.partition_of.is_some() {
            Kind::Partition
        } else {
            Kind::Disk
        },
        parent: b.partition_of.clone(),
        size: b.size,
        logical_block_size: b.lbs,
        physical_block_size: b.pbs,
        model: disk_udev
            .decoded("ID_MODEL_ENC", "ID_MODEL")
            .or_else(|| disk.model.clone()),
        vendor: disk_udev
            .decoded("ID_VENDOR_ENC", "ID_VENDOR")
            .or_else(|| disk.vendor.clone()),
        serial: disk_udev
            .get("ID_SCSI_SERIAL")
            .or_else(|| disk_udev.get("ID_SERIAL_SHORT"))
            .map(str::to_string)
            .or_else(|| disk.serial.clone()),
        wwn: disk_udev
            .get("ID_WWN_WITH_EXTENSION")
            .or_else(|| disk_udev.get("ID_WWN"))
            .map(str::to_string)
            .or_else(|| disk.wwid.clone().filter(|w| !w.starts_with("t10."))),
        transport,
        rotational: disk.rotational,
        removable: disk.removable,
        read_only: b.read_only,
        partitions,
        holders: b.holders.clone(),
        mount_points: users.mounts_of(b),
        filesystem: signature.as_ref().map(|s| s.kind.clone()),
        fs_uuid: signature.as_ref().and_then(|s| s.uuid.clone()),
        fs_label: signature.as_ref().and_then(|s| s.label.clone()),
        tier: Tier::classify(transport, disk.rotational),
        status: Status::Available,
        reasons: Vec::new(),
        drive_id: None,
    };
    let is_strata = signature.as_ref().is_some_and(Signature::is_strata);
    dev.reasons = reasons(&dev, users.is_swap(b), root_disks.contains(&disk.name));
    if is_strata {
        // Strata's own filesystem is no obstacle; other reasons (mounted) stay informative.
        dev.status = Status::Strata;
        dev.drive_id = dev.fs_uuid.clone();
        dev.reasons.retain(|r| *r != Reason::HasFilesystem);
    } else if !dev.reasons.is_empty() {
        dev.status = Status::Unavailable;
    }
    dev
}

fn reasons(dev: &Device, swap: bool, root_disk: bool) -> Vec<Reason> {
    let checks = [
        (Reason::Mounted, !dev.mount_points.is_empty()),
        (Reason::Partitioned, !dev.partitions.is_empty()),
        (Reason::HasFilesystem, dev.filesystem.is_some()),
        (Reason::Held, !dev.holders.is_empty()),
        (Reason::ReadOnly, dev.read_only),
        (Reason::TooSmall, dev.size < MIN_DRIVE_SIZE),
        (Reason::Removable, dev.removable),
        (Reason::RootDisk, root_disk),
        (Reason::Swap, swap),
    ];
    checks
        .into_iter()
        .filter(|(_, hit)| *hit)
        .map(|(r, _)| r)
        .collect()
}

/// The device's own bytes first; udev's cached probe when the device cannot be read.
/// (udev copies a disk's partition-table type onto its partitions, so only disks use it.)
fn read_signature(
    host: &HostRoot,
    name: &str,
    udev: &UdevRecord,
    is_disk: bool,
) -> Option<Signature> {
    match probe::probe_path(&host.dev(name)) {
        Ok(found) => found,
        Err(err) => {
            tracing::debug!(device = name, %err, "cannot probe device, using udev data");
            let table = is_disk.then(|| udev.get("ID_PART_TABLE_TYPE")).flatten();
            let kind = udev.get("ID_FS_TYPE").or(table)?;
            Some(Signature {
                kind: kind.to_string(),
                uuid: udev.get("ID_FS_UUID").map(str::to_string),
                label: udev.get("ID_FS_LABEL").map(str::to_string),
            })
        }
    }
}

/// The device-tree path tells the bus; udev's ID_BUS settles what the path cannot.
fn detect_transport(name: &str, devpath: &str, udev: &UdevRecord) -> Transport {
    let has = |s: &str| devpath.contains(s);
    if name.starts_with("nvme") || has("/nvme/") {
        Transport::Nvme
    } else if name.starts_with("loop") {
        Transport::Loop
    } else if name.starts_with("dm-") {
        Transport::Dm
    } else if name.starts_with("md") {
        Transport::Md
    } else if name.starts_with("mmcblk") {
        Transport::Mmc
    } else if name.starts_with("vd") || has("/virtio") && !has("/host") {
        Transport::Virtio
    } else if has("/usb") {
        Transport::Usb
    } else if has("/end_device-") || has("/sas_") {
        Transport::Sas
    } else if has("/ata") {
        Transport::Sata
    } else {
        match udev.get("ID_BUS") {
            Some("ata") => Transport::Sata,
            Some("usb") => Transport::Usb,
            Some("scsi") => Transport::Scsi,
            _ if has("/host") || has("/target") => Transport::Scsi,
            _ => Transport::Unknown,
        }
    }
}

/// Mounts and swaps, indexed by device.
struct Users {
    mounts: HashMap<String, Vec<String>>,
    swaps: BTreeSet<String>,
}

impl Users {
    fn new(blocks: &[SysBlock], mountinfo: &[MountEntry], swaps: &[String]) -> Users {
        let dm_names: HashMap<&str, &str> = blocks
            .iter()
            .filter_map(|b| Some((b.dm_name.as_deref()?, b.name.as_str())))
            .collect();
        let known: HashMap<&str, &str> = blocks
            .iter()
            .map(|b| (b.major_minor.as_str(), b.name.as_str()))
            .collect();
        let name_of_path = |path: &str| -> Option<String> {
            let base = path.strip_prefix("/dev/")?;
            match base.strip_prefix("mapper/") {
                Some(m) => dm_names.get(m).map(|n| n.to_string()),
                None => Some(base.to_string()),
            }
        };
        let mut mounts: HashMap<String, Vec<String>> = HashMap::new();
        for m in mountinfo {
            let name = known
                .get(m.major_minor.as_str())
                .map(|n| n.to_string())
                .or_else(|| name_of_path(&m.source));
            if let Some(name) = name {
                let points = mounts.entry(name).or_default();
                if !points.contains(&m.mount_point) {
                    points.push(m.mount_point.clone());
                }
            }
        }
        let swaps = swaps.iter().filter_map(|s| name_of_path(s)).collect();
        Users { mounts, swaps }
    }

    fn mounts_of(&self, b: &SysBlock) -> Vec<String> {
        self.mounts.get(&b.name).cloned().unwrap_or_default()
    }

    fn is_swap(&self, b: &SysBlock) -> bool {
        self.swaps.contains(&b.name)
    }
}

/// The disks under `/`: the root device, its disk if it is a partition, and through dm/md
/// slaves every disk it is built from.
fn root_disks(
    by_name: &HashMap<&str, &SysBlock>,
    mountinfo: &[MountEntry],
    users: &Users,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let root_dev = by_name
        .values()
        .find(|b| users.mounts_of(b).iter().any(|p| p == "/"))
        .map(|b| b.name.clone())
        .or_else(|| {
            // Without sysfs knowledge of the root device, trust mountinfo's source path.
            mountinfo
                .iter()
                .rev()
                .find(|m| m.mount_point == "/")
                .and_then(|m| m.source.strip_prefix("/dev/").map(str::to_string))
        });
    let mut stack: Vec<String> = root_dev.into_iter().collect();
    while let Some(name) = stack.pop() {
        let Some(b) = by_name.get(name.as_str()) else {
            continue;
        };
        match (&b.partition_of, b.slaves.is_empty()) {
            (Some(parent), _) => stack.push(parent.clone()),
            (None, false) => stack.extend(b.slaves.iter().cloned()),
            (None, true) => {
                out.insert(b.name.clone());
            }
        }
    }
    out
}

fn read_sys_blocks(host: &HostRoot) -> Result<Vec<SysBlock>, DiscoverError> {
    let dir = host.sys_block();
    let entries = fs::read_dir(&dir).map_err(|source| DiscoverError::Sysfs {
        path: dir.clone(),
        source,
    })?;
    let sys_root = fs::canonicalize(host.sys()).unwrap_or_else(|_| host.sys());
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("ram") {
            continue;
        }
        match read_sys_block(&entry.path(), &name, &sys_root) {
            Some(b) if b.size > 0 => out.push(b),
            Some(_) => {} // detached loop devices, empty card readers
            None => tracing::debug!(device = %name, "unreadable sysfs entry skipped"),
        }
    }
    Ok(out)
}

fn read_sys_block(link: &Path, name: &str, sys_root: &Path) -> Option<SysBlock> {
    let dir = fs::canonicalize(link).ok()?;
    let devpath = dir
        .strip_prefix(sys_root)
        .map(|p| format!("/{}", p.display()))
        .unwrap_or_else(|_| dir.display().to_string());
    let major_minor = attr(&dir, "dev")?;
    let sectors: u64 = attr(&dir, "size")?.parse().ok()?;
    let is_partition = dir.join("partition").exists();
    // Partitions have no queue/ or device/ of their own: those live on the disk.
    let disk_dir = if is_partition {
        dir.parent()?.to_path_buf()
    } else {
        dir.clone()
    };
    let partition_of = is_partition
        .then(|| {
            disk_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .flatten();
    Some(SysBlock {
        name: name.to_string(),
        devpath,
        major_minor,
        size: sectors * 512,
        partition_of,
        lbs: attr_num(&disk_dir, "queue/logical_block_size").unwrap_or(512),
        pbs: attr_num(&disk_dir, "queue/physical_block_size").unwrap_or(512),
        rotational: attr(&disk_dir, "queue/rotational").as_deref() == Some("1"),
        removable: attr(&disk_dir, "removable").as_deref() == Some("1"),
        read_only: attr(&dir, "ro").as_deref() == Some("1"),
        holders: list_dir(&dir.join("holders")),
        slaves: list_dir(&dir.join("slaves")),
        model: attr(&dir, "device/model"),
        vendor: attr(&dir, "device/vendor").filter(|v| !v.starts_with("0x")),
        serial: attr(&dir, "device/serial").or_else(|| attr(&dir, "serial")),
        wwid: attr(&dir, "wwid").or_else(|| attr(&dir, "device/wwid")),
        dm_name: attr(&dir, "dm/name"),
    })
}

/// A sysfs attribute, trimmed; `None` when absent or empty.
fn attr(dir: &Path, name: &str) -> Option<String> {
    let v = fs::read_to_string(dir.join(name)).ok()?;
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn attr_num(dir: &Path, name: &str) -> Option<u32> {
    attr(dir, name)?.parse().ok()
}

fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|n| natural_key(n));
    names
}

/// Sorts `sda2` before `sda10` and `nvme0n1` before `nvme0n1p1`.
pub fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut num: Option<u64> = None;
    for c in s.chars() {
        match (c.to_digit(10), num) {
            (Some(d), n) => num = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d.into())),
            (None, Some(n)) => {
                out.push((std::mem::take(&mut text), n));
                num = None;
                text.push(c);
            }
            (None, None) => text.push(c),
        }
    }
    out.push((text, num.unwrap_or(0)));
    out
}

/// Applies the node registry's view (tier overrides) to discovered Strata drives.
pub fn overlay_tiers(devices: &mut [Device], tiers: &BTreeMap<String, Tier>) {
    for d in devices.iter_mut() {
        if let Some(tier) = d.drive_id.as_ref().and_then(|id| tiers.get(id)) {
            d.tier = *tier;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["sda10", "sda2", "nvme0n1p1", "nvme0n1", "sda"];
        v.sort_by_key(|s| natural_key(s));
        assert_eq!(v, vec!["nvme0n1", "nvme0n1p1", "sda", "sda2", "sda10"]);
    }

    #[test]
    fn transport_from_device_path() {
        let u = UdevRecord::default();
        let t = |n, p| detect_transport(n, p, &u);
        assert_eq!(
            t(
                "nvme0n1",
                "/devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1"
            ),
            Transport::Nvme
        );
        assert_eq!(
            t(
                "sda",
                "/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda"
            ),
            Transport::Sata
        );
        assert_eq!(t("sdb", "/devices/pci0000:00/0000:03:00.0/host2/port-2:0/end_device-2:0/target2:0:0/2:0:0:0/block/sdb"), Transport::Sas);
        assert_eq!(t("sdc", "/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdc"), Transport::Usb);
        assert_eq!(
            t("vdb", "/devices/pci0000:00/0000:00:05.0/virtio2/block/vdb"),
            Transport::Virtio
        );
        assert_eq!(t("loop0", "/devices/virtual/block/loop0"), Transport::Loop);
        assert_eq!(
            t(
                "sdz",
                "/devices/platform/host3/target3:0:0/3:0:0:0/block/sdz"
            ),
            Transport::Scsi
        );
    }
}

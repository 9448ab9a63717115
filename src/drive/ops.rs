//! The `drivectl` operations on one node: format, mount, tier, release. Each checks before it
//! touches anything, and undoes its own partial work when a later step fails.

use super::discover::{self, DiscoverError};
use super::identity::{self, Identity, IDENTITY_FORMAT_VERSION, VOLUMES_DIR};
use super::model::{Device, Status, Tier};
use super::registry::{DriveRecord, DriveState, Registry, StateDir};
use super::{sys, DriveError, HostRoot};
use crate::fsutil::FileLock;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// How long adopting a drive waits for another drivectl's lock on it: tries × pause.
const BRIEF_LOCK_TRIES: u32 = 20;
const BRIEF_LOCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// A node as `drivectl` sees it: where the host's interfaces are, and Strata's state.
#[derive(Debug, Clone)]
pub struct Node {
    pub host: HostRoot,
    pub state: StateDir,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct FormatOptions {
    /// Also take devices that carry a filesystem or signature.
    pub force: bool,
    /// Tier to record instead of the detected one.
    pub tier: Option<Tier>,
    /// Format even when the kernel cannot enable XFS project quotas.
    pub allow_no_quota: bool,
}

#[derive(Debug)]
pub enum FormatOutcome {
    Formatted(DriveRecord),
    AlreadyStrata { drive_id: String },
}

/// Progress callback: (device name, step).
pub type Progress<'a> = &'a (dyn Fn(&str, &str) + Sync);

#[derive(Debug, Default)]
pub struct MountReport {
    pub mounted: Vec<DriveRecord>,
    pub missing: Vec<DriveRecord>,
    pub failed: Vec<(String, DriveError)>,
    /// Strata drives found but not adopted by `--rebuild`, with why (another node's drive,
    /// in use elsewhere, no identity record).
    pub skipped: Vec<(String, String)>,
}

impl Node {
    pub fn new(host: HostRoot, state: StateDir, name: String) -> Node {
        Node { host, state, name }
    }

    /// Discovery with the registry's tier overrides applied to Strata drives.
    pub fn discover(&self) -> Result<Vec<Device>, DriveError> {
        let mut devices = discover::discover(&self.host)?;
        let reg = self.registry()?;
        let tiers: BTreeMap<String, Tier> = reg
            .drives
            .iter()
            .map(|d| (d.drive_id.clone(), d.tier))
            .collect();
        discover::overlay_tiers(&mut devices, &tiers);
        Ok(devices)
    }

    pub fn registry(&self) -> Result<Registry, DriveError> {
        Registry::load(&self.state).map_err(|e| DriveError::io("reading the drive registry", e))
    }

    /// Formats every device in parallel; one failure neither stops nor undoes the others.
    /// Returns one result per distinct argument, in argument order.
    pub fn format(
        &self,
        args: &[String],
        opts: &FormatOptions,
        progress: Progress<'_>,
    ) -> Vec<(String, Result<FormatOutcome, DriveError>)> {
        let devices = match discover::discover(&self.host) {
            Ok(d) => d,
            Err(e) => {
                return args
                    .iter()
                    .map(|a| (a.clone(), Err(dup_discover(&e))))
                    .collect()
            }
        };
        // Decided before any device is touched: a refusal after mkfs would leave it changed.
        let quota = sys::xfs_quota_support(&self.host);
        let mut args: Vec<&String> = args.iter().collect();
        args.dedup();
        std::thread::scope(|s| {
            let jobs: Vec<_> = args
                .iter()
                .map(|arg| {
                    let resolved = self.resolve(arg, &devices);
                    s.spawn(move || {
                        let dev = resolved?;
                        self.format_one(dev, opts, quota, progress)
                    })
                })
                .collect();
            args.iter()
                .zip(jobs)
                .map(|(arg, job)| {
                    let res = job.join().unwrap_or_else(|_| {
                        Err(DriveError::io(
                            arg.to_string(),
                            io::Error::other("formatting thread panicked"),
                        ))
                    });
                    (arg.to_string(), res)
                })
                .collect()
        })
    }

    /// Maps a command-line device (`sdb`, `/dev/sdb`, `/dev/disk/by-id/…`) to a discovered one.
    pub fn resolve<'a>(&self, arg: &str, devices: &'a [Device]) -> Result<&'a Device, DriveError> {
        let name = if arg.contains('/') && self.host.is_real() {
            let path = Path::new(arg);
            let real = fs::canonicalize(path).map_err(|_| DriveError::NoSuchDevice(arg.into()))?;
            sys::require_block_device(&real).map_err(|_| DriveError::NotBlockDevice(arg.into()))?;
            file_name(&real)
        } else {
            arg.strip_prefix("/dev/").unwrap_or(arg).to_string()
        };
        devices
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| DriveError::NoSuchDevice(arg.into()))
    }

    fn format_one(
        &self,
        seen: &Device,
        opts: &FormatOptions,
        quota: Option<bool>,
        progress: Progress<'_>,
    ) -> Result<FormatOutcome, DriveError> {
        if seen.status != Status::Strata {
            if let Some(done) = self.may_format(seen, opts, quota, false)? {
                return Ok(done);
            }
        }
        // Held until the drive is formatted, mounted and registered (or wiped again), so that
        // no other drivectl (a `mount --rebuild` looking for drives) touches it half-made.
        // What discovery saw is checked again under it: the last holder may have changed it.
        let _device = self.lock_device(seen, true)?;
        let mut dev = self
            .look_again(seen, None)?
            .ok_or_else(|| DriveError::NoSuchDevice(seen.path.clone()))?;
        let interrupted = opts.force && self.interrupted_format(&dev)?;
        if interrupted {
            dev = self.unmount_half_made(dev)?;
        }
        let dev = &dev;
        if let Some(done) = self.may_format(dev, opts, quota, interrupted)? {
            return Ok(done);
        }
        let path = self.host.dev(&dev.name);
        sys::check_not_busy(&path).map_err(|source| DriveError::Busy {
            device: dev.path.clone(),
            source,
        })?;

        let drive_id = uuid::Uuid::new_v4().to_string();
        progress(&dev.name, "creating XFS filesystem");
        sys::mkfs_xfs(&path, &drive_id, opts.force).map_err(|message| DriveError::Mkfs {
            device: dev.path.clone(),
            message,
        })?;
        let created = self.finish_format(dev, &path, &drive_id, opts, progress);
        if created.is_err() {
            // Leave the device as unformatted, not as a Strata drive nobody knows about.
            let mount_point = self.state.mount_point(&drive_id);
            let _ = sys::unmount(&mount_point);
            let _ = fs::remove_dir(&mount_point);
            if let Err(e) = sys::wipe_signature(&path) {
                tracing::warn!(device = %dev.path, %e, "cannot wipe a failed format");
            }
        }
        created.map(FormatOutcome::Formatted)
    }

    /// Whether `dev` may be formatted: an error saying why not, `Some` when it already is one
    /// of this node's Strata drives, `None` to go ahead (a Strata drive whose format was
    /// `interrupted` is made again).
    fn may_format(
        &self,
        dev: &Device,
        opts: &FormatOptions,
        quota: Option<bool>,
        interrupted: bool,
    ) -> Result<Option<FormatOutcome>, DriveError> {
        if dev.status == Status::Strata && !interrupted {
            let drive_id = dev.drive_id.clone().unwrap_or_default();
            if self.registry()?.find(&drive_id).is_none() {
                return Err(DriveError::NotRegistered {
                    device: dev.path.clone(),
                    drive_id,
                });
            }
            return Ok(Some(FormatOutcome::AlreadyStrata { drive_id }));
        }
        let blocking: Vec<String> = dev
            .reasons
            .iter()
            .filter(|r| !(r.forceable() && opts.force))
            .map(|r| dev.explain(*r))
            .collect();
        if !blocking.is_empty() {
            return Err(DriveError::Refused {
                device: dev.path.clone(),
                reasons: blocking,
            });
        }
        match quota {
            Some(true) => Ok(None),
            _ if opts.allow_no_quota => Ok(None),
            Some(false) => Err(DriveError::QuotaUnsupported(dev.path.clone())),
            None => Err(DriveError::QuotaUnknown(dev.path.clone())),
        }
    }

    fn finish_format(
        &self,
        dev: &Device,
        path: &Path,
        drive_id: &str,
        opts: &FormatOptions,
        progress: Progress<'_>,
    ) -> Result<DriveRecord, DriveError> {
        progress(&dev.name, "mounting with project quotas");
        let mount_point = self.state.mount_point(drive_id);
        let project_quota = self.mount_drive(dev, path, &mount_point, true, opts.allow_no_quota)?;
        progress(&dev.name, "writing identity");
        let tier = opts.tier.unwrap_or(dev.tier);
        let id = Identity {
            format_version: IDENTITY_FORMAT_VERSION,
            drive_id: drive_id.to_string(),
            node: self.name.clone(),
            tier,
            tier_overridden: opts.tier.is_some(),
            formatted_at: identity::now_rfc3339(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            project_quota,
        };
        id.store(&mount_point)
            .map_err(|e| DriveError::io(format!("{}: writing identity", dev.path), e))?;
        fs::create_dir_all(mount_point.join(VOLUMES_DIR))
            .map_err(|e| DriveError::io(format!("{}: creating volumes dir", dev.path), e))?;
        let record = record_of(&id, dev, mount_point);
        Registry::update(&self.state, |r| r.upsert(record.clone()))
            .map_err(|e| DriveError::io("updating the drive registry", e))?;
        progress(&dev.name, "done");
        Ok(record)
    }

    /// Mounts at the drive's place, with project quotas when wanted. Falls back to a plain
    /// mount only when allowed and the kernel lacks quota support. Returns whether quotas are on.
    fn mount_drive(
        &self,
        dev: &Device,
        path: &Path,
        target: &Path,
        want_quota: bool,
        allow_no_quota: bool,
    ) -> Result<bool, DriveError> {
        fs::create_dir_all(target)
            .map_err(|e| DriveError::io(format!("creating {}", target.display()), e))?;
        let err = match sys::mount_xfs(path, target, want_quota) {
            Ok(()) => return Ok(want_quota),
            Err(e) => e,
        };
        let einval = err.raw_os_error() == Some(libc::EINVAL);
        if want_quota && einval && sys::mount_xfs(path, target, false).is_ok() {
            // A plain mount works, so only quota support was missing.
            if allow_no_quota {
                tracing::warn!(device = %dev.path, "mounted without project quotas");
                return Ok(false);
            }
            let _ = sys::unmount(target);
            let _ = fs::remove_dir(target);
            return Err(DriveError::QuotaUnsupported(dev.path.clone()));
        }
        let _ = fs::remove_dir(target);
        Err(DriveError::Mount {
            device: dev.path.clone(),
            target: target.to_path_buf(),
            source: err,
        })
    }

    /// Mounts every registered drive where it belongs, finding it by filesystem UUID whatever
    /// its device name is now. With `adopt`, also takes the unused Strata drives formatted for
    /// this node (this rebuilds a lost registry).
    pub fn mount_all(&self, adopt: bool) -> Result<MountReport, DriveError> {
        let _mounts = self.mounts_lock()?;
        let devices = discover::discover(&self.host)?;
        let mut by_id: HashMap<&str, Vec<&Device>> = HashMap::new();
        for d in devices.iter().filter(|d| d.status == Status::Strata) {
            if let Some(id) = d.drive_id.as_deref() {
                by_id.entry(id).or_default().push(d);
            }
        }
        let reg = self.registry()?;
        let mut wanted: Vec<(String, Option<&DriveRecord>)> = reg
            .drives
            .iter()
            .map(|r| (r.drive_id.clone(), Some(r)))
            .collect();
        if adopt {
            let mut extra: Vec<&str> = by_id
                .keys()
                .copied()
                .filter(|id| reg.drives.iter().all(|r| r.drive_id != *id))
                .collect();
            extra.sort();
            wanted.extend(extra.into_iter().map(|id| (id.to_string(), None)));
        }

        let mut report = MountReport::default();
        for (id, known) in wanted {
            match by_id.get(id.as_str()).map(Vec::as_slice) {
                None | Some([]) => {
                    if let Some(rec) = known {
                        let mut rec = rec.clone();
                        rec.state = DriveState::Missing;
                        report.missing.push(rec);
                    }
                }
                Some([dev]) if known.is_none() => match self.adopt(dev, &id) {
                    Ok(Ok(rec)) => report.mounted.push(rec),
                    Ok(Err(why)) => report.skipped.push((id, why)),
                    Err(e) => report.failed.push((id, e)),
                },
                Some([dev]) => match self.mount_known(dev, &id, known) {
                    Ok(rec) => report.mounted.push(rec),
                    Err(e) => report.failed.push((id, e)),
                },
                Some(many) => {
                    let names: Vec<&str> = many.iter().map(|d| d.path.as_str()).collect();
                    let msg = format!(
                        "filesystem UUID found on several devices: {}",
                        names.join(", ")
                    );
                    report
                        .failed
                        .push((id, DriveError::io("ambiguous drive", io::Error::other(msg))));
                }
            }
        }
        Registry::update(&self.state, |r| {
            for rec in report.mounted.iter().chain(&report.missing) {
                r.upsert(rec.clone());
            }
        })
        .map_err(|e| DriveError::io("updating the drive registry", e))?;
        Ok(report)
    }

    fn mount_known(
        &self,
        seen: &Device,
        drive_id: &str,
        known: Option<&DriveRecord>,
    ) -> Result<DriveRecord, DriveError> {
        let target = self.state.mount_point(drive_id);
        let here = target.to_string_lossy();
        let at_place = |d: &Device| d.mount_points.iter().any(|m| *m == here);
        // Already at its place (every pass of the CSI plugin over a healthy node): only its
        // identity is read. Otherwise it is mounted under its lock, as it is now.
        let (_device, fresh);
        let dev = if at_place(seen) {
            seen
        } else {
            _device = self.lock_device(seen, true)?;
            fresh = self.look_again(seen, Some(drive_id))?;
            let Some(dev) = &fresh else {
                let msg = "it changed while waiting for its lock; run the mount again";
                return Err(DriveError::io(seen.path.clone(), io::Error::other(msg)));
            };
            dev
        };
        if !at_place(dev) {
            if !dev.mount_points.is_empty() {
                let msg = format!("already mounted at {}", dev.mount_points.join(", "));
                return Err(DriveError::io(dev.path.clone(), io::Error::other(msg)));
            }
            let want_quota = known.is_none_or(|r| r.project_quota);
            let allow_plain = known.is_some_and(|r| !r.project_quota);
            self.mount_drive(
                dev,
                &self.host.dev(&dev.name),
                &target,
                want_quota,
                allow_plain,
            )?;
        }
        let id = Identity::load(&target)
            .map_err(|e| DriveError::io(format!("{}: reading identity", dev.path), e))?;
        if id.drive_id != drive_id {
            let msg = format!(
                "identity says drive {}, filesystem UUID is {drive_id}",
                id.drive_id
            );
            return Err(DriveError::io(dev.path.clone(), io::Error::other(msg)));
        }
        Ok(record_of(&id, dev, target))
    }

    /// Takes a Strata drive this state directory does not know: only one that is not in use
    /// and whose identity names this node (a lab's or another node's drive is left alone).
    fn adopt(
        &self,
        seen: &Device,
        drive_id: &str,
    ) -> Result<Result<DriveRecord, String>, DriveError> {
        let Some(_device) = self.lock_device(seen, false)? else {
            return Ok(Err(
                "locked: another drivectl is formatting, mounting or releasing it".into(),
            ));
        };
        let Some(dev) = &self.look_again(seen, Some(drive_id))? else {
            return Ok(Err("it changed while being looked at".into()));
        };
        let target = self.state.mount_point(drive_id);
        let ours = dev.mount_points.iter().any(|m| Path::new(m) == target);
        if !ours && !dev.mount_points.is_empty() {
            return Ok(Err(format!(
                "in use, mounted at {}",
                dev.mount_points.join(", ")
            )));
        }
        if !ours {
            self.mount_drive(dev, &self.host.dev(&dev.name), &target, true, true)?;
        }
        let why = match Identity::load(&target) {
            Ok(id) if id.node == self.name && id.drive_id == drive_id => {
                return Ok(Ok(record_of(&id, dev, target)));
            }
            Ok(id) if id.drive_id != drive_id => format!("identity names drive {}", id.drive_id),
            Ok(id) => format!("formatted for node {:?}", id.node),
            Err(e) => format!(
                "no identity record ({e}): an interrupted format? format it again with --force"
            ),
        };
        if !ours {
            let _ = sys::unmount(&target);
            let _ = fs::remove_dir(&target);
        }
        Ok(Err(why))
    }

    /// Overrides a drive's tier; the identity record on the drive keeps it across remounts.
    pub fn set_tier(&self, key: &str, tier: Tier) -> Result<DriveRecord, DriveError> {
        let rec = self.find(key)?;
        let mut id = Identity::load(&rec.mount_point)
            .map_err(|_| DriveError::NotMounted(rec.drive_id.clone()))?;
        id.tier = tier;
        id.tier_overridden = true;
        id.store(&rec.mount_point)
            .map_err(|e| DriveError::io(format!("drive {}: writing identity", rec.drive_id), e))?;
        let mut updated = rec.clone();
        updated.tier = tier;
        updated.tier_overridden = true;
        Registry::update(&self.state, |r| r.upsert(updated.clone()))
            .map_err(|e| DriveError::io("updating the drive registry", e))?;
        Ok(updated)
    }

    /// Unmounts a drive and wipes its Strata signature. Refused while it holds volumes and
    /// whenever they cannot be counted: a drive not mounted at all is mounted read-only at
    /// a scratch place to count them; one mounted anywhere but its place is in use by
    /// something else and refused. A drive that went missing is only forgotten (nothing
    /// to wipe; `mount --rebuild` takes it back if it returns).
    pub fn release(&self, key: &str) -> Result<DriveRecord, DriveError> {
        let rec = self.find(key)?;
        let _mounts = self.mounts_lock()?;
        let devices = discover::discover(&self.host)?;
        let found: Vec<&Device> = devices
            .iter()
            .filter(|d| d.drive_id.as_deref() == Some(rec.drive_id.as_str()))
            .collect();
        match found.as_slice() {
            [] => {}
            [dev] => self.wipe_if_empty(&rec, dev)?,
            many => {
                let names: Vec<&str> = many.iter().map(|d| d.path.as_str()).collect();
                let why = format!(
                    "its filesystem UUID is on several devices ({})",
                    names.join(", ")
                );
                return Err(refused(&rec, why));
            }
        }
        let _ = fs::remove_dir(&rec.mount_point);
        Registry::update(&self.state, |r| {
            r.drives.retain(|d| d.drive_id != rec.drive_id)
        })
        .map_err(|e| DriveError::io("updating the drive registry", e))?;
        Ok(rec)
    }

    /// Counts the drive's volumes and, when there are none, unmounts and wipes it.
    fn wipe_if_empty(&self, rec: &DriveRecord, seen: &Device) -> Result<(), DriveError> {
        let _device = self.lock_device(seen, true)?;
        let Some(dev) = &self.look_again(seen, Some(&rec.drive_id))? else {
            return Err(refused(rec, "it changed while waiting for its lock".into()));
        };
        let place = &rec.mount_point;
        let elsewhere: Vec<&str> = dev
            .mount_points
            .iter()
            .filter(|m| Path::new(m) != place)
            .map(String::as_str)
            .collect();
        if !elsewhere.is_empty() {
            let why = format!(
                "it is mounted at {} (its place is {}): in use, unmount it there first",
                elsewhere.join(", "),
                place.display()
            );
            return Err(refused(rec, why));
        }
        let at_place = !dev.mount_points.is_empty();
        let volumes = if at_place {
            count_volumes(rec, place)
        } else {
            self.count_volumes_unmounted(rec, dev)
        };
        let volumes =
            volumes.map_err(|why| refused(rec, format!("cannot count its volumes: {why}")))?;
        if volumes > 0 {
            return Err(DriveError::HasVolumes {
                drive: rec.drive_id.clone(),
                count: volumes,
            });
        }
        if at_place {
            sys::unmount(place)
                .map_err(|e| DriveError::io(format!("unmounting {}", place.display()), e))?;
        }
        sys::wipe_signature(&self.host.dev(&dev.name))
            .map_err(|e| DriveError::io(format!("{}: wiping", dev.path), e))
    }

    /// Counts the volumes of a drive mounted nowhere, on a read-only mount at a scratch
    /// place that is gone again afterwards.
    fn count_volumes_unmounted(&self, rec: &DriveRecord, dev: &Device) -> Result<usize, String> {
        self.read_only(&rec.drive_id, dev, |root| count_volumes(rec, root))?
    }

    /// Runs `look` on the drive mounted read-only at a scratch place, then unmounts it.
    fn read_only<T>(
        &self,
        drive_id: &str,
        dev: &Device,
        look: impl FnOnce(&Path) -> T,
    ) -> Result<T, String> {
        let scratch = self.state.release_mount_point(drive_id);
        fs::create_dir_all(&scratch)
            .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
        if let Err(e) = sys::mount_xfs_read_only(&self.host.dev(&dev.name), &scratch) {
            let _ = fs::remove_dir(&scratch);
            return Err(format!(
                "it is not mounted, and mounting {} read-only at {} failed: {e}",
                dev.path,
                scratch.display()
            ));
        }
        let seen = look(&scratch);
        let unmounted = sys::unmount(&scratch);
        let _ = fs::remove_dir(&scratch);
        unmounted.map_err(|e| format!("cannot unmount {}: {e}", scratch.display()))?;
        Ok(seen)
    }

    /// A Strata drive without an identity record: a format stopped between `mkfs.xfs` and
    /// writing the record (killed, or the machine went down). Looked at where it is mounted,
    /// or mounted read-only for the look; one that cannot be looked at is not taken for one.
    fn interrupted_format(&self, dev: &Device) -> Result<bool, DriveError> {
        if dev.status != Status::Strata {
            return Ok(false);
        }
        let drive_id = dev.drive_id.clone().unwrap_or_default();
        if let Some(place) = dev.mount_points.first() {
            return Ok(Identity::load(Path::new(place)).is_err());
        }
        self.read_only(&drive_id, dev, |root| Identity::load(root).is_err())
            .map_err(|why| DriveError::io(dev.path.clone(), io::Error::other(why)))
    }

    /// Unmounts a half-made drive from its place under this state directory (where the
    /// interrupted format mounted it) before it is made again; mounted anywhere else, it is
    /// in use and the format is refused as for any mounted device.
    fn unmount_half_made(&self, dev: Device) -> Result<Device, DriveError> {
        let drive_id = dev.drive_id.clone().unwrap_or_default();
        let place = self.state.mount_point(&drive_id);
        if !dev.mount_points.iter().any(|m| Path::new(m) == place) {
            return Ok(dev);
        }
        sys::unmount(&place)
            .map_err(|e| DriveError::io(format!("unmounting {}", place.display()), e))?;
        let _ = fs::remove_dir(&place);
        self.look_again(&dev, None)?
            .ok_or_else(|| DriveError::NoSuchDevice(dev.path.clone()))
    }

    /// Locks the device node (flock, the convention udev and systemd honour): held while a
    /// drive is formatted, mounted, adopted or wiped, so two drivectl runs (or a drivectl and
    /// the CSI node plugin, whatever their state directories) never work on one device at
    /// once. Without `wait`, waits only as long as a mount takes and answers `None` if the
    /// device stays locked (a format, which can take minutes while it discards).
    fn lock_device(&self, dev: &Device, wait: bool) -> Result<Option<FileLock>, DriveError> {
        let path = self.host.dev(&dev.name);
        let err = |e| DriveError::io(format!("locking {}", dev.path), e);
        if wait {
            return FileLock::acquire_existing(&path, true).map_err(err);
        }
        for _ in 0..BRIEF_LOCK_TRIES {
            if let Some(lock) = FileLock::acquire_existing(&path, false).map_err(err)? {
                return Ok(Some(lock));
            }
            std::thread::sleep(BRIEF_LOCK_PAUSE);
        }
        Ok(None)
    }

    /// The device as it is now, once its lock is held: what discovery saw before may have been
    /// changed by whoever held the lock. `None` when it is gone or carries another drive.
    fn look_again(
        &self,
        seen: &Device,
        drive_id: Option<&str>,
    ) -> Result<Option<Device>, DriveError> {
        let now = discover::discover(&self.host)?
            .into_iter()
            .find(|d| d.name == seen.name);
        Ok(now.filter(|d| drive_id.is_none_or(|id| d.drive_id.as_deref() == Some(id))))
    }

    /// See [`StateDir::mounts_lock_path`].
    fn mounts_lock(&self) -> Result<FileLock, DriveError> {
        let path = self.state.mounts_lock_path();
        fs::create_dir_all(self.state.root())
            .and_then(|()| FileLock::acquire(&path))
            .map_err(|e| DriveError::io(format!("locking {}", path.display()), e))
    }

    fn find(&self, key: &str) -> Result<DriveRecord, DriveError> {
        self.registry()?
            .find(key)
            .cloned()
            .ok_or_else(|| DriveError::UnknownDrive(key.to_string()))
    }
}

fn record_of(id: &Identity, dev: &Device, mount_point: PathBuf) -> DriveRecord {
    DriveRecord {
        drive_id: id.drive_id.clone(),
        node: id.node.clone(),
        tier: id.tier,
        tier_overridden: id.tier_overridden,
        device: dev.path.clone(),
        mount_point,
        size: dev.size,
        project_quota: id.project_quota,
        state: DriveState::Ready,
        formatted_at: id.formatted_at.clone(),
    }
}

fn refused(rec: &DriveRecord, why: String) -> DriveError {
    DriveError::ReleaseRefused {
        drive: rec.drive_id.clone(),
        why,
    }
}

/// The volumes on the drive mounted at `root`, after checking by its identity record that
/// it is this drive. Every error is an error, never "no volumes".
fn count_volumes(rec: &DriveRecord, root: &Path) -> Result<usize, String> {
    let id = Identity::load(root)
        .map_err(|e| format!("no readable identity record under {}: {e}", root.display()))?;
    if id.drive_id != rec.drive_id {
        return Err(format!(
            "{} holds drive {}, not this one",
            root.display(),
            id.drive_id
        ));
    }
    let dir = root.join(VOLUMES_DIR);
    match fs::read_dir(&dir) {
        // The drive's own filesystem with no volumes directory holds no volumes.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(format!("cannot read {}: {e}", dir.display())),
        Ok(entries) => entries
            .map(|e| e.map(drop))
            .collect::<io::Result<Vec<()>>>()
            .map(|v| v.len())
            .map_err(|e| format!("cannot read {}: {e}", dir.display())),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Discovery errors are not Clone (they hold io::Error); each argument gets its own copy.
fn dup_discover(e: &DiscoverError) -> DriveError {
    DriveError::io("discovering devices", io::Error::other(e.to_string()))
}

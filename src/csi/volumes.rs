//! The node side of volumes: each volume's directory on its drive (one of [`NodeDrives`]),
//! with its XFS project quota, and the records of where it is mounted.
//!
//! On a drive, volume `<id>` is the directory `volumes/<id>`, charged to the volume's project
//! id. Deleting renames it to `volumes/.deleting-<id>` first, so that a crash part-way
//! through leaves a name that the next pass recognises and finishes removing.

use super::drives::{Mounted, NodeDrives};
use super::error::VolumeError;
use super::model::{MountKind, VolumeEntry, VolumePhase};
use super::mounter::Mounter;
use super::store::Store;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use strata_drive::identity::VOLUMES_DIR;
use strata_drive::ops::Node as DriveNode;
use tracing::{error, info, warn};

const DELETING_PREFIX: &str = ".deleting-";

type Result<T, E = VolumeError> = std::result::Result<T, E>;

/// This node's drives and the volume directories on them.
pub struct NodeVolumes {
    drives: NodeDrives,
    store: Store,
    mounter: Arc<dyn Mounter>,
    /// Set once a whole pass has run.
    started: AtomicBool,
    /// Volumes whose mounts (and their records in the state) are being changed, by whom.
    busy: Mutex<HashMap<String, Holder>>,
    released: Condvar,
}

/// Who holds a volume: an RPC (a second overlapping RPC is refused) or the node's own pass
/// (which an RPC waits for: it holds a volume only for a look at the mount table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Rpc,
    Pass,
}

/// Holds a volume's mounts still: stage, publish and their undoing, and the check of the
/// records against the mount table, never interleave on one volume.
pub struct VolumeLock<'a> {
    volumes: &'a NodeVolumes,
    id: String,
}

impl Drop for VolumeLock<'_> {
    fn drop(&mut self) {
        let mut busy = self.volumes.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.remove(&self.id);
        self.volumes.released.notify_all();
    }
}

/// What a volume uses, as its quota (or, on a drive without quotas, a walk) sees it, and what
/// its drive has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VolumeUsage {
    pub bytes_total: u64,
    pub bytes_used: u64,
    /// Bytes the drive's filesystem can still give (to any volume).
    pub drive_bytes_free: u64,
    pub inodes_total: u64,
    pub inodes_used: u64,
}

impl NodeVolumes {
    pub fn new(drives: DriveNode, store: Store, mounter: Arc<dyn Mounter>) -> NodeVolumes {
        NodeVolumes {
            drives: NodeDrives::new(drives, store.clone(), mounter.clone()),
            store,
            mounter,
            started: AtomicBool::new(false),
            busy: Mutex::new(HashMap::new()),
            released: Condvar::new(),
        }
    }

    /// A drive served without a pass (the node logic's unit tests).
    #[cfg(test)]
    pub(super) fn serve_drive(&self, id: &str, mounted: Mounted) {
        self.drives.serve(id, mounted);
    }

    pub fn mounter(&self) -> &dyn Mounter {
        &*self.mounter
    }

    /// The in-flight guard of an RPC on a volume: Busy (Aborted) while another RPC on the
    /// same volume runs, as the spec asks of overlapping calls; waits out the node's pass.
    pub fn begin(&self, id: &str) -> Result<VolumeLock<'_>> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match busy.get(id) {
                None => break,
                Some(Holder::Rpc) => return Err(VolumeError::Busy(id.to_string())),
                Some(Holder::Pass) => {
                    busy = self.released.wait(busy).unwrap_or_else(|p| p.into_inner())
                }
            }
        }
        Ok(self.hold(&mut busy, id, Holder::Rpc))
    }

    /// Waits until no other call changes the volume's mounts, and holds it (the node's pass).
    fn lock(&self, id: &str) -> VolumeLock<'_> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while busy.contains_key(id) {
            busy = self.released.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        self.hold(&mut busy, id, Holder::Pass)
    }

    fn hold(&self, busy: &mut HashMap<String, Holder>, id: &str, by: Holder) -> VolumeLock<'_> {
        busy.insert(id.to_string(), by);
        VolumeLock {
            volumes: self,
            id: id.to_string(),
        }
    }

    /// Records in the state, before mounting, that the volume is mounted at `path`: from
    /// then on DeleteVolume refuses it. FailedPrecondition when it is being deleted (the
    /// same transaction that a delete marks it in, so one of the two wins).
    pub fn record_mount(&self, id: &str, kind: MountKind, path: &str) -> Result<()> {
        self.store.transact(|st| {
            let v = st
                .volumes
                .get_mut(id)
                .ok_or_else(|| VolumeError::NoSuchVolume(id.to_string()))?;
            if v.status.phase == VolumePhase::Deleting {
                return Err(VolumeError::Deleting(id.to_string()));
            }
            let paths = v.status.mounts_mut(kind);
            if !paths.iter().any(|p| p == path) {
                paths.push(path.to_string());
            }
            Ok(())
        })?
    }

    /// Drops a mount from the state once it is unmounted (nothing to do for a volume that
    /// is gone).
    pub fn forget_mount(&self, id: &str, kind: MountKind, path: &str) -> Result<()> {
        self.store.transact(|st| {
            if let Some(v) = st.volumes.get_mut(id) {
                v.status.mounts_mut(kind).retain(|p| p != path);
            }
            Ok::<_, VolumeError>(())
        })?
    }

    /// Drops the records of mounts that are no longer there (a node that restarted lost
    /// them all; an unmount the plugin never heard of), so that they do not block deletes
    /// for ever. A volume whose drive is not here keeps its records: nothing can be told.
    pub fn forget_lost_mounts(&self) -> Result<()> {
        let state = self.store.load()?;
        for (id, v) in state
            .volumes
            .iter()
            .filter(|(_, v)| v.spec.node == self.node())
        {
            for (kind, paths) in [
                (MountKind::Staging, &v.status.staged_at),
                (MountKind::Target, &v.status.published_at),
            ] {
                for path in paths {
                    let _held = self.lock(id);
                    let Ok(dir) = self.volume_dir(id, v) else {
                        continue;
                    };
                    // A mount table that cannot be read tells nothing: kept till the next pass.
                    let Ok(top) = self.mounter.mount_at(Path::new(path)) else {
                        continue;
                    };
                    let shown = top.is_some_and(|m| {
                        self.mounter
                            .same_file(&m.mount_point, &dir)
                            .unwrap_or(false)
                    });
                    if !shown {
                        info!(volume = %id, path = %path, "not mounted any more: record dropped");
                        self.forget_mount(id, kind, path)?;
                    }
                }
            }
        }
        Ok(())
    }

    pub fn node(&self) -> &str {
        self.drives.node()
    }

    /// Whether the node plugin can serve; Err says why not: its first pass has not finished
    /// (drives published, interrupted deletes finished), or it has no drive of its own.
    pub fn readiness(&self) -> Result<(), String> {
        if !self.started.load(Ordering::SeqCst) {
            return Err("the start-up pass has not finished".into());
        }
        self.drives.readiness()
    }

    /// The node plugin's pass, at start-up and then periodically: the drives mounted,
    /// checked and published, records of mounts that are gone dropped, and deletes finished
    /// (a separate controller's, or one a crash interrupted).
    pub fn pass(&self) -> Result<()> {
        self.drives.scan()?;
        self.forget_lost_mounts()?;
        self.finish_deletes()?;
        self.materialize()?;
        self.started.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn drive(&self, drive_id: &str) -> Result<Mounted> {
        self.drives.get(drive_id)
    }

    /// Why a volume's drive is unhealthy, if it is.
    pub fn condition(&self, v: &VolumeEntry) -> Option<String> {
        self.drives.problem(&v.spec.drive_id)
    }

    pub fn volume_dir(&self, id: &str, v: &VolumeEntry) -> Result<PathBuf> {
        Ok(self
            .drive(&v.spec.drive_id)?
            .mount_point
            .join(VOLUMES_DIR)
            .join(id))
    }

    /// Creates the volume's directory (once) with its project id and quota; idempotent.
    pub fn prepare(&self, id: &str, v: &VolumeEntry) -> Result<PathBuf> {
        let drive = self.drive(&v.spec.drive_id)?;
        let dir = drive.mount_point.join(VOLUMES_DIR).join(id);
        if !dir.is_dir() {
            if v.status.on_drive {
                return Err(VolumeError::DataLost {
                    id: id.to_string(),
                    drive: v.spec.drive_id.clone(),
                });
            }
            fs::create_dir_all(&dir)
                .map_err(VolumeError::io(format!("creating {}", dir.display())))?;
        }
        if drive.quota {
            self.mounter
                .assign_project(&dir, v.spec.project_id)
                .map_err(|e| quota_failure(id, "setting the project id", e))?;
            self.apply_limit(&drive, v)?;
        }
        if !v.status.on_drive {
            self.store.transact(|st| {
                if let Some(v) = st.volumes.get_mut(id) {
                    v.status.on_drive = true;
                }
                Ok::<_, VolumeError>(())
            })??;
        }
        Ok(dir)
    }

    /// Sets the quota to the volume's capacity (stage and expansion).
    pub fn set_limit(&self, v: &VolumeEntry) -> Result<()> {
        let drive = self.drive(&v.spec.drive_id)?;
        if drive.quota {
            self.apply_limit(&drive, v)?;
        }
        Ok(())
    }

    fn apply_limit(&self, drive: &Mounted, v: &VolumeEntry) -> Result<()> {
        self.mounter
            .set_quota(&drive.mount_point, v.spec.project_id, v.spec.capacity_bytes)
            .map_err(|e| quota_failure(&v.spec.name, "setting the quota", e))
    }

    pub fn usage(&self, id: &str, v: &VolumeEntry) -> Result<VolumeUsage> {
        let drive = self.drive(&v.spec.drive_id)?;
        let dir = drive.mount_point.join(VOLUMES_DIR).join(id);
        let fs = statvfs(&drive.mount_point).map_err(VolumeError::io("statfs"))?;
        let (bytes_used, inodes_used) = if drive.quota {
            let u = self
                .mounter
                .quota_usage(&drive.mount_point, v.spec.project_id)
                .map_err(|e| quota_failure(id, "reading the quota", e))?;
            (u.bytes_used, u.inodes_used)
        } else {
            walk_usage(&dir).map_err(VolumeError::io("measuring the volume"))?
        };
        // No inode quota: the volume may use every free inode of the drive.
        Ok(VolumeUsage {
            bytes_total: v.spec.capacity_bytes,
            bytes_used,
            drive_bytes_free: fs.f_bavail.saturating_mul(fs.f_frsize),
            inodes_total: inodes_used + fs.f_ffree,
            inodes_used,
        })
    }

    /// Removes a deleted volume's data crash-safely, then its record (which frees its
    /// capacity). Refused while the volume is still mounted somewhere.
    pub fn purge(&self, id: &str, v: &VolumeEntry) -> Result<()> {
        let drive = match self.drive(&v.spec.drive_id) {
            Ok(d) => d,
            Err(e) => {
                // The drive is gone or failing: the record stays (deleting, capacity
                // reserved) and a later pass finishes once the drive is back.
                warn!(volume = %id, "delete postponed: {e}");
                return Ok(());
            }
        };
        self.check_unused(id, v)?;
        let volumes = drive.mount_point.join(VOLUMES_DIR);
        let dir = volumes.join(id);
        let trash = volumes.join(format!("{DELETING_PREFIX}{id}"));
        match fs::rename(&dir, &trash) {
            Ok(()) => {
                strata_drive::fsutil::fsync_dir(&volumes).map_err(VolumeError::io("fsync"))?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(VolumeError::io(format!("renaming {}", dir.display()))(e)),
        }
        remove_tree(&trash)?;
        if drive.quota {
            self.mounter
                .set_quota(&drive.mount_point, v.spec.project_id, 0)
                .map_err(VolumeError::io("clearing the quota"))?;
        }
        self.store.transact(|st| {
            if st
                .volumes
                .get(id)
                .is_some_and(|v| v.status.phase == VolumePhase::Deleting)
            {
                st.volumes.remove(id);
                if let Some(d) = st.drives.get_mut(&v.spec.drive_id) {
                    d.spec.reservations.remove(id);
                }
            }
            Ok::<_, VolumeError>(())
        })??;
        info!(volume = %id, drive = %v.spec.drive_id, "volume deleted");
        Ok(())
    }

    /// FailedPrecondition while any mount (staging, publish, a pod's subPath) shows the
    /// volume's directory or something inside it.
    pub fn check_unused(&self, id: &str, v: &VolumeEntry) -> Result<()> {
        match self.mounts(id, v).first() {
            Some(at) => Err(VolumeError::StillMounted {
                id: id.to_string(),
                at: at.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Where the volume is mounted on this node (staging, publish and subPath mounts).
    pub fn mounts(&self, id: &str, v: &VolumeEntry) -> Vec<String> {
        match self.drive(&v.spec.drive_id) {
            Ok(drive) => self
                .mounter
                .mounts_showing(&drive.mount_point, &format!("/{VOLUMES_DIR}/{id}")),
            Err(_) => Vec::new(),
        }
    }

    /// Finishes what a crash interrupted: leftover `.deleting-*` directories, and volumes
    /// marked deleting on this node's drives.
    pub fn finish_deletes(&self) -> Result<()> {
        let mounted = self.drives.serving();
        for m in mounted {
            let Ok(entries) = fs::read_dir(m.mount_point.join(VOLUMES_DIR)) else {
                continue;
            };
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(DELETING_PREFIX) {
                    remove_tree(&e.path())?;
                }
            }
        }
        let state = self.store.load()?;
        for (id, v) in &state.volumes {
            if v.spec.node == self.node() && v.status.phase == VolumePhase::Deleting {
                if let Err(e) = self.purge(id, v) {
                    warn!(volume = %id, "cannot finish deleting: {e}");
                }
            }
        }
        Ok(())
    }
}

impl NodeVolumes {
    /// Whether `path` is in the node's state directory or on a drive it serves: never a
    /// staging or target path.
    pub fn is_strata_path(&self, path: &Path) -> bool {
        path.starts_with(self.drives.state_root())
            || self
                .drives
                .serving()
                .iter()
                .any(|m| path.starts_with(&m.mount_point))
    }

    /// Makes the directory of every volume created on this node's drives but not staged yet:
    /// until it exists on the drive, the drive shows no volume, and `drivectl release` (which
    /// counts what is on the drive) would wipe it under a volume Kubernetes has bound.
    pub fn materialize(&self) -> Result<()> {
        let state = self.store.load()?;
        for (id, v) in &state.volumes {
            let ours = v.spec.node == self.node() && v.status.phase == VolumePhase::Ready;
            if ours && !v.status.on_drive && self.drives.get(&v.spec.drive_id).is_ok() {
                if let Err(e) = self.prepare(id, v) {
                    warn!(volume = %id, "cannot make its directory on its drive yet: {e}");
                }
            }
        }
        Ok(())
    }
}

/// A quota that cannot be set or read fails the call (never a volume silently unlimited or
/// reported empty), and is logged: it is the node's problem, not the caller's.
fn quota_failure(volume: &str, what: &str, e: io::Error) -> VolumeError {
    error!(volume, "{what}: {e}");
    VolumeError::io(what)(e)
}

fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(VolumeError::io(format!("removing {}", path.display()))(e)),
    }
}

pub(super) fn statvfs(path: &Path) -> io::Result<libc::statvfs> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: statvfs is plain data, for which all zeros is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0 {
        Ok(st)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Bytes (allocated blocks) and inodes under a directory, for drives without quotas.
pub(super) fn walk_usage(dir: &Path) -> io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut bytes = 0;
    let mut inodes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d)? {
            let e = e?;
            let md = e.metadata()?;
            bytes += md.blocks() * 512;
            inodes += 1;
            if md.is_dir() {
                stack.push(e.path());
            }
        }
    }
    Ok((bytes, inodes))
}

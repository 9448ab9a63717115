//! This node's Strata drives as the node plugin serves them. Every pass (at start-up, then
//! every `--resync`) mounts them as `drivectl mount` does (by the filesystem UUID in their
//! XFS superblocks), checks each, and publishes them to the state: a drive that vanished,
//! cannot be mounted, fails its filesystem or cannot enforce the project quotas it was
//! formatted with is `Lost` (placement avoids it, its volumes report an abnormal condition),
//! and `Ready` again once it is back.
//!
//! Drives name the node they were formatted for. Those that name another node (formatted
//! with the hostname, the plugin started with the Kubernetes node name) are not served; the
//! plugin says so loudly and, when no drive of its own is left, is not ready.

use super::error::VolumeError;
use super::model::{DriveEntry, DriveSpec, DriveState, DriveStatus, Reservation};
use super::mounter::Mounter;
use super::store::Store;
use super::volumes::{statvfs, walk_usage};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use strata_drive::identity::VOLUMES_DIR;
use strata_drive::ops::Node as DriveNode;
use strata_drive::DriveRecord;
use tracing::{error, info};

/// A drive of this node that serves volumes.
#[derive(Debug, Clone)]
pub struct Mounted {
    pub mount_point: PathBuf,
    /// Whether its project quotas are enforced (volumes are size-limited).
    pub quota: bool,
}

/// What a pass found, compared with the last one so that only changes are logged.
#[derive(Debug, Clone, Default, PartialEq)]
struct Seen {
    serving: Vec<String>,
    /// This node's drives that do not serve, with why.
    lost: BTreeMap<String, String>,
    /// Drives of this node's registry formatted for another node, with that node.
    foreign: BTreeMap<String, String>,
}

pub struct NodeDrives {
    node: String,
    drives: DriveNode,
    store: Store,
    mounter: Arc<dyn Mounter>,
    serving: RwLock<HashMap<String, Mounted>>,
    /// None until the first pass has published the drives.
    seen: Mutex<Option<Seen>>,
}

impl NodeDrives {
    pub fn new(drives: DriveNode, store: Store, mounter: Arc<dyn Mounter>) -> NodeDrives {
        NodeDrives {
            node: drives.name.clone(),
            drives,
            store,
            mounter,
            serving: RwLock::new(HashMap::new()),
            seen: Mutex::new(None),
        }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// drivectl's state directory (the registry and the drives' mount points).
    pub fn state_root(&self) -> &Path {
        self.drives.state.root()
    }

    /// Whether the plugin can serve: Err says why not (not started yet, or every drive it
    /// found names another node).
    pub fn readiness(&self) -> Result<(), String> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match &*seen {
            None => Err("the drives are not published yet".into()),
            Some(s) if s.serving.is_empty() && !s.foreign.is_empty() => {
                Err(self.foreign_message(&s.foreign))
            }
            Some(_) => Ok(()),
        }
    }

    /// One pass: mount, check, publish; see the module comment.
    pub fn scan(&self) -> Result<(), VolumeError> {
        let report = self
            .drives
            .mount_all(false)
            .map_err(|e| VolumeError::DrivesUnavailable(e.to_string()))?;
        let known = self.store.load()?;
        let mut found: HashMap<String, (Mounted, DriveSpec)> = HashMap::new();
        let mut seen = Seen::default();
        for rec in &report.mounted {
            if rec.node != self.node {
                seen.foreign.insert(rec.drive_id.clone(), rec.node.clone());
                continue;
            }
            let capacity = known
                .drives
                .get(&rec.drive_id)
                .map(|d| d.spec.capacity_bytes);
            match self.check(rec, capacity) {
                Ok(ok) => {
                    found.insert(rec.drive_id.clone(), ok);
                }
                Err(why) => {
                    seen.lost.insert(rec.drive_id.clone(), why);
                }
            }
        }
        for rec in &report.missing {
            seen.lost
                .insert(rec.drive_id.clone(), "drive not found on the node".into());
        }
        for (id, e) in &report.failed {
            seen.lost.insert(id.clone(), format!("cannot mount: {e}"));
        }
        self.publish(&found, &seen.lost)?;
        seen.serving = found.keys().cloned().collect();
        seen.serving.sort();
        *self.serving.write().unwrap_or_else(|p| p.into_inner()) =
            found.into_iter().map(|(id, (m, _))| (id, m)).collect();
        self.log_changes(seen);
        Ok(())
    }

    /// A drive of this node that mounted: whether it can serve, and its record.
    fn check(
        &self,
        rec: &DriveRecord,
        known_capacity: Option<u64>,
    ) -> Result<(Mounted, DriveSpec), String> {
        let mp = &rec.mount_point;
        if let Some(why) = self.problem_at(mp) {
            return Err(why);
        }
        // A drive formatted with quotas serves only while they are enforced: its volumes
        // would otherwise be silently unlimited.
        let quota = rec.project_quota
            && match self.mounter.quota_enforced(mp) {
                Ok(true) => true,
                Ok(false) => {
                    return Err(format!(
                        "formatted with project quotas, but {} does not enforce them \
                         (mounted without prjquota?): its volumes would not be size-limited",
                        mp.display()
                    ))
                }
                Err(e) => return Err(format!("its project quotas cannot be read: {e}")),
            };
        // Measured once, when the drive is first published (see `publish`): later passes
        // do not walk the volumes again.
        let capacity = match known_capacity {
            Some(c) => c,
            None => volume_space(&*self.mounter, mp, quota)
                .map_err(|e| format!("cannot measure {}: {e}", mp.display()))?,
        };
        let spec = DriveSpec {
            node: self.node.clone(),
            tier: rec.tier,
            capacity_bytes: capacity,
            reservations: Default::default(),
            next_project_id: next_free_project(&*self.mounter, mp),
            project_quota: quota,
        };
        let m = Mounted {
            mount_point: mp.clone(),
            quota,
        };
        Ok((m, spec))
    }

    /// Writes this node's drives into the state: found ones ready (keeping the project id
    /// counter ahead of every id in use), the others lost, with why.
    fn publish(
        &self,
        found: &HashMap<String, (Mounted, DriveSpec)>,
        lost: &BTreeMap<String, String>,
    ) -> Result<(), VolumeError> {
        self.store.transact(|st| {
            for (id, (_, spec)) in found {
                let mut spec = spec.clone();
                if let Some(old) = st.drives.get(id).map(|d| &d.spec) {
                    spec.next_project_id = spec.next_project_id.max(old.next_project_id);
                    spec.reservations = old.reservations.clone();
                    // The capacity offered stays what it was when the drive was first
                    // published: measuring again would drift with XFS's metadata.
                    spec.capacity_bytes = old.capacity_bytes;
                }
                // Every volume record of the drive holds its reservation.
                for (vid, v) in st.volumes.iter().filter(|(_, v)| v.spec.drive_id == *id) {
                    spec.reservations
                        .entry(vid.clone())
                        .or_insert_with(|| Reservation {
                            bytes: v.spec.capacity_bytes,
                            pvc_namespace: v.spec.pvc_namespace.clone(),
                            pvc_name: v.spec.pvc_name.clone(),
                        });
                }
                let in_state = st
                    .volumes
                    .values()
                    .filter(|v| v.spec.drive_id == *id)
                    .map(|v| v.spec.project_id + 1)
                    .max()
                    .unwrap_or(1);
                spec.next_project_id = spec.next_project_id.max(in_state);
                let status = DriveStatus {
                    state: DriveState::Ready,
                    message: None,
                    allocated_bytes: 0,
                    free_bytes: 0,
                };
                st.drives.insert(id.clone(), DriveEntry { spec, status });
            }
            for (id, d) in st.drives.iter_mut() {
                if d.spec.node == self.node && !found.contains_key(id) {
                    d.status.state = DriveState::Lost;
                    d.status.message = Some(
                        lost.get(id)
                            .cloned()
                            .unwrap_or_else(|| "drive not in the node's registry".into()),
                    );
                }
            }
            Ok::<_, VolumeError>(())
        })?
    }

    /// Logs what changed since the last pass (everything at the first): drives lost and
    /// back, and drives formatted for another node, loudly.
    fn log_changes(&self, now: Seen) {
        let mut last = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() == Some(&now) {
            return;
        }
        let before = last.clone().unwrap_or_default();
        for (id, why) in &now.lost {
            if before.lost.get(id) != Some(why) {
                error!(node = %self.node, drive = %id, "drive not served: {why}");
            }
        }
        for id in &now.serving {
            if before.lost.contains_key(id) {
                info!(node = %self.node, drive = %id, "drive is back");
            }
        }
        if !now.foreign.is_empty() && now.foreign != before.foreign {
            error!(node = %self.node, "{}", self.foreign_message(&now.foreign));
        }
        info!(
            node = %self.node,
            serving = now.serving.len(),
            lost = now.lost.len(),
            other_nodes = now.foreign.len(),
            "drives published: {}",
            if now.serving.is_empty() { "none".to_string() } else { now.serving.join(", ") }
        );
        *last = Some(now);
    }

    fn foreign_message(&self, foreign: &BTreeMap<String, String>) -> String {
        let list: Vec<String> = foreign
            .iter()
            .map(|(id, node)| format!("{id} (node {node:?})"))
            .collect();
        format!(
            "{} drive(s) of this node's registry name another node than this plugin's \
             {:?} and are not served: {}. A drive names the node it was formatted for \
             (drivectl --node, by default $NODE_NAME or the hostname): start the plugin with \
             that --node-id, or format the drives for {:?}",
            foreign.len(),
            self.node,
            list.join(", "),
            self.node
        )
    }

    /// Where a drive of this node is mounted; FailedPrecondition, with why, when it does not
    /// serve now.
    pub fn get(&self, drive_id: &str) -> Result<Mounted, VolumeError> {
        let serving = self.serving.read().unwrap_or_else(|p| p.into_inner());
        let Some(m) = serving.get(drive_id).cloned() else {
            return Err(VolumeError::DriveNotServed {
                drive: drive_id.to_string(),
                why: self.why_not(drive_id),
            });
        };
        if let Some(why) = self.problem_at(&m.mount_point) {
            return Err(VolumeError::DriveFailing {
                drive: drive_id.to_string(),
                why,
            });
        }
        Ok(m)
    }

    /// Why a drive does not serve, as the last pass saw it.
    fn why_not(&self, drive_id: &str) -> String {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.as_ref()
            .and_then(|s| s.lost.get(drive_id).cloned())
            .unwrap_or_else(|| "not one of its drives".into())
    }

    /// Why a drive is unhealthy, if it is.
    pub fn problem(&self, drive_id: &str) -> Option<String> {
        self.get(drive_id).err().map(|e| e.to_string())
    }

    /// A drive served without a pass (the node logic's unit tests).
    #[cfg(test)]
    pub(super) fn serve(&self, id: &str, mounted: Mounted) {
        let mut serving = self.serving.write().unwrap_or_else(|p| p.into_inner());
        serving.insert(id.to_string(), mounted);
    }

    /// The drives serving now.
    pub fn serving(&self) -> Vec<Mounted> {
        let serving = self.serving.read().unwrap_or_else(|p| p.into_inner());
        serving.values().cloned().collect()
    }

    /// Why a mounted drive cannot serve volumes: unmounted under us, or its filesystem
    /// failing.
    fn problem_at(&self, mount_point: &Path) -> Option<String> {
        match self.mounter.is_mount_root(mount_point) {
            Ok(true) => {}
            Ok(false) => return Some(format!("not mounted at {}", mount_point.display())),
            Err(e) => return Some(format!("cannot stat {}: {e}", mount_point.display())),
        }
        match fs::read_dir(mount_point.join(VOLUMES_DIR)) {
            Ok(_) => None,
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => Some(format!("filesystem error: {e}")),
        }
    }
}

/// The project ids already on the drive's volume directories, so that a lost state can
/// never hand one out twice.
fn next_free_project(mounter: &dyn Mounter, mount_point: &Path) -> u32 {
    let Ok(entries) = fs::read_dir(mount_point.join(VOLUMES_DIR)) else {
        return 1;
    };
    entries
        .flatten()
        .filter_map(|e| mounter.project_of(&e.path()).ok())
        .map(|id| id.saturating_add(1))
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Bytes volumes may use on a drive: what is free now plus what its volumes already use.
/// Not the filesystem's size, which counts XFS's own metadata and reserves: quotas adding up
/// to that would run the drive full before any volume reached its quota.
fn volume_space(mounter: &dyn Mounter, mount_point: &Path, quota: bool) -> io::Result<u64> {
    let st = statvfs(mount_point)?;
    let mut used = 0;
    if let Ok(entries) = fs::read_dir(mount_point.join(VOLUMES_DIR)) {
        for e in entries.flatten() {
            let dir = e.path();
            // Project 0 is everything outside volumes: a directory without its project id
            // yet (a crash mid-stage) is measured by walking it.
            let project = if quota { mounter.project_of(&dir)? } else { 0 };
            used += if project != 0 {
                mounter.quota_usage(mount_point, project)?.bytes_used
            } else {
                walk_usage(&dir)?.0
            };
        }
    }
    Ok(st.f_bavail * st.f_frsize + used)
}

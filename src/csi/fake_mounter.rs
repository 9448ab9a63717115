//! An in-memory [`Mounter`] for the node logic's unit tests: directories are real (a temporary
//! directory), mounts and quotas are a table. A bind records the directory it shows, so that
//! "does this mount show that directory" is answered as the kernel would, through binds of
//! binds.

use super::mount::MountInfo;
use super::mount_options::BindOptions;
use super::mounter::Mounter;
use super::quota::Usage;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

#[derive(Debug, Clone)]
struct Mount {
    target: PathBuf,
    /// The real directory shown (binds resolved).
    shows: PathBuf,
    options: String,
}

#[derive(Default)]
struct Table {
    /// In mount order: the last one at a path is the top-most.
    mounts: Vec<Mount>,
    /// Drive mount points (mounted "by drivectl").
    drives: HashSet<PathBuf>,
    projects: HashMap<PathBuf, u32>,
    limits: HashMap<(PathBuf, u32), u64>,
    binds: usize,
    /// Binds wait while this is set (to overlap two calls in a test).
    hold_binds: bool,
    /// Binds waiting now.
    waiting: usize,
}

#[derive(Default)]
pub struct FakeMounter {
    table: Mutex<Table>,
    changed: Condvar,
}

fn canonical(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

fn not_found(p: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} does not exist", p.display()),
    )
}

impl FakeMounter {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A drive mounted at `mount_point` (a real directory).
    pub fn add_drive(&self, mount_point: &Path) {
        self.table().drives.insert(canonical(mount_point));
    }

    /// The drive at `mount_point` unmounted under the plugin.
    pub fn remove_drive(&self, mount_point: &Path) {
        self.table().drives.remove(&canonical(mount_point));
    }

    pub fn binds(&self) -> usize {
        self.table().binds
    }

    pub fn limit(&self, mount_point: &Path, project_id: u32) -> Option<u64> {
        let key = (canonical(mount_point), project_id);
        self.table().limits.get(&key).copied()
    }

    /// Makes binds wait (true) until released (false).
    pub fn hold_binds(&self, hold: bool) {
        self.table().hold_binds = hold;
        self.changed.notify_all();
    }

    /// Waits until a bind is held.
    pub fn wait_for_held_bind(&self) {
        let mut t = self.table();
        while t.waiting == 0 {
            t = self.changed.wait(t).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The real directory a path shows: mounts on it or on a parent replaced by what they
    /// show, the top-most mount first.
    fn resolve(t: &Table, path: &Path) -> PathBuf {
        let mut p = canonical(path);
        for _ in 0..16 {
            let over = t
                .mounts
                .iter()
                .rev()
                .filter_map(|m| p.strip_prefix(&m.target).ok().map(|rest| (m, rest)))
                .max_by_key(|(m, _)| m.target.components().count());
            match over {
                Some((m, rest)) => p = m.shows.join(rest),
                None => break,
            }
        }
        p
    }
}

impl Mounter for FakeMounter {
    fn mount_at(&self, path: &Path) -> io::Result<Option<MountInfo>> {
        let p = canonical(path);
        let t = self.table();
        Ok(t.mounts
            .iter()
            .rev()
            .find(|m| m.target == p)
            .map(|m| MountInfo {
                mount_point: m.target.clone(),
                root: m.shows.clone(),
                major_minor: "0:0".into(),
                fs_type: "xfs".into(),
                source: "/dev/fake".into(),
                read_only: m.options.split(',').any(|o| o == "ro"),
                options: m.options.clone(),
            }))
    }

    fn is_mount_root(&self, path: &Path) -> io::Result<bool> {
        let p = canonical(path);
        let t = self.table();
        Ok(t.drives.contains(&p) || t.mounts.iter().any(|m| m.target == p))
    }

    fn same_file(&self, a: &Path, b: &Path) -> io::Result<bool> {
        let t = self.table();
        let (ra, rb) = (Self::resolve(&t, a), Self::resolve(&t, b));
        for r in [&ra, &rb] {
            if !r.exists() {
                return Err(not_found(r));
            }
        }
        Ok(ra == rb)
    }

    fn bind(&self, source: &Path, target: &Path, options: &BindOptions) -> io::Result<()> {
        let mut t = self.table();
        t.waiting += 1;
        self.changed.notify_all();
        while t.hold_binds {
            t = self.changed.wait(t).unwrap_or_else(|p| p.into_inner());
        }
        t.waiting -= 1;
        for p in [source, target] {
            if !p.exists() {
                return Err(not_found(p));
            }
        }
        let shows = Self::resolve(&t, source);
        t.mounts.push(Mount {
            target: canonical(target),
            shows,
            options: options.shown_as(),
        });
        t.binds += 1;
        Ok(())
    }

    fn unmount_if_mounted(&self, target: &Path) -> io::Result<bool> {
        let p = canonical(target);
        let mut t = self.table();
        match t.mounts.iter().rposition(|m| m.target == p) {
            Some(i) => {
                t.mounts.remove(i);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn mounts_showing(&self, drive_mount: &Path, subtree: &str) -> Vec<String> {
        let shown = canonical(drive_mount).join(subtree.trim_start_matches('/'));
        let t = self.table();
        let mut points: Vec<String> = t
            .mounts
            .iter()
            .filter(|m| m.shows.starts_with(&shown))
            .map(|m| m.target.display().to_string())
            .collect();
        points.sort();
        points.dedup();
        points
    }

    fn quota_enforced(&self, _mount_point: &Path) -> io::Result<bool> {
        Ok(true)
    }

    fn assign_project(&self, dir: &Path, project_id: u32) -> io::Result<()> {
        if !dir.is_dir() {
            return Err(not_found(dir));
        }
        self.table().projects.insert(canonical(dir), project_id);
        Ok(())
    }

    fn project_of(&self, dir: &Path) -> io::Result<u32> {
        Ok(self
            .table()
            .projects
            .get(&canonical(dir))
            .copied()
            .unwrap_or(0))
    }

    fn set_quota(&self, mount_point: &Path, project_id: u32, bytes: u64) -> io::Result<()> {
        let key = (canonical(mount_point), project_id);
        self.table().limits.insert(key, bytes);
        Ok(())
    }

    fn quota_usage(&self, mount_point: &Path, project_id: u32) -> io::Result<Usage> {
        let key = (canonical(mount_point), project_id);
        Ok(Usage {
            bytes_limit: self.table().limits.get(&key).copied().unwrap_or(0),
            ..Usage::default()
        })
    }
}

//! A drive that fails on purpose, for tests: wraps another drive and, following a shared plan,
//! makes every call fail from a chosen point on — as if the process died there (no rollback,
//! no phase two, nothing after it reaches the drives) — reports the drive full, delays every
//! call, or hangs every call until released (a dying disk, a frozen filesystem).

use super::{
    Capacity, DataMove, DataReader, Drive, DriveError, DriveResult, Prepared, Sink, Staging, Walk,
    WalkItem,
};
use crate::meta::MetaFile;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the drives of one test share: a count of the calls that change a drive, and the point
/// from which every call fails.
#[derive(Debug, Default)]
pub struct FaultPlan {
    changes: AtomicUsize,
    /// Calls that change a drive allowed before the "crash" (`usize::MAX`: never).
    crash_after: AtomicUsize,
    crashed: AtomicBool,
    full: AtomicBool,
    /// Calls block while this is set.
    hung: Mutex<bool>,
    released: Condvar,
    /// Calls blocked by `hang` right now.
    hanging: AtomicUsize,
    /// Every call waits this long first.
    delay_us: AtomicU64,
}

impl FaultPlan {
    pub fn new() -> Arc<FaultPlan> {
        let p = FaultPlan::default();
        p.crash_after.store(usize::MAX, Ordering::SeqCst);
        Arc::new(p)
    }

    /// From the `n`-th change on (counting from 0), every call of every drive of the plan
    /// fails, reads included: the process is dead.
    pub fn crash_after(&self, n: usize) {
        self.crash_after.store(n, Ordering::SeqCst);
    }

    /// Changes made so far (to size a sweep of crash points).
    pub fn changes(&self) -> usize {
        self.changes.load(Ordering::SeqCst)
    }

    pub fn crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }

    /// Writes fail as on a full drive.
    pub fn set_full(&self, full: bool) {
        self.full.store(full, Ordering::SeqCst);
    }

    /// From now on every call (the drive's presence check included) blocks until `release`.
    pub fn hang(&self) {
        *self.hung.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    /// Lets blocked calls go on, and later ones through.
    pub fn release(&self) {
        *self.hung.lock().unwrap_or_else(|p| p.into_inner()) = false;
        self.released.notify_all();
    }

    /// Calls blocked by `hang` right now.
    pub fn hanging(&self) -> usize {
        self.hanging.load(Ordering::SeqCst)
    }

    /// Every call waits `d` before it runs (zero: none).
    pub fn set_delay(&self, d: Duration) {
        self.delay_us.store(d.as_micros() as u64, Ordering::SeqCst);
    }

    /// Delays, then blocks while hung.
    fn gate(&self) {
        let delay = self.delay_us.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
        let mut hung = self.hung.lock().unwrap_or_else(|p| p.into_inner());
        if *hung {
            self.hanging.fetch_add(1, Ordering::SeqCst);
            while *hung {
                hung = self.released.wait(hung).unwrap_or_else(|p| p.into_inner());
            }
            self.hanging.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn alive(&self) -> DriveResult<()> {
        self.gate();
        if self.crashed.load(Ordering::SeqCst) {
            Err(DriveError::Io("the process crashed (injected)".into()))
        } else {
            Ok(())
        }
    }

    /// Counts a change; fails it (and crashes) when its turn has come.
    fn change(&self) -> DriveResult<()> {
        self.alive()?;
        if self.full.load(Ordering::SeqCst) {
            return Err(DriveError::Full);
        }
        let n = self.changes.fetch_add(1, Ordering::SeqCst);
        if n >= self.crash_after.load(Ordering::SeqCst) {
            self.crashed.store(true, Ordering::SeqCst);
            return self.alive();
        }
        Ok(())
    }
}

/// `inner`, failing as `plan` says.
#[derive(Debug)]
pub struct FaultyDrive {
    inner: Arc<dyn Drive>,
    plan: Arc<FaultPlan>,
}

impl FaultyDrive {
    pub fn new(inner: Arc<dyn Drive>, plan: Arc<FaultPlan>) -> FaultyDrive {
        FaultyDrive { inner, plan }
    }
}

impl Drive for FaultyDrive {
    fn label(&self) -> String {
        self.inner.label()
    }
    fn path(&self) -> Option<&Path> {
        self.inner.path()
    }
    fn check_present(&self) -> DriveResult<()> {
        self.plan.alive()?;
        self.inner.check_present()
    }
    fn capacity(&self) -> DriveResult<Capacity> {
        self.plan.gate();
        self.inner.capacity()
    }
    fn is_healing(&self) -> bool {
        self.inner.is_healing()
    }
    fn set_healing(&self, healing: bool) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.set_healing(healing)
    }
    fn sync(&self) -> DriveResult<()> {
        self.plan.alive()?;
        self.inner.sync()
    }
    fn make_bucket(&self, bucket: &str, created_ns: u64) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.make_bucket(bucket, created_ns)
    }
    fn bucket_created(&self, bucket: &str) -> DriveResult<Option<u64>> {
        self.plan.alive()?;
        self.inner.bucket_created(bucket)
    }
    fn list_buckets(&self) -> DriveResult<Vec<(String, u64)>> {
        self.plan.alive()?;
        self.inner.list_buckets()
    }
    fn delete_bucket(&self, bucket: &str) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.delete_bucket(bucket)
    }
    fn read_meta(&self, bucket: &str, key: &str) -> DriveResult<Option<MetaFile>> {
        self.plan.alive()?;
        self.inner.read_meta(bucket, key)
    }
    fn commit_meta(
        &self,
        bucket: &str,
        key: &str,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
        next: Option<&MetaFile>,
    ) -> DriveResult<Prepared> {
        self.plan.change()?;
        self.inner.commit_meta(bucket, key, meta, data, next)
    }
    fn finish_meta(
        &self,
        bucket: &str,
        key: &str,
        next: &Prepared,
        apply: bool,
    ) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.finish_meta(bucket, key, next, apply)
    }
    fn remove_meta(&self, bucket: &str, key: &str) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.remove_meta(bucket, key)
    }
    fn write_meta(
        &self,
        bucket: &str,
        key: &str,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
    ) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.write_meta(bucket, key, meta, data)
    }
    fn remove_data(&self, bucket: &str, key: &str, data_dir: &str) {
        if self.plan.change().is_ok() {
            self.inner.remove_data(bucket, key, data_dir)
        }
    }
    fn sweep_key(&self, bucket: &str, key: &str) -> DriveResult<usize> {
        self.plan.change()?;
        self.inner.sweep_key(bucket, key)
    }
    fn open_data(
        &self,
        bucket: &str,
        key: &str,
        data_dir: &str,
    ) -> DriveResult<Box<dyn DataReader>> {
        self.plan.alive()?;
        self.inner.open_data(bucket, key, data_dir)
    }
    fn new_staging(&self) -> DriveResult<Staging> {
        self.plan.change()?;
        self.inner.new_staging()
    }
    fn create_file(&self, staging: &Staging, name: &str) -> DriveResult<Box<dyn Sink>> {
        self.plan.change()?;
        self.inner.create_file(staging, name)
    }
    fn remove_staging(&self, staging: &Staging) {
        if self.plan.change().is_ok() {
            self.inner.remove_staging(staging)
        }
    }
    fn put_upload(&self, bucket: &str, upload_id: &str, record: &[u8]) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.put_upload(bucket, upload_id, record)
    }
    fn read_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<u8>> {
        self.plan.alive()?;
        self.inner.read_upload(bucket, upload_id)
    }
    fn list_uploads(&self, bucket: &str) -> DriveResult<Vec<Vec<u8>>> {
        self.plan.alive()?;
        self.inner.list_uploads(bucket)
    }
    fn remove_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.remove_upload(bucket, upload_id)
    }
    fn commit_part(
        &self,
        bucket: &str,
        upload_id: &str,
        staging: &Staging,
        name: &str,
    ) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.commit_part(bucket, upload_id, staging, name)
    }
    fn remove_upload_part(&self, bucket: &str, upload_id: &str, name: &str) -> DriveResult<()> {
        self.plan.change()?;
        self.inner.remove_upload_part(bucket, upload_id, name)
    }
    fn list_parts(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<Vec<u8>>> {
        self.plan.alive()?;
        self.inner.list_parts(bucket, upload_id)
    }
    fn link_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        parts: &[(String, u32)],
    ) -> DriveResult<Staging> {
        self.plan.change()?;
        self.inner.link_parts(bucket, upload_id, parts)
    }
    fn walk(&self, bucket: &str, w: &Walk<'_>) -> DriveResult<Vec<WalkItem>> {
        self.plan.alive()?;
        self.inner.walk(bucket, w)
    }
}

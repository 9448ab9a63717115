//! A drive whose every call runs on its position's workers under the deadline (`fanout`): what
//! the engine hands out for a set's drive, so that no path — a rollback, a heal, a clean-up, a
//! read of shard bytes — can wait on a hung drive for longer than the deadline. Arguments are
//! copied into the call (it may outlive its caller); what it returns that does I/O of its own
//! (a file being written, a data directory held for reading) is bounded the same way.

use super::{
    Capacity, DataMove, DataReader, Drive, DriveError, DriveResult, Prepared, ReadAt, Sink,
    Staging, Walk, WalkItem,
};
use crate::fanout::{fan_out_all, Call, DriveWorker};
use crate::meta::MetaFile;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Bounded {
    raw: Arc<dyn Drive>,
    worker: Arc<DriveWorker>,
    timeout: Duration,
}

/// One call on `worker`, waited for at most `timeout`.
fn one<T: Send + 'static>(
    worker: &Arc<DriveWorker>,
    timeout: Duration,
    call: impl FnOnce() -> DriveResult<T> + Send + 'static,
    late: Option<Box<dyn FnOnce(T) + Send>>,
) -> DriveResult<T> {
    let mut call = Call::new(worker.clone(), call);
    if let Some(late) = late {
        call = call.late(late);
    }
    fan_out_all(vec![Some(call)], timeout)
        .pop()
        .unwrap_or(Err(DriveError::Timeout))
}

/// The owned form of a `DataMove`.
fn owned_move(data: Option<DataMove<'_>>) -> Option<(Staging, String)> {
    data.map(|m| (m.staging.clone(), m.data_dir.to_string()))
}

fn as_move(data: &Option<(Staging, String)>) -> Option<DataMove<'_>> {
    data.as_ref()
        .map(|(staging, data_dir)| DataMove { staging, data_dir })
}

impl Bounded {
    pub fn new(raw: Arc<dyn Drive>, worker: Arc<DriveWorker>, timeout: Duration) -> Bounded {
        Bounded {
            raw,
            worker,
            timeout,
        }
    }

    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Drive) -> DriveResult<T> + Send + 'static,
    ) -> DriveResult<T> {
        let d = self.raw.clone();
        one(&self.worker, self.timeout, move || f(d.as_ref()), None)
    }

    /// A call that makes a staging directory: one that comes too late is removed.
    fn staging(
        &self,
        f: impl FnOnce(&dyn Drive) -> DriveResult<Staging> + Send + 'static,
    ) -> DriveResult<Staging> {
        let (d, undo) = (self.raw.clone(), self.raw.clone());
        let late: Box<dyn FnOnce(Staging) + Send> = Box::new(move |s| undo.remove_staging(&s));
        one(
            &self.worker,
            self.timeout,
            move || f(d.as_ref()),
            Some(late),
        )
    }

    /// Clean-up that must happen even on a drive that does not answer now (`clean_up`).
    fn clean_up(&self, f: impl FnOnce(&dyn Drive) + Send + 'static) {
        let d = self.raw.clone();
        self.worker.clean_up(self.timeout, move || f(d.as_ref()));
    }
}

impl Drive for Bounded {
    fn label(&self) -> String {
        self.raw.label()
    }
    fn path(&self) -> Option<&Path> {
        self.raw.path()
    }
    fn check_present(&self) -> DriveResult<()> {
        self.call(|d| d.check_present())
    }
    fn capacity(&self) -> DriveResult<Capacity> {
        self.call(|d| d.capacity())
    }
    fn is_healing(&self) -> bool {
        self.raw.is_healing()
    }
    fn set_healing(&self, healing: bool) -> DriveResult<()> {
        self.call(move |d| d.set_healing(healing))
    }
    fn sync(&self) -> DriveResult<()> {
        self.call(|d| d.sync())
    }
    fn make_bucket(&self, bucket: &str, created_ns: u64) -> DriveResult<()> {
        let b = bucket.to_string();
        self.call(move |d| d.make_bucket(&b, created_ns))
    }
    fn bucket_created(&self, bucket: &str) -> DriveResult<Option<u64>> {
        let b = bucket.to_string();
        self.call(move |d| d.bucket_created(&b))
    }
    fn list_buckets(&self) -> DriveResult<Vec<(String, u64)>> {
        self.call(|d| d.list_buckets())
    }
    fn delete_bucket(&self, bucket: &str) -> DriveResult<()> {
        let b = bucket.to_string();
        self.call(move |d| d.delete_bucket(&b))
    }
    fn read_meta(&self, bucket: &str, key: &str) -> DriveResult<Option<MetaFile>> {
        let (b, k) = (bucket.to_string(), key.to_string());
        self.call(move |d| d.read_meta(&b, &k))
    }
    fn commit_meta(
        &self,
        bucket: &str,
        key: &str,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
        next: Option<&MetaFile>,
    ) -> DriveResult<Prepared> {
        let (b, k, m) = (bucket.to_string(), key.to_string(), meta.clone());
        let (data, next) = (owned_move(data), next.cloned());
        self.call(move |d| d.commit_meta(&b, &k, &m, as_move(&data), next.as_ref()))
    }
    fn finish_meta(
        &self,
        bucket: &str,
        key: &str,
        next: &Prepared,
        apply: bool,
    ) -> DriveResult<()> {
        let (b, k, p) = (
            bucket.to_string(),
            key.to_string(),
            Prepared(next.0.clone()),
        );
        self.call(move |d| d.finish_meta(&b, &k, &p, apply))
    }
    fn remove_meta(&self, bucket: &str, key: &str) -> DriveResult<()> {
        let (b, k) = (bucket.to_string(), key.to_string());
        self.call(move |d| d.remove_meta(&b, &k))
    }
    fn write_meta(
        &self,
        bucket: &str,
        key: &str,
        meta: &MetaFile,
        data: Option<DataMove<'_>>,
    ) -> DriveResult<()> {
        let (b, k, m, data) = (
            bucket.to_string(),
            key.to_string(),
            meta.clone(),
            owned_move(data),
        );
        self.call(move |d| d.write_meta(&b, &k, &m, as_move(&data)))
    }
    fn remove_data(&self, bucket: &str, key: &str, data_dir: &str) {
        let (b, k, dir) = (bucket.to_string(), key.to_string(), data_dir.to_string());
        self.clean_up(move |d| d.remove_data(&b, &k, &dir))
    }
    fn sweep_key(&self, bucket: &str, key: &str) -> DriveResult<usize> {
        let (b, k) = (bucket.to_string(), key.to_string());
        self.call(move |d| d.sweep_key(&b, &k))
    }
    fn open_data(
        &self,
        bucket: &str,
        key: &str,
        data_dir: &str,
    ) -> DriveResult<Box<dyn DataReader>> {
        let (b, k, dir) = (bucket.to_string(), key.to_string(), data_dir.to_string());
        let data = self.call(move |d| d.open_data(&b, &k, &dir))?;
        Ok(Box::new(BoundedData {
            inner: Some(Arc::from(data)),
            worker: self.worker.clone(),
            timeout: self.timeout,
        }))
    }
    fn new_staging(&self) -> DriveResult<Staging> {
        self.staging(|d| d.new_staging())
    }
    fn create_file(&self, staging: &Staging, name: &str) -> DriveResult<Box<dyn Sink>> {
        let (s, n) = (staging.clone(), name.to_string());
        let sink = self.call(move |d| d.create_file(&s, &n))?;
        Ok(Box::new(BoundedSink {
            inner: Arc::new(Mutex::new(sink)),
            worker: self.worker.clone(),
            timeout: self.timeout,
        }))
    }
    fn remove_staging(&self, staging: &Staging) {
        let s = staging.clone();
        self.clean_up(move |d| d.remove_staging(&s))
    }
    fn put_upload(&self, bucket: &str, upload_id: &str, record: &[u8]) -> DriveResult<()> {
        let (b, id, r) = (bucket.to_string(), upload_id.to_string(), record.to_vec());
        self.call(move |d| d.put_upload(&b, &id, &r))
    }
    fn read_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<u8>> {
        let (b, id) = (bucket.to_string(), upload_id.to_string());
        self.call(move |d| d.read_upload(&b, &id))
    }
    fn list_uploads(&self, bucket: &str) -> DriveResult<Vec<Vec<u8>>> {
        let b = bucket.to_string();
        self.call(move |d| d.list_uploads(&b))
    }
    fn remove_upload(&self, bucket: &str, upload_id: &str) -> DriveResult<()> {
        let (b, id) = (bucket.to_string(), upload_id.to_string());
        self.call(move |d| d.remove_upload(&b, &id))
    }
    fn commit_part(
        &self,
        bucket: &str,
        upload_id: &str,
        staging: &Staging,
        name: &str,
    ) -> DriveResult<()> {
        let (b, id, s, n) = (
            bucket.to_string(),
            upload_id.to_string(),
            staging.clone(),
            name.to_string(),
        );
        self.call(move |d| d.commit_part(&b, &id, &s, &n))
    }
    fn remove_upload_part(&self, bucket: &str, upload_id: &str, name: &str) -> DriveResult<()> {
        let (b, id, n) = (bucket.to_string(), upload_id.to_string(), name.to_string());
        self.call(move |d| d.remove_upload_part(&b, &id, &n))
    }
    fn list_parts(&self, bucket: &str, upload_id: &str) -> DriveResult<Vec<Vec<u8>>> {
        let (b, id) = (bucket.to_string(), upload_id.to_string());
        self.call(move |d| d.list_parts(&b, &id))
    }
    fn link_parts(
        &self,
        bucket: &str,
        upload_id: &str,
        parts: &[(String, u32)],
    ) -> DriveResult<Staging> {
        let (b, id, parts) = (bucket.to_string(), upload_id.to_string(), parts.to_vec());
        self.staging(move |d| d.link_parts(&b, &id, &parts))
    }
    fn walk(&self, bucket: &str, w: &Walk<'_>) -> DriveResult<Vec<WalkItem>> {
        let (b, w) = (bucket.to_string(), OwnedWalk::from(w));
        self.call(move |d| d.walk(&b, &w.walk()))
    }
}

/// A `Walk` a call can own.
#[derive(Debug, Clone)]
pub struct OwnedWalk {
    prefix: String,
    after: String,
    collapse: bool,
    limit: usize,
    debris: bool,
}

impl From<&Walk<'_>> for OwnedWalk {
    fn from(w: &Walk<'_>) -> OwnedWalk {
        OwnedWalk {
            prefix: w.prefix.to_string(),
            after: w.after.to_string(),
            collapse: w.collapse,
            limit: w.limit,
            debris: w.debris,
        }
    }
}

impl OwnedWalk {
    pub fn walk(&self) -> Walk<'_> {
        Walk {
            prefix: &self.prefix,
            after: &self.after,
            collapse: self.collapse,
            limit: self.limit,
            debris: self.debris,
        }
    }
}

/// A file being written, each write a call on the drive's workers.
struct BoundedSink {
    inner: Arc<Mutex<Box<dyn Sink>>>,
    worker: Arc<DriveWorker>,
    timeout: Duration,
}

impl Sink for BoundedSink {
    fn write_all(&mut self, bytes: &[u8]) -> DriveResult<()> {
        let (s, b) = (self.inner.clone(), bytes.to_vec());
        one(
            &self.worker,
            self.timeout,
            move || s.lock().unwrap_or_else(|p| p.into_inner()).write_all(&b),
            None,
        )
    }

    fn finish(&mut self) -> DriveResult<()> {
        let s = self.inner.clone();
        one(
            &self.worker,
            self.timeout,
            move || s.lock().unwrap_or_else(|p| p.into_inner()).finish(),
            None,
        )
    }
}

/// A data directory held for reading; let go of on the drive's workers (letting go may remove
/// a replaced version's files).
struct BoundedData {
    inner: Option<Arc<dyn DataReader>>,
    worker: Arc<DriveWorker>,
    timeout: Duration,
}

impl DataReader for BoundedData {
    fn open_part(&self, part: u32) -> DriveResult<Box<dyn ReadAt>> {
        let Some(data) = self.inner.clone() else {
            return Err(DriveError::NotFound);
        };
        let file = one(
            &self.worker,
            self.timeout,
            move || data.open_part(part).map(Arc::<dyn ReadAt>::from),
            None,
        )?;
        Ok(Box::new(BoundedReadAt {
            inner: file,
            worker: self.worker.clone(),
            timeout: self.timeout,
        }))
    }
}

impl Drop for BoundedData {
    fn drop(&mut self) {
        if let Some(data) = self.inner.take() {
            self.worker.clean_up(self.timeout, move || drop(data));
        }
    }
}

/// A shard file held open for reading.
struct BoundedReadAt {
    inner: Arc<dyn ReadAt>,
    worker: Arc<DriveWorker>,
    timeout: Duration,
}

impl ReadAt for BoundedReadAt {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DriveResult<()> {
        let (f, len) = (self.inner.clone(), buf.len());
        let got = one(
            &self.worker,
            self.timeout,
            move || {
                let mut b = vec![0u8; len];
                f.read_exact_at(&mut b, offset).map(|()| b)
            },
            None,
        )?;
        buf.copy_from_slice(&got);
        Ok(())
    }

    fn size(&self) -> DriveResult<u64> {
        let f = self.inner.clone();
        one(&self.worker, self.timeout, move || f.size(), None)
    }
}

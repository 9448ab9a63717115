//! The write path: a part's body arrives block by block (`PartStager`, fed by the caller as
//! bytes come in — the S3 layer from the network, `feed` from a `Read`); each whole block is
//! encoded and every shard written through the shard format's writer to its own drive's
//! staging directory, all drives at once (memory stays a block or two whatever the object size;
//! small objects go inline into the metadata instead). Then, under the key's lock: read the
//! key's state, check the write's conditions against it, and commit (`set::commit`).

use super::drive::{DriveError, DriveResult, Sink, Staging};
use super::fanout::{self, Call};
use super::geometry::{encode_block, EncodedBlock, Geometry};
use super::meta::{Entry, Erasure, ObjectMeta, PartMeta, Version};
use super::names::hex;
use super::set::commit::Proposal;
use super::set::{run_parallel_late, ErasureSet, KeyState};
use super::shard::{self, ShardId, ShardWriter};
use super::{EngineError, ObjectInfo, PutOptions};
use md5::{Digest, Md5};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{mpsc, Arc, Mutex};

/// A check run once the whole body was read, before anything becomes visible: it verifies
/// what the protocol layer knows (checksums, trailers, payload hashes) and returns checksums to
/// record with the object.
pub type BodyCheck<'a> = &'a mut dyn FnMut() -> Result<BTreeMap<String, String>, EngineError>;

/// Content-MD5, then the caller's check.
pub fn verify_body(
    staged: &StagedPart,
    content_md5: Option<[u8; 16]>,
    check: BodyCheck<'_>,
) -> Result<BTreeMap<String, String>, EngineError> {
    if content_md5.is_some_and(|want| want != staged.md5) {
        return Err(EngineError::BadDigest);
    }
    check()
}

/// Bytes read before deciding between an inline object and a streamed one.
const FIRST_READ: usize = 64 * 1024;

/// The shards of one part, written (not yet durable: the commit's barrier makes them so).
pub struct StagedPart {
    pub size: u64,
    pub md5: [u8; 16],
    /// Per position: the staging directory holding `part.<n>`, or why that drive failed.
    pub staged: Vec<DriveResult<Staging>>,
    /// Per position: the shard bytes, when the part is small enough to inline.
    pub inline: Option<Vec<Vec<u8>>>,
}

impl StagedPart {
    /// Removes the staging directories (a write that will not be committed, or the ones of
    /// drives that did not commit).
    pub fn discard(&self, set: &ErasureSet) {
        for (p, s) in self.staged.iter().enumerate() {
            if let (Ok(s), Some(d)) = (s, set.drive(p)) {
                d.remove_staging(s);
            }
        }
    }
}

/// Where a body goes block by block: a PutObject's or an UploadPart's stager.
pub trait BlockSink: Send {
    /// Bytes per block: `write_block` takes exactly this many.
    fn block_size(&self) -> usize;
    /// Encodes one whole block and writes its shards to every drive.
    fn write_block(&mut self, block: &[u8]) -> Result<(), EngineError>;
}

/// A PutObject whose body is handed in block by block (`Engine::begin_put`), then committed by
/// `Engine::finish_put`. Dropped unfinished, it leaves nothing behind.
pub struct ObjectUpload {
    bucket: String,
    key: String,
    opts: PutOptions,
    placement: u64,
    stager: PartStager,
}

impl BlockSink for ObjectUpload {
    fn block_size(&self) -> usize {
        self.stager.block_size()
    }

    fn write_block(&mut self, block: &[u8]) -> Result<(), EngineError> {
        self.stager.write_block(block)
    }
}

impl ObjectUpload {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The erasure set the upload is written to.
    pub fn set(&self) -> Arc<ErasureSet> {
        self.stager.set()
    }
}

/// Feeds `body` to `sink` block by block, reading the next block on a thread of its own while
/// the last one is written; returns the tail (the last block, shorter than a whole one).
pub fn feed(
    sink: &mut dyn BlockSink,
    body: &mut (dyn Read + Send),
) -> Result<Vec<u8>, EngineError> {
    let size = sink.block_size();
    // A small first buffer: most objects are small, and zeroing a whole block for each of them
    // showed up in profiles of 4 KiB PUTs.
    let mut block = vec![0u8; size.min(FIRST_READ)];
    let mut len = read_full(body, &mut block).map_err(EngineError::Body)?;
    if len == block.len() && len < size {
        block.resize(size, 0);
        len += read_full(body, &mut block[len..]).map_err(EngineError::Body)?;
    }
    if len < size {
        block.truncate(len);
        return Ok(block);
    }
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(1);
        s.spawn(move || loop {
            let mut next = vec![0u8; size];
            let read = read_full(body, &mut next);
            let last = !matches!(read, Ok(n) if n == size);
            if tx.send(read.map(|n| (next, n))).is_err() || last {
                break;
            }
        });
        while len == size {
            sink.write_block(&block)?;
            (block, len) = rx
                .recv()
                .unwrap_or_else(|_| Err(io::Error::other("body reader stopped")))
                .map_err(EngineError::Body)?;
        }
        block.truncate(len);
        Ok(block)
    })
}

impl ErasureSet {
    pub fn put(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        body: &mut (dyn Read + Send),
        opts: &PutOptions,
        placement: u64,
        check: BodyCheck<'_>,
    ) -> Result<ObjectInfo, EngineError> {
        let mut upload = self.begin_put(bucket, key, opts.clone(), placement)?;
        let tail = feed(&mut upload, body)?;
        self.finish_put(upload, &tail, check)
    }

    /// A PutObject of `bucket/key` whose body comes block by block.
    pub fn begin_put(
        self: &Arc<Self>,
        bucket: &str,
        key: &str,
        opts: PutOptions,
        placement: u64,
    ) -> Result<ObjectUpload, EngineError> {
        let geo = self.geometry(opts.reduced_redundancy);
        let data_id = uuid::Uuid::new_v4().to_string();
        Ok(ObjectUpload {
            stager: PartStager::new(self, geo, placement, 1, &data_id, true)?,
            bucket: bucket.to_string(),
            key: key.to_string(),
            opts,
            placement,
        })
    }

    /// Stages the last block of an upload and commits it.
    pub fn finish_put(
        &self,
        upload: ObjectUpload,
        tail: &[u8],
        check: BodyCheck<'_>,
    ) -> Result<ObjectInfo, EngineError> {
        let ObjectUpload {
            bucket,
            key,
            opts,
            placement,
            stager,
        } = upload;
        let (geo, data_id) = (stager.geo, stager.data_id.clone());
        let staged = stager.finish(tail)?;
        let result = self.commit_put(
            &bucket, &key, &opts, placement, check, &geo, &data_id, &staged,
        );
        // Committed drives moved their staging directory away; what is left belongs to a
        // failed write or to drives that did not commit.
        staged.discard(self);
        result
    }

    #[allow(clippy::too_many_arguments)] // one PutObject's worth of parameters
    fn commit_put(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
        placement: u64,
        check: BodyCheck<'_>,
        geo: &Geometry,
        data_id: &str,
        staged: &StagedPart,
    ) -> Result<ObjectInfo, EngineError> {
        let mut checksums = opts.checksums.clone();
        checksums.extend(verify_body(staged, opts.content_md5, check)?);
        let etag = hex(&staged.md5);
        let object = ObjectMeta {
            size: staged.size,
            etag: etag.clone(),
            mod_time_ns: now_ns(),
            content_type: opts.content_type.clone(),
            user_meta: opts.user_meta.clone(),
            tags: opts.tags.clone(),
            checksums: checksums.clone(),
            erasure: self.erasure_for(geo, placement),
            data_dir: staged.inline.is_none().then(|| data_id.to_string()),
            parts: vec![PartMeta {
                number: 1,
                size: staged.size,
                etag,
                checksums,
                data_id: data_id.to_string(),
            }],
            upload_id: None,
            reduced_redundancy: opts.reduced_redundancy,
            acl: opts.acl.clone(),
        };
        let _guard = self.lock_key(bucket, key);
        let state = self.read_key(bucket, key);
        self.check_conditions(&state, bucket, key, &opts.conditions)?;
        let version = new_version(&state, Some(object));
        let proposal = Proposal {
            entries: entries_for(&version, staged),
            data: staged.staged.iter().map(|s| s.clone().ok()).collect(),
            quorum: geo.write_quorum(),
            version,
        };
        self.commit(bucket, key, &state, &proposal)?;
        Ok(ObjectInfo::from_version(bucket, key, &proposal.version))
    }

    /// Checks a write's conditions against the key's state (under its lock: atomic with the
    /// write that follows).
    pub fn check_conditions(
        &self,
        state: &KeyState,
        bucket: &str,
        key: &str,
        conditions: &super::Conditions,
    ) -> Result<(), EngineError> {
        if conditions.is_empty() {
            return Ok(());
        }
        let current = state.current(|| format!("{bucket}/{key}"))?;
        conditions.check(current.and_then(|v| v.object.as_ref()), bucket, key)
    }

    /// The erasure layout of a new object; the distribution rotates shard indices over the
    /// drives by the key's placement hash so that data shards spread over every drive.
    pub fn erasure_for(&self, geo: &Geometry, placement: u64) -> Erasure {
        let n = geo.drives();
        let start = ((placement >> 32) as usize) % n;
        Erasure {
            codec: self.codec_id,
            bitrot: self.bitrot,
            data: geo.data as u8,
            parity: geo.parity as u8,
            block_size: geo.block_size as u32,
            distribution: (0..n).map(|p| ((p + start) % n) as u8).collect(),
        }
    }

    /// The header of shard files this set writes.
    pub fn shard_header(&self) -> [u8; shard::HEADER_LEN] {
        shard::header(self.codec_id, self.bitrot as u8)
    }
}

/// Stages one part of an object on every drive of a set, a block at a time: each whole block
/// is encoded and its shards written through the shard format's writer to every drive's
/// staging directory at once (each drive on its own workers, under the deadline), its MD5
/// hashed beside them. The caller hands in blocks as they arrive, so a body that trickles in
/// costs no thread while it waits; memory is the block being written. A part smaller than a
/// block whose shards fit the inline limit is kept in memory instead (nothing is written until
/// `finish`). A drive that fails or does not answer in time is out of the write from then on.
/// Dropping a stager removes what it staged (on a drive that does not answer, once it does).
pub struct PartStager {
    set: Arc<ErasureSet>,
    pub(super) geo: Geometry,
    codec: Arc<strata_codec::erasure::Codec>,
    pub(super) data_id: String,
    part: u32,
    /// Per drive position: the shard index it holds.
    dist: Arc<Vec<u8>>,
    allow_inline: bool,
    /// Per drive position, once the first whole block came: its staging and shard writer, or
    /// why that drive failed. Shared with the drive's calls, which may outlive a write that
    /// stopped waiting for them.
    writers: Vec<Writer>,
    /// Per drive position: why it is out of the write (as seen here; a call that did not
    /// answer may still hold its writer).
    out: Vec<Option<DriveError>>,
    md5: strata_codec::md5x::Md5,
    size: u64,
    /// The last block's shards (reused block after block once no call holds it any more).
    encoded: Arc<EncodedBlock>,
}

type DriveWriter = (Staging, ShardWriter<dyn Sink>);
type Writer = Arc<Mutex<DriveResult<DriveWriter>>>;

impl PartStager {
    pub fn new(
        set: &Arc<ErasureSet>,
        geo: Geometry,
        placement: u64,
        part: u32,
        data_id: &str,
        allow_inline: bool,
    ) -> Result<PartStager, EngineError> {
        Ok(PartStager {
            codec: set.codec(&geo)?,
            dist: Arc::new(set.erasure_for(&geo, placement).distribution),
            set: set.clone(),
            geo,
            data_id: data_id.to_string(),
            part,
            allow_inline,
            writers: Vec::new(),
            out: Vec::new(),
            md5: strata_codec::md5x::Md5::new(),
            size: 0,
            encoded: Arc::new(EncodedBlock::new()),
        })
    }

    pub fn set(&self) -> Arc<ErasureSet> {
        self.set.clone()
    }

    /// Bytes per block: every `write_block` takes exactly this many.
    pub fn block_size(&self) -> usize {
        self.geo.block_size
    }

    fn id(&self, p: usize) -> ShardId<'_> {
        ShardId {
            data_id: &self.data_id,
            part: self.part,
            index: self.dist[p],
            geo: self.geo,
        }
    }

    /// Writes one whole block (`block_size` bytes) to every drive.
    pub fn write_block(&mut self, block: &[u8]) -> Result<(), EngineError> {
        if block.len() != self.geo.block_size {
            return Err(EngineError::Codec(format!(
                "a block of {} bytes, not {}",
                block.len(),
                self.geo.block_size
            )));
        }
        if self.writers.is_empty() {
            self.open_writers();
        }
        self.write(block)
    }

    /// Opens every drive's staging directory and shard file.
    fn open_writers(&mut self) {
        let header = self.set.shard_header();
        let (data_id, part, dist, geo) =
            (self.data_id.clone(), self.part, self.dist.clone(), self.geo);
        let opened = run_parallel_late(
            &self.set.handles(),
            move |p, d| {
                let staging = d.new_staging()?;
                let id = ShardId {
                    data_id: &data_id,
                    part,
                    index: dist[p],
                    geo,
                };
                let sink = d
                    .create_file(&staging, &format!("part.{part}"))
                    .and_then(|sink| ShardWriter::new(sink, &id, header));
                match sink {
                    Ok(w) => Ok((staging, w)),
                    Err(e) => {
                        d.remove_staging(&staging);
                        Err(e)
                    }
                }
            },
            |d, (staging, _)| d.remove_staging(&staging),
        );
        self.out = opened.iter().map(|r| r.as_ref().err().cloned()).collect();
        self.writers = opened
            .into_iter()
            .map(|r| Arc::new(Mutex::new(r)))
            .collect();
    }

    /// Encodes `data` (a whole block, or the last one) and writes its shards to every drive
    /// still writing, hashing its MD5 meanwhile.
    fn write(&mut self, data: &[u8]) -> Result<(), EngineError> {
        if Arc::get_mut(&mut self.encoded).is_none() {
            // A call that did not answer in time still holds the last block.
            self.encoded = Arc::new(EncodedBlock::new());
        }
        let encoded = Arc::get_mut(&mut self.encoded)
            .ok_or_else(|| EngineError::Codec("block buffer in use".into()))?;
        encoded
            .encode(&self.codec, &self.geo, data)
            .map_err(EngineError::Codec)?;
        let handles = self.set.handles();
        let calls = (0..self.writers.len())
            .map(|p| {
                let h = handles.get(p)?.as_ref()?;
                if self.out[p].is_some() {
                    return None;
                }
                let (slot, encoded, d) = (
                    self.writers[p].clone(),
                    self.encoded.clone(),
                    h.drive.clone(),
                );
                let index = self.dist[p] as usize;
                Some(Call::new(h.worker.clone(), move || {
                    let mut slot = lock(&slot);
                    let Ok((staging, w)) = &mut *slot else {
                        return Ok(());
                    };
                    if let Err(e) = w.write_block(encoded.shard(index)) {
                        // This drive is out of the write: it keeps nothing of it.
                        d.remove_staging(staging);
                        *slot = Err(e.clone());
                        return Err(e);
                    }
                    Ok(())
                }))
            })
            .collect();
        let pending = fanout::start(calls, self.set.cfg.drive_timeout);
        let answers = if self.md5.defers(data.len()) {
            // Other uploads are hashing: the block waits for the lane kernel while its shards
            // are written, so that theirs arriving meanwhile share one batch with it.
            self.md5.update_during(data, || pending.wait())
        } else {
            self.md5.update(data);
            pending.wait()
        };
        for (p, r) in answers.into_iter().enumerate() {
            if let (Err(e), None) = (r, &self.out[p]) {
                self.out[p] = Some(e);
            }
        }
        self.size += data.len() as u64;
        Ok(())
    }

    /// Writes the last block (`tail`, shorter than a block, possibly empty) and completes
    /// every drive's shard; a part that fits the inline limit comes back in memory.
    pub fn finish(mut self, tail: &[u8]) -> Result<StagedPart, EngineError> {
        if tail.len() >= self.geo.block_size {
            return Err(EngineError::Codec("the last block is a whole block".into()));
        }
        if self.writers.is_empty() {
            if self.allow_inline
                && self.geo.shard_file_size(tail.len() as u64) <= self.set.cfg.inline_limit as u64
            {
                return self.inline(tail);
            }
            self.open_writers();
        }
        if !tail.is_empty() {
            self.write(tail)?;
        }
        let writers = self.writers.clone();
        let out = self.out.clone();
        let finished = run_parallel_late(
            &self.set.handles(),
            move |p, d| {
                if let Some(Some(e)) = out.get(p) {
                    return Err(e.clone());
                }
                let slot = writers.get(p).ok_or(DriveError::Offline)?;
                let (staging, w) = std::mem::replace(&mut *lock(slot), Err(DriveError::NotFound))?;
                match w.finish() {
                    Ok(_) => Ok(staging),
                    Err(e) => {
                        d.remove_staging(&staging);
                        Err(e)
                    }
                }
            },
            |d, staging| d.remove_staging(&staging),
        );
        for (p, r) in finished.iter().enumerate() {
            if let (Err(e), None) = (r, &self.out[p]) {
                self.out[p] = Some(e.clone());
            }
        }
        // Drives out of the write keep nothing of it (those that did not answer: once they do).
        self.release();
        let md5 = std::mem::take(&mut self.md5).finalize();
        Ok(StagedPart {
            size: self.size,
            md5,
            staged: finished,
            inline: None,
        })
    }

    /// Removes what the stager holds on every drive (a staging directory still in its writer)
    /// and forgets the writers.
    fn release(&mut self) {
        let writers = std::mem::take(&mut self.writers);
        for (p, slot) in writers.into_iter().enumerate() {
            let Some(h) = self.set.handle(p) else {
                continue;
            };
            if matches!(slot.try_lock().as_deref(), Ok(Err(_))) {
                continue; // nothing staged there any more
            }
            let d = h.drive.clone();
            h.worker.clean_up(h.timeout, move || {
                let mut slot = lock(&slot);
                if let Ok((staging, _)) = &*slot {
                    d.remove_staging(staging);
                }
                *slot = Err(DriveError::NotFound);
            });
        }
    }

    /// A small part's shards, in memory.
    fn inline(self, data: &[u8]) -> Result<StagedPart, EngineError> {
        let encoded = encode_block(&self.codec, &self.geo, data).map_err(EngineError::Codec)?;
        let header = self.set.shard_header();
        let inline = (0..self.geo.drives())
            .map(|p| {
                let blocks: Vec<&[u8]> = if data.is_empty() {
                    Vec::new()
                } else {
                    vec![encoded.shard(self.dist[p] as usize)]
                };
                shard::inline_shard(&self.id(p), header, &blocks)
            })
            .collect();
        Ok(StagedPart {
            size: data.len() as u64,
            md5: Md5::digest(data).into(),
            staged: (0..self.geo.drives())
                .map(|_| Err(DriveError::NotFound))
                .collect(),
            inline: Some(inline),
        })
    }
}

impl Drop for PartStager {
    /// A stager dropped before `finish` (the body failed, the client went away) leaves nothing.
    fn drop(&mut self) {
        self.release();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A new version of the key: its stamp after every stamp the drives list (invariant 3 of
/// `set::commit`), even when the clock is behind.
pub fn new_version(state: &KeyState, object: Option<ObjectMeta>) -> Version {
    Version {
        id: uuid::Uuid::new_v4().to_string(),
        stamp: now_ns().max(state.newest_stamp() + 1),
        object,
    }
}

/// Each drive's entry of a new version from its staged shards.
fn entries_for(version: &Version, staged: &StagedPart) -> Vec<DriveResult<Entry>> {
    let dist = version
        .object
        .as_ref()
        .map(|o| o.erasure.distribution.clone())
        .unwrap_or_default();
    (0..staged.staged.len())
        .map(|p| {
            let entry = |inline| Entry {
                version: version.clone(),
                shard: dist.get(p).copied().unwrap_or(0),
                inline,
            };
            match (&staged.inline, &staged.staged[p]) {
                (Some(inline), _) => Ok(entry(Some(inline[p].clone()))),
                (None, Ok(_)) => Ok(entry(None)),
                (None, Err(e)) => Err(e.clone()),
            }
        })
        .collect()
}

/// Fills `buf` from `r` unless the stream ends first; returns the bytes read.
pub fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

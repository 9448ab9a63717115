//! Request and response bodies between the network and the engine, with no thread held while
//! waiting for the client. A request body is read here, asynchronously, into whole blocks; each
//! block then goes to the engine on the blocking pool while the next one arrives
//! (`stream_into`), so a body that trickles in costs its bytes, never a thread. A response is
//! read from the drives a block at a time, one block ahead of the client, each read on the
//! blocking pool (`stream_object`), so a client that reads slowly holds no thread either.

use super::errors::to_s3;
use bytes::Bytes;
use futures_util::StreamExt;
use s3s::checksum::ChecksumHasher;
use s3s::dto::StreamingBlob;
use s3s::{s3_error, S3Error, S3Result};
use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use strata_engine::{BlockSink, ObjectReader};
use tokio::sync::Notify;

/// The first allocation for a block of a body of unknown length: most objects are small.
const FIRST_ALLOCATION: usize = 64 * 1024;

/// A request body, read block by block.
pub struct BodyReader {
    stream: Option<StreamingBlob>,
    /// Bytes received but not yet handed out.
    carry: Bytes,
    /// The length the request declared (`x-amz-decoded-content-length` for aws-chunked bodies,
    /// else Content-Length). s3s ends an aws-chunked body that stops before its final 0-size
    /// chunk as if it were complete, so a truncated upload would be stored short; here it fails
    /// as IncompleteBody, as does a body longer than declared.
    expected: Option<u64>,
    received: u64,
    /// Checksums requested by the client, computed as the blocks go to the engine.
    pub hasher: Arc<Mutex<ChecksumHasher>>,
}

impl BodyReader {
    pub fn new(
        blob: Option<StreamingBlob>,
        hasher: ChecksumHasher,
        expected: Option<u64>,
    ) -> BodyReader {
        BodyReader {
            stream: blob,
            carry: Bytes::new(),
            expected,
            received: 0,
            hasher: Arc::new(Mutex::new(hasher)),
        }
    }

    /// The length the request declared, if it did.
    pub fn expected(&self) -> Option<u64> {
        self.expected
    }

    /// The next `size` bytes of the body: fewer only at its end (then possibly none).
    pub async fn next_block(&mut self, size: usize) -> S3Result<Vec<u8>> {
        let left = self
            .expected
            .map_or(FIRST_ALLOCATION as u64, |n| n.saturating_sub(self.received))
            + self.carry.len() as u64;
        let mut block = Vec::with_capacity(size.min(left as usize));
        self.fill(&mut block, size).await?;
        Ok(block)
    }

    /// Fills `block` (emptied first, its allocation kept) with the next `size` bytes of the
    /// body: fewer only at its end.
    pub async fn fill(&mut self, block: &mut Vec<u8>, size: usize) -> S3Result<()> {
        block.clear();
        while block.len() < size {
            if self.carry.is_empty() {
                match self.pull().await? {
                    Some(bytes) => self.carry = bytes,
                    None => break,
                }
            }
            let take = (size - block.len()).min(self.carry.len());
            block.extend_from_slice(&self.carry.split_to(take));
        }
        Ok(())
    }

    /// Puts bytes back in front of what is still to be read.
    pub fn unread(&mut self, bytes: Vec<u8>) {
        let mut joined = bytes;
        joined.extend_from_slice(&self.carry);
        self.carry = Bytes::from(joined);
    }

    async fn pull(&mut self) -> S3Result<Option<Bytes>> {
        let Some(stream) = &mut self.stream else {
            return Ok(None);
        };
        match stream.next().await {
            Some(Ok(bytes)) => {
                self.received += bytes.len() as u64;
                if let Some(n) = self.expected.filter(|&n| self.received > n) {
                    return Err(s3_error!(
                        IncompleteBody,
                        "The request body is longer than the {n} bytes declared"
                    ));
                }
                Ok(Some(bytes))
            }
            Some(Err(e)) => Err(super::errors::body_error(&io::Error::other(e.to_string()))),
            None => {
                self.stream = None;
                if let Some(n) = self.expected.filter(|&n| self.received < n) {
                    return Err(s3_error!(
                        IncompleteBody,
                        "You did not provide the number of bytes specified by the \
                         Content-Length HTTP header: {} of {n}",
                        self.received
                    ));
                }
                Ok(None)
            }
        }
    }
}

/// Adds `bytes` to the requested checksums (on a blocking thread: SHA-256 is not free).
pub fn hash(hasher: &Mutex<ChecksumHasher>, bytes: &[u8]) {
    if let Ok(mut h) = hasher.lock() {
        h.update(bytes);
    }
}

/// Feeds `first` (bytes already read) and the rest of `body` to `upload`, block by block: each
/// whole block is hashed and written on the blocking pool while the next one is read from the
/// network. Returns the upload and the tail (the last block, shorter than a whole one, not yet
/// written). On failure the upload is dropped, on the blocking pool, which removes what it
/// staged.
pub async fn stream_into<U: BlockSink + 'static>(
    mut upload: U,
    first: Vec<u8>,
    body: &mut BodyReader,
) -> S3Result<(U, Vec<u8>)> {
    let size = upload.block_size();
    let mut block = if first.len() == size {
        first
    } else {
        body.unread(first);
        body.next_block(size).await?
    };
    // Two buffers take turns: one is written while the other fills (no allocation per block).
    let mut spare = Vec::with_capacity(size);
    while block.len() == size {
        let hasher = body.hasher.clone();
        let write = tokio::task::spawn_blocking(move || {
            hash(&hasher, &block);
            let written = upload.write_block(&block);
            (upload, block, written)
        });
        let (written, next) = tokio::join!(write, body.fill(&mut spare, size));
        let (returned, used, written) = written.map_err(S3Error::internal_error)?;
        upload = returned;
        match (written, next) {
            (Ok(()), Ok(())) => {}
            (Err(e), _) => return Err(discard(upload, to_s3(e))),
            (_, Err(e)) => return Err(discard(upload, e)),
        }
        block = std::mem::replace(&mut spare, used);
    }
    Ok((upload, block))
}

/// Drops an upload that will not be finished on the blocking pool (it removes its staging).
fn discard<U: Send + 'static>(upload: U, e: S3Error) -> S3Error {
    tokio::task::spawn_blocking(move || drop(upload));
    e
}

/// Blocks read ahead of a client: one at first, twice as many each time the client had to wait
/// for one (after the first two), up to `AHEAD` (so a client that reads fast gets a deep read-ahead, and 500 clients
/// that never read cost a block or two each, not four). A reader stopped because enough was
/// queued starts again once the client has taken all but `RESTART_AT` (so that each start
/// reads several blocks).
const AHEAD: usize = 4;
const RESTART_AT: usize = 1;

/// An object's bytes for the client: a task on the blocking pool reads blocks from the drives
/// up to `AHEAD` of what the client has taken, then ends (holding no thread while the client is
/// slow) and is started again as the client catches up; no read once the last byte was.
/// `first`: the object's first piece, which the caller read (`None`: it has no bytes).
pub fn stream_object(reader: ObjectReader, first: Option<Vec<u8>>) -> StreamingBlob {
    let done = first.is_none() || reader.is_done();
    let blocks = first.map(|b| Ok(Bytes::from(b))).into_iter().collect();
    let ahead = Arc::new(ReadAhead {
        state: Mutex::new(Queue {
            blocks,
            reader: Some(reader),
            reading: false,
            done,
            ahead: 1,
            taken: 0,
        }),
        ready: Notify::new(),
    });
    // The next block is read while the response's headers go out.
    ahead.read_more(&mut ahead.lock());
    let stream = futures_util::stream::unfold(ahead, |ahead| async move {
        loop {
            let next = {
                let mut q = ahead.lock();
                let block = q.blocks.pop_front();
                if block.is_some() {
                    q.taken += 1;
                } else if q.taken >= 2 {
                    q.ahead = (q.ahead * 2).min(AHEAD);
                }
                if q.blocks.len() <= RESTART_AT {
                    ahead.read_more(&mut q);
                }
                (block, q.done)
            };
            match next {
                (Some(block), _) => return Some((block, ahead)),
                (None, true) => return None,
                (None, false) => ahead.ready.notified().await,
            }
        }
    });
    StreamingBlob::wrap(stream)
}

struct ReadAhead {
    state: Mutex<Queue>,
    /// A block was queued (or the end reached).
    ready: Notify,
}

struct Queue {
    blocks: VecDeque<io::Result<Bytes>>,
    /// The object's reader, while no task is reading with it.
    reader: Option<ObjectReader>,
    reading: bool,
    done: bool,
    /// Blocks to read ahead of the client now.
    ahead: usize,
    /// Blocks the response has taken. The first two go into the connection's buffers whether
    /// the client reads or not: only a wait after them says the client is faster than the
    /// drives (so a client that never reads holds two blocks, not `AHEAD`).
    taken: usize,
}

impl Queue {
    fn full(&self) -> bool {
        self.blocks.len() >= self.ahead
    }
}

impl ReadAhead {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a reading task unless one runs or enough is queued.
    fn read_more(self: &Arc<Self>, q: &mut Queue) {
        if q.reading || q.done || q.full() {
            return;
        }
        if let Some(reader) = q.reader.take() {
            q.reading = true;
            let this = self.clone();
            tokio::task::spawn_blocking(move || this.read(reader));
        }
    }

    /// Reads blocks until enough are queued or the object ends.
    fn read(&self, mut reader: ObjectReader) {
        loop {
            let block = reader.next_chunk();
            let mut q = self.lock();
            let end = match block {
                Ok(Some(b)) => {
                    q.blocks.push_back(Ok(Bytes::from(b)));
                    reader.is_done()
                }
                Ok(None) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "object read failed mid-stream");
                    q.blocks.push_back(Err(io::Error::other(e.to_string())));
                    true
                }
            };
            let full = q.full();
            if end || full {
                q.done = end;
                q.reading = false;
                if !end {
                    q.reader = Some(reader);
                }
                drop(q);
                self.ready.notify_one();
                return;
            }
            drop(q);
            self.ready.notify_one();
        }
    }
}

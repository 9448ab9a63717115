//! Bridges between the async HTTP bodies of s3s and the engine's blocking streams, with
//! memory bounded by a few chunks in flight in each direction.

use crate::engine::ObjectReader;
use bytes::Bytes;
use futures_util::StreamExt;
use s3s::checksum::ChecksumHasher;
use s3s::dto::StreamingBlob;
use std::io::{self, Read};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Request-body chunks buffered between the network and the engine.
const BODY_CHUNKS: usize = 8;
/// Response blocks (≤ 1 MiB each) buffered between the engine and the network.
const RESPONSE_BLOCKS: usize = 2;

/// The engine's side of a request body: a blocking `Read` fed by a task pulling the HTTP body.
pub struct BlockingBody {
    rx: mpsc::Receiver<Result<Bytes, io::Error>>,
    current: Bytes,
    /// The length the request declared (`x-amz-decoded-content-length` for aws-chunked bodies,
    /// else Content-Length) and the bytes received so far. s3s ends an aws-chunked body that
    /// stops before its final 0-size chunk as if it were complete, so a truncated upload would
    /// be stored short; here it fails as IncompleteBody.
    expected: Option<u64>,
    received: u64,
    /// Checksums requested by the client, computed as the bytes pass.
    pub hasher: Arc<Mutex<ChecksumHasher>>,
}

impl BlockingBody {
    /// Starts pulling `blob` on the runtime; call from async context, read from a blocking one.
    pub fn spawn(
        blob: StreamingBlob,
        hasher: ChecksumHasher,
        expected: Option<u64>,
    ) -> BlockingBody {
        let (tx, rx) = mpsc::channel(BODY_CHUNKS);
        tokio::spawn(async move {
            let mut blob = blob;
            while let Some(item) = blob.next().await {
                let item = item.map_err(|e| io::Error::other(e.to_string()));
                let stop = item.is_err();
                if tx.send(item).await.is_err() || stop {
                    break;
                }
            }
        });
        BlockingBody {
            rx,
            current: Bytes::new(),
            expected,
            received: 0,
            hasher: Arc::new(Mutex::new(hasher)),
        }
    }
}

impl Read for BlockingBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => {
                    self.received += b.len() as u64;
                    if let Some(n) = self.expected.filter(|&n| self.received > n) {
                        return Err(io::Error::other(format!(
                            "LengthMismatch: the body is longer than the {n} bytes declared"
                        )));
                    }
                    if let Ok(mut h) = self.hasher.lock() {
                        h.update(&b);
                    }
                    self.current = b;
                }
                Some(Err(e)) => return Err(e),
                None => {
                    if let Some(n) = self.expected.filter(|&n| self.received < n) {
                        return Err(io::Error::other(format!(
                            "Incomplete body: {} of the {n} bytes declared",
                            self.received
                        )));
                    }
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Streams an object to the client: a blocking task reads block after block.
pub fn stream_object(mut reader: ObjectReader) -> StreamingBlob {
    let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(RESPONSE_BLOCKS);
    tokio::task::spawn_blocking(move || loop {
        let item = match reader.next_chunk() {
            Ok(Some(chunk)) => Ok(Bytes::from(chunk)),
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "object read failed mid-stream");
                Err(io::Error::other(e.to_string()))
            }
        };
        let stop = item.is_err();
        if tx.blocking_send(item).is_err() || stop {
            return;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    StreamingBlob::wrap(stream)
}

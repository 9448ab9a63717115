//! Connections to the CSI socket, with every request's `:authority` made one the HTTP/2
//! server accepts.
//!
//! gRPC's C core (the Python, C++ and Ruby clients) sends the path of a unix socket,
//! percent-encoded, as the authority; grpc-java sends the bare path. h2 refuses both as a
//! malformed header (RST_STREAM with PROTOCOL_ERROR, before tonic sees the request) and has no
//! setting to allow them. On a unix socket the authority names nothing, so each header block
//! the client sends is decoded (HPACK, following the client's dynamic table) and handed to the
//! server re-encoded as plain literals, with an authority that is not a valid URI authority
//! replaced by `localhost`. Every other byte passes unchanged, in both directions.

use bytes::{BufMut, BytesMut};
use loona_hpack::Decoder;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;

/// The client connection preface (RFC 9113, 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// Frames written to the server stay within the size every HTTP/2 peer accepts.
const MAX_FRAME: usize = 16_384;
/// The dynamic table size the server allows the client's encoder (SETTINGS_HEADER_TABLE_SIZE's
/// initial value; h2 does not change it).
const TABLE_SIZE: usize = 4096;
/// The largest header block taken: far above any CSI request's, and a bound on memory.
const MAX_BLOCK: usize = 1 << 20;
/// What replaces an authority the server would refuse.
const LOCALHOST: &[u8] = b"localhost";

/// How far into the connection the client is.
enum Phase {
    /// Waiting for the 24 bytes of the preface.
    Preface,
    /// HTTP/2 frames.
    Frames,
    /// Not HTTP/2 with prior knowledge: everything passes unchanged (the server answers it).
    Raw,
}

/// A header block being gathered: a HEADERS frame without END_HEADERS, then CONTINUATIONs.
struct Block {
    stream: [u8; 4],
    end_stream: bool,
    priority: Option<[u8; 5]>,
    fragment: BytesMut,
}

/// A client connection as the HTTP/2 server reads it; see the module comment.
pub struct FixAuthority<S> {
    inner: S,
    phase: Phase,
    /// Bytes read from the client, not yet looked at.
    input: BytesMut,
    /// Bytes ready for the server.
    output: BytesMut,
    /// Payload bytes of the current frame still to pass unchanged.
    passing: usize,
    block: Option<Block>,
    decoder: Decoder<'static>,
    eof: bool,
}

impl<S> FixAuthority<S> {
    pub fn new(inner: S) -> FixAuthority<S> {
        let mut decoder = Decoder::new();
        decoder.set_max_allowed_table_size(TABLE_SIZE);
        FixAuthority {
            inner,
            phase: Phase::Preface,
            input: BytesMut::new(),
            output: BytesMut::new(),
            passing: 0,
            block: None,
            decoder,
            eof: false,
        }
    }

    /// Moves what can be decided from `input` to `output`.
    fn process(&mut self) -> io::Result<()> {
        loop {
            match self.phase {
                Phase::Raw => {
                    self.output.unsplit(self.input.split());
                    return Ok(());
                }
                Phase::Preface => {
                    if self.input.len() < PREFACE.len() && PREFACE.starts_with(&self.input) {
                        return Ok(());
                    }
                    self.phase = if self.input.starts_with(PREFACE) {
                        self.output.unsplit(self.input.split_to(PREFACE.len()));
                        Phase::Frames
                    } else {
                        Phase::Raw
                    };
                }
                Phase::Frames if self.passing > 0 => {
                    let n = self.passing.min(self.input.len());
                    if n == 0 {
                        return Ok(());
                    }
                    self.output.unsplit(self.input.split_to(n));
                    self.passing -= n;
                }
                Phase::Frames => {
                    if !self.frame()? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Handles the frame at the start of `input`; false when more bytes are needed first.
    fn frame(&mut self) -> io::Result<bool> {
        let Some(header) = self.input.get(..FRAME_HEADER) else {
            return Ok(false);
        };
        let len =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let (kind, flags) = (header[3], header[4]);
        let stream = [header[5], header[6], header[7], header[8]];
        if kind != HEADERS && kind != CONTINUATION {
            if self.block.is_some() {
                return Err(malformed("a header block was interrupted by another frame"));
            }
            self.output.unsplit(self.input.split_to(FRAME_HEADER));
            self.passing = len;
            return Ok(true);
        }
        if len > MAX_BLOCK {
            return Err(malformed("header frame too large"));
        }
        if self.input.len() < FRAME_HEADER + len {
            return Ok(false);
        }
        let _ = self.input.split_to(FRAME_HEADER);
        let payload = self.input.split_to(len);
        if kind == HEADERS {
            self.start_block(flags, stream, payload)?;
        } else {
            self.continue_block(stream, payload)?;
        }
        if flags & END_HEADERS != 0 {
            self.finish_block()?;
        }
        Ok(true)
    }

    fn start_block(&mut self, flags: u8, stream: [u8; 4], mut payload: BytesMut) -> io::Result<()> {
        if self.block.is_some() {
            return Err(malformed("HEADERS inside another header block"));
        }
        let pad = if flags & PADDED != 0 {
            let Some(&n) = payload.first() else {
                return Err(malformed("PADDED frame without a pad length"));
            };
            let _ = payload.split_to(1);
            usize::from(n)
        } else {
            0
        };
        let priority = if flags & PRIORITY != 0 {
            let p: [u8; 5] = payload
                .get(..5)
                .and_then(|p| p.try_into().ok())
                .ok_or_else(|| malformed("PRIORITY flag without its fields"))?;
            let _ = payload.split_to(5);
            Some(p)
        } else {
            None
        };
        if pad > payload.len() {
            return Err(malformed("padding longer than the frame"));
        }
        payload.truncate(payload.len() - pad);
        self.block = Some(Block {
            stream,
            end_stream: flags & END_STREAM != 0,
            priority,
            fragment: payload,
        });
        Ok(())
    }

    fn continue_block(&mut self, stream: [u8; 4], payload: BytesMut) -> io::Result<()> {
        let block = match &mut self.block {
            Some(b) if b.stream == stream => b,
            _ => return Err(malformed("CONTINUATION without its HEADERS")),
        };
        if block.fragment.len() + payload.len() > MAX_BLOCK {
            return Err(malformed("header block too large"));
        }
        block.fragment.unsplit(payload);
        Ok(())
    }

    /// Decodes the gathered block and writes it out again as HEADERS (and CONTINUATIONs).
    fn finish_block(&mut self) -> io::Result<()> {
        let Some(block) = self.block.take() else {
            return Err(malformed("END_HEADERS without a header block"));
        };
        let mut encoded = BytesMut::new();
        self.decoder
            .decode_with_cb(&block.fragment, |name, value| {
                let value: &[u8] = if &name[..] == b":authority" && !valid_authority(&value) {
                    LOCALHOST
                } else {
                    &value
                };
                put_literal(&mut encoded, &name, value);
            })
            .map_err(|e| malformed(&format!("header block: {e}")))?;
        self.emit(&block, encoded);
        Ok(())
    }

    fn emit(&mut self, block: &Block, mut encoded: BytesMut) {
        let mut first = true;
        loop {
            let room = MAX_FRAME - if first { 5 } else { 0 };
            let chunk = encoded.split_to(encoded.len().min(room));
            let last = encoded.is_empty();
            let mut flags = if last { END_HEADERS } else { 0 };
            let mut payload = BytesMut::with_capacity(chunk.len() + 5);
            if first {
                if block.end_stream {
                    flags |= END_STREAM;
                }
                if let Some(p) = block.priority {
                    flags |= PRIORITY;
                    payload.put_slice(&p);
                }
            }
            payload.unsplit(chunk);
            let kind = if first { HEADERS } else { CONTINUATION };
            put_frame_header(&mut self.output, payload.len(), kind, flags, block.stream);
            self.output.unsplit(payload);
            if last {
                return;
            }
            first = false;
        }
    }
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("HTTP/2 from the client: {what}"),
    )
}

/// Whether h2 accepts the bytes as a request's authority.
fn valid_authority(value: &[u8]) -> bool {
    http::uri::Authority::try_from(value).is_ok()
}

fn put_frame_header(out: &mut BytesMut, len: usize, kind: u8, flags: u8, stream: [u8; 4]) {
    // len ≤ MAX_FRAME, so it fits the 24-bit length field.
    out.put_slice(&(len as u32).to_be_bytes()[1..]);
    out.put_u8(kind);
    out.put_u8(flags);
    out.put_slice(&stream);
}

/// A header as "literal without indexing, new name" (RFC 7541, 6.2.2), strings without
/// Huffman coding: the server's dynamic table is never used, so it cannot drift from ours.
fn put_literal(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.put_u8(0);
    put_string(out, name);
    put_string(out, value);
}

fn put_string(out: &mut BytesMut, s: &[u8]) {
    put_integer(out, 7, s.len());
    out.put_slice(s);
}

/// An HPACK integer with an N-bit prefix (RFC 7541, 5.1); the first byte's other bits are 0.
fn put_integer(out: &mut BytesMut, prefix: u32, value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.put_u8(value as u8);
        return;
    }
    out.put_u8(max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.put_u8((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.put_u8(rest as u8);
}

impl<S: AsyncRead + Unpin> AsyncRead for FixAuthority<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.output.is_empty() {
                let n = this.output.len().min(buf.remaining());
                buf.put_slice(&this.output.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                // Whatever is left (a cut-off frame) goes to the server, which reports it.
                if this.input.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                this.output.unsplit(this.input.split());
                continue;
            }
            this.process()?;
            if !this.output.is_empty() {
                continue;
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                this.eof = true;
            }
            this.input.extend_from_slice(read.filled());
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FixAuthority<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: Connected> Connected for FixAuthority<S> {
    type ConnectInfo = S::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// What the server reads when the client sends `bytes`.
    fn through(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut fixed = FixAuthority::new(bytes);
            let mut out = Vec::new();
            fixed.read_to_end(&mut out).await?;
            Ok(out)
        })
    }

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_frame_header(&mut out, payload.len(), kind, flags, stream.to_be_bytes());
        out.put_slice(payload);
        out.to_vec()
    }

    /// The header blocks the server reads, decoded.
    fn headers_seen(server: &[u8]) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut rest = &server[PREFACE.len()..];
        let mut decoder = Decoder::new();
        let mut blocks = Vec::new();
        let mut block = Vec::new();
        while rest.len() >= FRAME_HEADER {
            let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
            let (kind, flags) = (rest[3], rest[4]);
            let mut payload = &rest[FRAME_HEADER..FRAME_HEADER + len];
            if kind == HEADERS && flags & PRIORITY != 0 {
                payload = &payload[5..];
            }
            if kind == HEADERS || kind == CONTINUATION {
                block.extend_from_slice(payload);
                if flags & END_HEADERS != 0 {
                    blocks.push(decoder.decode(&block).unwrap());
                    block.clear();
                }
            }
            rest = &rest[FRAME_HEADER + len..];
        }
        blocks
    }

    fn authority(block: &[(Vec<u8>, Vec<u8>)]) -> &[u8] {
        &block.iter().find(|(n, _)| n == b":authority").unwrap().1
    }

    #[test]
    fn socket_paths_as_authority_become_localhost_and_valid_ones_stay() {
        // Literal with incremental indexing, indexed name (:authority is static entry 1),
        // then the same header by its dynamic index (62): the client's table is followed.
        let path = b"%2Ftmp%2Fcsi.sock";
        let mut first = vec![0x41, path.len() as u8];
        first.extend_from_slice(path);
        first.extend_from_slice(&[0x83, 0x86, 0x84]); // :method POST, :scheme http, :path /
        let second = [0xbe, 0x83, 0x86, 0x84];
        let mut valid = vec![0x41, 9];
        valid.extend_from_slice(b"host:1234");
        let mut client = PREFACE.to_vec();
        client.extend(frame(HEADERS, END_HEADERS, 1, &first));
        client.extend(frame(0x0, END_STREAM, 1, b"data"));
        client.extend(frame(HEADERS, END_HEADERS | END_STREAM, 3, &second));
        client.extend(frame(HEADERS, END_HEADERS, 5, &valid));
        let server = through(&client).unwrap();
        assert!(server.starts_with(PREFACE));
        let blocks = headers_seen(&server);
        assert_eq!(blocks.len(), 3);
        assert_eq!(authority(&blocks[0]), b"localhost");
        assert_eq!(authority(&blocks[1]), b"localhost");
        assert_eq!(authority(&blocks[2]), b"host:1234");
        assert!(blocks[0].contains(&(b":path".to_vec(), b"/".to_vec())));
        // The DATA frame passes unchanged, END_STREAM kept on the second HEADERS.
        let data = frame(0x0, END_STREAM, 1, b"data");
        assert!(server.windows(data.len()).any(|w| w == data));
    }

    #[test]
    fn continuations_padding_and_priority_are_folded_into_one_block() {
        let path = b"/var/lib/kubelet/plugins/csi.strata.dev/csi.sock";
        let mut block = vec![0x41, path.len() as u8];
        block.extend_from_slice(path);
        block.push(0x84);
        let (a, b) = block.split_at(10);
        let mut padded = vec![3u8];
        padded.extend_from_slice(&[0x80, 0, 0, 1, 16]); // priority: exclusive on stream 1
        padded.extend_from_slice(a);
        padded.extend_from_slice(&[0, 0, 0]);
        let mut client = PREFACE.to_vec();
        client.extend(frame(HEADERS, PADDED | PRIORITY | END_STREAM, 3, &padded));
        client.extend(frame(CONTINUATION, END_HEADERS, 3, b));
        let server = through(&client).unwrap();
        let blocks = headers_seen(&server);
        assert_eq!(blocks.len(), 1);
        assert_eq!(authority(&blocks[0]), b"localhost");
        // One HEADERS frame with END_STREAM, PRIORITY and its fields kept, no padding.
        let flags = server[PREFACE.len() + 4];
        assert_eq!(flags, END_HEADERS | END_STREAM | PRIORITY);
        assert_eq!(
            &server[PREFACE.len() + FRAME_HEADER..][..5],
            &[0x80, 0, 0, 1, 16]
        );
    }

    #[test]
    fn large_blocks_are_split_into_continuations() {
        let value = vec![b'x'; 40_000];
        let mut block = vec![0x40, 5];
        block.extend_from_slice(b"x-big");
        let mut encoded = BytesMut::new();
        put_string(&mut encoded, &value);
        block.extend_from_slice(&encoded);
        let mut client = PREFACE.to_vec();
        // The client may send frames up to the server's SETTINGS_MAX_FRAME_SIZE.
        client.extend(frame(HEADERS, END_HEADERS, 1, &block));
        let server = through(&client).unwrap();
        let blocks = headers_seen(&server);
        assert_eq!(blocks[0][0].1, value);
        let first_len =
            usize::from(server[PREFACE.len() + 1]) << 8 | usize::from(server[PREFACE.len() + 2]);
        assert!(first_len <= MAX_FRAME);
    }

    #[test]
    fn what_is_not_http2_passes_unchanged_and_bad_blocks_end_the_connection() {
        let http1 = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(through(http1).unwrap(), http1);
        let mut client = PREFACE.to_vec();
        client.extend(frame(
            HEADERS,
            END_HEADERS,
            1,
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
        ));
        assert_eq!(
            through(&client).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut client = PREFACE.to_vec();
        client.extend(frame(CONTINUATION, END_HEADERS, 1, &[0x84]));
        assert!(through(&client).is_err());
        // A cut-off frame reaches the server as it came.
        let mut client = PREFACE.to_vec();
        client.extend(&frame(HEADERS, END_HEADERS, 1, &[0x84, 0x86])[..10]);
        assert_eq!(through(&client).unwrap(), client);
    }

    #[test]
    fn integers_follow_rfc_7541() {
        // C.1.2: 1337 with a 5-bit prefix is 31, 154, 10; here with a 7-bit prefix.
        let mut b = BytesMut::new();
        put_integer(&mut b, 7, 1337);
        assert_eq!(&b[..], &[127, 186, 9]);
        let mut b = BytesMut::new();
        put_integer(&mut b, 7, 126);
        assert_eq!(&b[..], &[126]);
        let mut b = BytesMut::new();
        put_integer(&mut b, 7, 127);
        assert_eq!(&b[..], &[127, 0]);
    }
}

//! Shard files written with `O_DIRECT`: the data goes from one aligned buffer of
//! ours to the device, once, instead of being copied into the page cache, kept dirty and
//! written back by the durability barrier (a profile of 1 MiB PUTs spent about half of the
//! server's CPU in that copy). Only what cannot be aligned goes through the page cache: the
//! last partial block of a file (at most `ALIGN - 1` bytes), and everything on a filesystem
//! that refuses `O_DIRECT` (tmpfs: `EINVAL`), where the same code runs buffered.
//!
//! Durability is unchanged: `O_DIRECT` makes the data reach the device before `pwrite`
//! returns, but not the file's size and extents (metadata) nor the buffered tail, so a shard
//! is still durable only after the drive's barrier (`syncfs`), which now has little left to
//! write back.
//!
//! `O_DIRECT` is switched on and off with `fcntl(F_SETFL)` on a descriptor opened the usual
//! way: the kernel refuses it there exactly when it would refuse it in `open`, and a refusal
//! leaves a working buffered descriptor behind.
//!
//! Reads stay buffered. Shards read with `O_DIRECT` (an aligned span around each block,
//! copied out) made GETs slower on XFS loop drives — 64 MiB objects by a single client at
//! 0.80x and 0.91x, 1 MiB objects by 32 clients at 0.79x — as they lose the kernel's
//! read-ahead and the cache that serves repeated reads (`hack/BENCHMARKS.md`, issue 12).

use super::{DriveResult, Sink};
use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use std::alloc::{self, Layout};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::ptr::NonNull;
use std::sync::Mutex;

/// Alignment of offsets, lengths and memory of direct I/O: the page size, which covers every
/// logical block size below it (512 or 4096 bytes on the drives Strata runs on).
pub const ALIGN: usize = 4096;
/// Bytes a writer gathers before one direct write (a large write is one device request).
const CHUNK: usize = 1 << 20;
/// Capacity of pooled buffers.
const BUF_CAP: usize = CHUNK;
/// Buffers kept for reuse (allocating and first touching 1 MiB costs 256 page faults).
const POOL_MAX: usize = 64;

/// A zeroed heap buffer aligned for direct I/O.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    cap: usize,
}

// SAFETY: the buffer owns its allocation exclusively, like a `Vec<u8>`.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared references only read it, like a `&[u8]`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    fn layout(cap: usize) -> Layout {
        // A non-zero multiple of a power-of-two alignment: always a valid layout.
        Layout::from_size_align(cap.max(ALIGN).next_multiple_of(ALIGN), ALIGN)
            .expect("aligned layout")
    }

    pub fn new(cap: usize) -> AlignedBuf {
        let layout = Self::layout(cap);
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        AlignedBuf {
            ptr,
            cap: layout.size(),
        }
    }

    /// A buffer of `BUF_CAP` bytes from the pool (or new); `put_back` returns it.
    fn pooled() -> AlignedBuf {
        lock_pool()
            .pop()
            .unwrap_or_else(|| AlignedBuf::new(BUF_CAP))
    }

    fn put_back(self) {
        let mut pool = lock_pool();
        if self.cap == BUF_CAP && pool.len() < POOL_MAX {
            pool.push(self);
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `cap` bytes were allocated zeroed (so initialised) and are owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.cap) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.cap) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this very layout (`cap` is its size).
        unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.cap)) }
    }
}

fn lock_pool() -> std::sync::MutexGuard<'static, Vec<AlignedBuf>> {
    static POOL: Mutex<Vec<AlignedBuf>> = Mutex::new(Vec::new());
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Switches `O_DIRECT` on or off for `f`; `false` when the filesystem refuses it.
fn set_direct(f: &File, on: bool) -> io::Result<bool> {
    let flags = fcntl_getfl(f)?;
    let want = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    if want == flags {
        return Ok(true);
    }
    match fcntl_setfl(f, want) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::INVAL => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn refused(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

/// A new shard file's sink: gathers bytes in an aligned chunk and writes whole chunks with
/// `O_DIRECT`; `finish` writes the aligned part of the rest the same way and the last
/// partial block buffered.
pub struct DirectSink {
    file: File,
    buf: Option<AlignedBuf>,
    /// Bytes gathered in `buf`.
    len: usize,
    /// Where `buf` goes in the file (everything before it is written).
    offset: u64,
    direct: bool,
    /// Tests: bytes written around the page cache so far.
    #[cfg(test)]
    direct_bytes: u64,
    /// Tests: direct writes fail as a filesystem that accepts the flag but not the I/O would.
    #[cfg(test)]
    refuse_writes: bool,
}

impl DirectSink {
    /// Takes a file just created for writing (at offset 0); `direct` false keeps it buffered.
    pub fn new(file: File, direct: bool) -> io::Result<DirectSink> {
        let direct = direct && set_direct(&file, true)?;
        Ok(DirectSink {
            file,
            buf: None,
            len: 0,
            offset: 0,
            direct,
            #[cfg(test)]
            direct_bytes: 0,
            #[cfg(test)]
            refuse_writes: false,
        })
    }

    /// Bytes written around the page cache so far.
    #[cfg(test)]
    fn direct_bytes(&self) -> u64 {
        self.direct_bytes
    }

    fn write_direct(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        #[cfg(test)]
        if self.refuse_writes {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        self.file.write_all_at(bytes, offset)
    }

    /// Writes `buf[..len]` at `offset`: directly when it is whole blocks and the file takes
    /// direct I/O, else buffered (from then on, after a refusal).
    fn write_out(&mut self, len: usize) -> io::Result<()> {
        let Some(buf) = self.buf.as_ref() else {
            return Ok(());
        };
        let bytes = &buf.as_slice()[..len];
        if self.direct && len.is_multiple_of(ALIGN) {
            match self.write_direct(bytes, self.offset) {
                Ok(()) => {
                    self.offset += len as u64;
                    #[cfg(test)]
                    {
                        self.direct_bytes += len as u64;
                    }
                    return Ok(());
                }
                // Accepted at open but not for this I/O (an alignment above ours): what was
                // written directly stays, the rest goes buffered.
                Err(e) if refused(&e) => {
                    self.direct = false;
                    set_direct(&self.file, false)?;
                }
                Err(e) => return Err(e),
            }
        } else if self.direct {
            set_direct(&self.file, false)?;
            self.direct = false;
        }
        self.file.write_all_at(bytes, self.offset)?;
        self.offset += len as u64;
        Ok(())
    }
}

impl Sink for DirectSink {
    fn write_all(&mut self, mut bytes: &[u8]) -> DriveResult<()> {
        while !bytes.is_empty() {
            let buf = self.buf.get_or_insert_with(AlignedBuf::pooled);
            let take = (CHUNK - self.len).min(bytes.len());
            buf.as_mut_slice()[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            self.len += take;
            bytes = &bytes[take..];
            if self.len == CHUNK {
                self.write_out(CHUNK)?;
                self.len = 0;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> DriveResult<()> {
        let whole = self.len / ALIGN * ALIGN;
        if whole > 0 {
            self.write_out(whole)?;
        }
        let tail = self.len - whole;
        if tail > 0 {
            if let Some(buf) = self.buf.as_mut() {
                buf.as_mut_slice().copy_within(whole..self.len, 0);
            }
            self.write_out(tail)?;
        }
        self.len = 0;
        if let Some(buf) = self.buf.take() {
            buf.put_back();
        }
        Ok(())
    }
}

impl Drop for DirectSink {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            buf.put_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 12) as u8)
            .collect()
    }

    fn create(dir: &Path, name: &str) -> File {
        File::options()
            .write(true)
            .create_new(true)
            .open(dir.join(name))
            .unwrap()
    }

    /// Writes `data` in pieces of `piece` bytes; returns the bytes written directly.
    fn write(dir: &Path, name: &str, data: &[u8], piece: usize, refuse: bool) -> u64 {
        let mut s = DirectSink::new(create(dir, name), true).unwrap();
        s.refuse_writes = refuse;
        for p in data.chunks(piece.max(1)) {
            s.write_all(p).unwrap();
        }
        s.finish().unwrap();
        s.direct_bytes()
    }

    /// /dev/shm where it is tmpfs (which refuses `O_DIRECT`), else `None`.
    fn tmpfs_dir() -> Option<tempfile::TempDir> {
        let d = tempfile::tempdir_in("/dev/shm").ok()?;
        let f = create(d.path(), "probe");
        (!set_direct(&f, true).ok()?).then_some(d)
    }

    const SIZES: &[usize] = &[
        0,
        1,
        7,
        ALIGN - 1,
        ALIGN,
        ALIGN + 1,
        3 * ALIGN,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        CHUNK + ALIGN,
        2 * CHUNK + 12345,
    ];

    #[test]
    fn every_size_round_trips_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let direct_ok = set_direct(&create(dir.path(), "probe"), true).unwrap();
        for (i, &len) in SIZES.iter().enumerate() {
            for piece in [1 << 20, 8, 32 + 4096, 100_003] {
                if piece < 64 && len > 3 * ALIGN {
                    continue; // byte-sized pieces of megabytes: slow, no new case
                }
                let data = pattern(len, i as u8);
                let name = format!("f{len}-{piece}");
                let direct = write(dir.path(), &name, &data, piece, false);
                // Everything but the last partial block goes around the cache.
                let want = if direct_ok { len / ALIGN * ALIGN } else { 0 };
                assert_eq!(direct, want as u64, "{name}");
                let back = std::fs::read(dir.path().join(&name)).unwrap();
                assert_eq!(back.len(), len, "{name}");
                assert!(back == data, "{name}: contents differ");
            }
        }
    }

    #[test]
    fn data_bypasses_the_page_cache_where_the_filesystem_allows() {
        let dir = tempfile::tempdir().unwrap();
        let f = create(dir.path(), "probe");
        if !set_direct(&f, true).unwrap() {
            eprintln!("skipped: the temporary directory's filesystem refuses O_DIRECT");
            return;
        }
        let data = pattern(CHUNK + 3 * ALIGN + 5, 9);
        let direct = write(dir.path(), "d", &data, 4096 + 32, false);
        assert_eq!(direct, (CHUNK + 3 * ALIGN) as u64);
        // Everything but the tail page was written around the cache.
        let cached = resident_pages(&dir.path().join("d"));
        assert!(cached <= 1, "{cached} pages cached");
    }

    #[test]
    fn a_filesystem_refusing_o_direct_gets_buffered_io() {
        let Some(dir) = tmpfs_dir() else {
            eprintln!("skipped: no tmpfs at /dev/shm");
            return;
        };
        for &len in SIZES {
            let data = pattern(len, 3);
            let name = format!("f{len}");
            assert_eq!(write(dir.path(), &name, &data, 65536, false), 0);
            assert!(std::fs::read(dir.path().join(&name)).unwrap() == data);
        }
    }

    #[test]
    fn a_refused_direct_write_goes_on_buffered() {
        let dir = tempfile::tempdir().unwrap();
        let data = pattern(2 * CHUNK + 777, 5);
        assert_eq!(write(dir.path(), "r", &data, 300_000, true), 0);
        assert!(std::fs::read(dir.path().join("r")).unwrap() == data);
    }

    /// Pages of the file in the page cache (`mincore` over a mapping of it).
    pub fn resident_pages(path: &Path) -> usize {
        use std::os::fd::AsRawFd;
        let f = File::open(path).unwrap();
        let len = f.metadata().unwrap().len() as usize;
        if len == 0 {
            return 0;
        }
        // SAFETY: a fresh read-only shared mapping of an open file; unmapped below, never
        // dereferenced (mincore only inspects it).
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        let pages = len.div_ceil(ALIGN);
        let mut vec = vec![0u8; pages];
        // SAFETY: `map` is a mapping of `len` bytes; `vec` has one byte per page of it.
        let rc = unsafe { libc::mincore(map, len, vec.as_mut_ptr()) };
        // SAFETY: unmaps exactly the mapping made above.
        unsafe { libc::munmap(map, len) };
        assert_eq!(rc, 0);
        vec.iter().filter(|b| *b & 1 == 1).count()
    }
}

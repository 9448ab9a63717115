//! The shard file format, and its one writer and one reader (put, get, heal and the scanner
//! all go through here).
//!
//! A part's shard on a drive — a file `part.<n>` in the version's data directory, or the inline
//! bytes of a small object in the drive's metadata — is an 8-byte header (magic `SSF2`, codec
//! matrix id, bitrot algorithm id, two zero bytes) followed, per block of the part, by a 32-byte
//! hash and the shard bytes (`geometry` says how long each is).
//!
//! The hash is BLAKE3 keyed by the shard's identity — the part's data id, the part number, the
//! shard index and the geometry (data and parity counts, block size) — over the block number and
//! the shard bytes. So a shard is only ever accepted in its own place: a file swapped with
//! another drive's (another shard index), copied from another object or part, or a block moved
//! within a file fails its hash like a flipped bit does, and the reader rebuilds it from the
//! other shards instead of returning another shard's bytes.

use super::drive::{DriveError, DriveResult, ReadAt, Sink};
use super::geometry::Geometry;
use strata_codec::bitrot::HASH_LEN;

pub const HEADER_LEN: usize = 8;
const MAGIC: &[u8; 4] = b"SSF2";
const KEY_CONTEXT: &str = "strata.dev 2026-12 shard block hash";

/// The header of shard files written with these algorithms.
pub fn header(codec: u8, bitrot: u8) -> [u8; HEADER_LEN] {
    [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], codec, bitrot, 0, 0]
}

/// Where a shard belongs: what its block hashes are keyed by.
#[derive(Clone, Copy, Debug)]
pub struct ShardId<'a> {
    pub data_id: &'a str,
    pub part: u32,
    pub index: u8,
    pub geo: Geometry,
}

/// Hashes (and checks) the blocks of one shard.
#[derive(Clone)]
pub struct BlockHasher {
    key: [u8; 32],
}

impl BlockHasher {
    pub fn new(id: &ShardId<'_>) -> BlockHasher {
        let mut material = Vec::with_capacity(64 + id.data_id.len());
        material.extend_from_slice(&(id.data_id.len() as u32).to_le_bytes());
        material.extend_from_slice(id.data_id.as_bytes());
        material.extend_from_slice(&id.part.to_le_bytes());
        material.push(id.index);
        material.extend_from_slice(&(id.geo.data as u32).to_le_bytes());
        material.extend_from_slice(&(id.geo.parity as u32).to_le_bytes());
        material.extend_from_slice(&(id.geo.block_size as u64).to_le_bytes());
        BlockHasher {
            key: blake3::derive_key(KEY_CONTEXT, &material),
        }
    }

    pub fn hash(&self, block: u64, shard: &[u8]) -> [u8; HASH_LEN] {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(&block.to_le_bytes());
        h.update(shard);
        *h.finalize().as_bytes()
    }

    fn verify(&self, block: u64, shard: &[u8], hash: &[u8]) -> bool {
        // BLAKE3's Hash compares in constant time; not needed here, but free.
        blake3::Hash::from_bytes(self.hash(block, shard)) == *hash
    }
}

/// Writes one shard, block after block, to a sink (a drive's file or an inline buffer).
pub struct ShardWriter<S: Sink + ?Sized> {
    sink: Box<S>,
    hasher: BlockHasher,
    block: u64,
}

impl<S: Sink + ?Sized> ShardWriter<S> {
    pub fn new(
        mut sink: Box<S>,
        id: &ShardId<'_>,
        header: [u8; HEADER_LEN],
    ) -> DriveResult<ShardWriter<S>> {
        sink.write_all(&header)?;
        Ok(ShardWriter {
            sink,
            hasher: BlockHasher::new(id),
            block: 0,
        })
    }

    pub fn write_block(&mut self, shard: &[u8]) -> DriveResult<()> {
        let hash = self.hasher.hash(self.block, shard);
        self.sink.write_all(&hash)?;
        self.sink.write_all(shard)?;
        self.block += 1;
        Ok(())
    }

    /// Completes the shard (the sink decides what durable means).
    pub fn finish(self) -> DriveResult<Box<S>> {
        let mut sink = self.sink;
        sink.finish()?;
        Ok(sink)
    }
}

/// A whole shard in memory: the inline bytes of a small object.
pub fn inline_shard(id: &ShardId<'_>, header: [u8; HEADER_LEN], blocks: &[&[u8]]) -> Vec<u8> {
    let hasher = BlockHasher::new(id);
    let mut out = header.to_vec();
    for (b, shard) in blocks.iter().enumerate() {
        out.extend_from_slice(&hasher.hash(b as u64, shard));
        out.extend_from_slice(shard);
    }
    out
}

/// Why a block could not be read from a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// The shard (or this part of it) cannot be read: missing, short, I/O error.
    Unreadable(String),
    /// Read, but its hash says it is not this shard's block (damaged, or from elsewhere).
    Mismatch,
}

/// Reads and checks shards of one part of one version.
pub struct ShardReader {
    geo: Geometry,
    hasher: BlockHasher,
    header: [u8; HEADER_LEN],
}

impl ShardReader {
    pub fn new(id: &ShardId<'_>, header: [u8; HEADER_LEN]) -> ShardReader {
        ShardReader {
            geo: id.geo,
            hasher: BlockHasher::new(id),
            header,
        }
    }

    /// Whether the source starts with the header of this version's algorithms.
    pub fn check_header(&self, src: &dyn ReadAt) -> DriveResult<()> {
        let mut h = [0u8; HEADER_LEN];
        src.read_exact_at(&mut h, 0)?;
        if h == self.header {
            Ok(())
        } else {
            Err(DriveError::Corrupt(
                "shard header does not match the version".into(),
            ))
        }
    }

    /// Block `block` of a part of `part_size` bytes, checked: the shard bytes alone.
    pub fn read_block(
        &self,
        src: &dyn ReadAt,
        part_size: u64,
        block: u64,
    ) -> Result<Vec<u8>, BlockError> {
        let len = self.geo.shard_len(self.geo.block_len(part_size, block));
        let mut rec = vec![0u8; HASH_LEN + len];
        src.read_exact_at(&mut rec, self.geo.shard_offset(block))
            .map_err(|e| BlockError::Unreadable(e.to_string()))?;
        let (hash, shard) = rec.split_at(HASH_LEN);
        if !self.hasher.verify(block, shard, hash) {
            return Err(BlockError::Mismatch);
        }
        rec.drain(..HASH_LEN);
        Ok(rec)
    }

    /// Checks a whole shard: header, length and every block's hash (what the scanner and a
    /// deep heal do). Reads block by block, never the whole file at once.
    pub fn verify(&self, src: &dyn ReadAt, part_size: u64) -> Result<(), BlockError> {
        self.check_header(src)
            .map_err(|e| BlockError::Unreadable(e.to_string()))?;
        let want = self.geo.shard_file_size(part_size);
        match src.size() {
            Ok(len) if len == want => {}
            Ok(len) => {
                return Err(BlockError::Unreadable(format!(
                    "shard is {len} bytes, {want} expected"
                )))
            }
            Err(e) => return Err(BlockError::Unreadable(e.to_string())),
        }
        for b in 0..self.geo.blocks(part_size) {
            self.read_block(src, part_size, b)?;
        }
        Ok(())
    }

    /// The cheap check: header and length only (a normal heal's test for missing or truncated
    /// shards; block hashes are left to readers and the scanner).
    pub fn check_shape(&self, src: &dyn ReadAt, part_size: u64) -> DriveResult<()> {
        self.check_header(src)?;
        let want = self.geo.shard_file_size(part_size);
        match src.size()? {
            len if len == want => Ok(()),
            len => Err(DriveError::Corrupt(format!(
                "shard is {len} bytes, {want} expected"
            ))),
        }
    }
}

/// Inline shard bytes as a readable source.
impl ReadAt for Vec<u8> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> DriveResult<()> {
        let start = usize::try_from(offset).map_err(|_| DriveError::NotFound)?;
        let src = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or_else(|| DriveError::Corrupt("inline shard is short".into()))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn size(&self) -> DriveResult<u64> {
        Ok(self.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo() -> Geometry {
        Geometry {
            data: 2,
            parity: 2,
            block_size: 8,
        }
    }

    fn id(data_id: &str, part: u32, index: u8) -> ShardId<'_> {
        ShardId {
            data_id,
            part,
            index,
            geo: geo(),
        }
    }

    #[test]
    fn a_shard_reads_back_only_in_its_own_place() {
        let hdr = header(1, 1);
        // A 12-byte part: blocks of 8 and 4 bytes, shards of 4 and 2.
        let shard = inline_shard(&id("d", 1, 0), hdr, &[b"abcd", b"ef"]);
        let r = ShardReader::new(&id("d", 1, 0), hdr);
        assert_eq!(r.read_block(&shard, 12, 0).unwrap(), b"abcd");
        assert_eq!(r.read_block(&shard, 12, 1).unwrap(), b"ef");
        r.verify(&shard, 12).unwrap();
        for other in [id("e", 1, 0), id("d", 2, 0), id("d", 1, 1)] {
            let r = ShardReader::new(&other, hdr);
            assert_eq!(r.read_block(&shard, 12, 0), Err(BlockError::Mismatch));
        }
        let other_geo = ShardId {
            geo: Geometry {
                data: 3,
                parity: 1,
                block_size: 8,
            },
            ..id("d", 1, 0)
        };
        assert!(ShardReader::new(&other_geo, hdr)
            .read_block(&shard, 12, 0)
            .is_err());
    }

    #[test]
    fn blocks_swapped_within_a_shard_fail() {
        let hdr = header(1, 1);
        let shard = inline_shard(&id("d", 1, 0), hdr, &[b"abcd", b"wxyz"]);
        let mut swapped = shard[..HEADER_LEN].to_vec();
        let rec = HASH_LEN + 4;
        swapped.extend_from_slice(&shard[HEADER_LEN + rec..]);
        swapped.extend_from_slice(&shard[HEADER_LEN..HEADER_LEN + rec]);
        let r = ShardReader::new(&id("d", 1, 0), hdr);
        assert_eq!(r.read_block(&swapped, 16, 0), Err(BlockError::Mismatch));
        assert!(r.verify(&swapped, 16).is_err());
    }

    #[test]
    fn flipped_bits_short_shards_and_wrong_headers_fail() {
        let hdr = header(1, 1);
        let shard = inline_shard(&id("d", 1, 0), hdr, &[b"abcd"]);
        let r = ShardReader::new(&id("d", 1, 0), hdr);
        for at in 0..shard.len() {
            let mut bad = shard.clone();
            bad[at] ^= 0x10;
            assert!(r.verify(&bad, 8).is_err(), "flip at {at}");
        }
        assert!(r.verify(&shard[..shard.len() - 1].to_vec(), 8).is_err());
        assert!(ShardReader::new(&id("d", 1, 0), header(2, 1))
            .check_header(&shard)
            .is_err());
    }
}

//! Where bytes go: blocks of an object, shards of a block, and blocks in a shard file.
//!
//! A part of `size` bytes is cut into blocks of `block_size` (the last may be shorter). Each
//! block of `len` bytes is split into `k` data shards of `ceil(len / k)` bytes (the last padded
//! with zeros) and `m` parity shards of the same length. A drive's shard file is a header of
//! `shard::HEADER_LEN` bytes followed, per block, by the block's hash and the shard bytes
//! (`shard` owns that format); inline shard data has the same layout.

use super::shard::HEADER_LEN;
use strata_codec::bitrot::HASH_LEN;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub data: usize,
    pub parity: usize,
    pub block_size: usize,
}

impl Geometry {
    pub fn drives(&self) -> usize {
        self.data + self.parity
    }

    pub fn shard_len(&self, block_len: usize) -> usize {
        block_len.div_ceil(self.data)
    }

    pub fn blocks(&self, size: u64) -> u64 {
        size.div_ceil(self.block_size as u64)
    }

    pub fn block_len(&self, size: u64, block: u64) -> usize {
        let start = block * self.block_size as u64;
        (size - start).min(self.block_size as u64) as usize
    }

    /// Offset of a block's hash in the shard file (all blocks before it are full).
    pub fn shard_offset(&self, block: u64) -> u64 {
        HEADER_LEN as u64 + block * (HASH_LEN + self.shard_len(self.block_size)) as u64
    }

    /// Bytes of one drive's shard file for a part of `size` bytes.
    pub fn shard_file_size(&self, size: u64) -> u64 {
        let blocks = self.blocks(size);
        if blocks == 0 {
            return HEADER_LEN as u64;
        }
        let last = self.block_len(size, blocks - 1);
        self.shard_offset(blocks - 1) + (HASH_LEN + self.shard_len(last)) as u64
    }

    /// Write quorum: k drives, one more when data and parity are equal (so that two
    /// disjoint halves can never both accept a write).
    pub fn write_quorum(&self) -> usize {
        if self.data == self.parity {
            self.data + 1
        } else {
            self.data
        }
    }

    pub fn read_quorum(&self) -> usize {
        self.data
    }
}

/// One block, split and encoded: `n` shards of `shard_len` bytes in one buffer.
pub struct EncodedBlock {
    buf: Vec<u8>,
    pub shard_len: usize,
}

impl EncodedBlock {
    /// The block's own bytes: data shards are the block cut in k consecutive pieces.
    pub fn data(&self, len: usize) -> &[u8] {
        &self.buf[..len]
    }

    pub fn shard(&self, index: usize) -> &[u8] {
        &self.buf[index * self.shard_len..(index + 1) * self.shard_len]
    }
}

impl EncodedBlock {
    pub fn new() -> EncodedBlock {
        EncodedBlock {
            buf: Vec::new(),
            shard_len: 0,
        }
    }

    /// Splits `data` into k shards and computes the m parity shards, in this block's buffer
    /// (its allocation is reused: a fresh one per block of a large upload cost page faults).
    pub fn encode(
        &mut self,
        codec: &strata_codec::erasure::Codec,
        geo: &Geometry,
        data: &[u8],
    ) -> Result<(), String> {
        let shard_len = geo.shard_len(data.len());
        self.shard_len = shard_len;
        self.buf.clear();
        self.buf.extend_from_slice(data);
        self.buf.resize(shard_len * geo.drives(), 0);
        if geo.parity > 0 && shard_len > 0 {
            let (data_part, parity_part) = self.buf.split_at_mut(shard_len * geo.data);
            let inputs: Vec<&[u8]> = data_part.chunks(shard_len).collect();
            let mut outputs: Vec<&mut [u8]> = parity_part.chunks_mut(shard_len).collect();
            codec
                .encode(&inputs, &mut outputs)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl Default for EncodedBlock {
    fn default() -> Self {
        EncodedBlock::new()
    }
}

/// Splits `data` into k shards and computes the m parity shards.
pub fn encode_block(
    codec: &strata_codec::erasure::Codec,
    geo: &Geometry,
    data: &[u8],
) -> Result<EncodedBlock, String> {
    let mut block = EncodedBlock::new();
    block.encode(codec, geo, data)?;
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_blocks_and_shard_files() {
        let g = Geometry {
            data: 4,
            parity: 2,
            block_size: 1 << 20,
        };
        assert_eq!(g.shard_len(1 << 20), 262_144);
        assert_eq!(g.shard_len(5), 2);
        assert_eq!(g.blocks(0), 0);
        assert_eq!(g.blocks((1 << 20) + 1), 2);
        assert_eq!(g.block_len((1 << 20) + 1, 1), 1);
        assert_eq!(g.shard_file_size(0), 8);
        assert_eq!(g.shard_file_size(1), 8 + 33);
        assert_eq!(g.shard_file_size((1 << 20) + 1), 8 + (32 + 262_144) + 33);
        assert_eq!(g.shard_offset(1), 8 + 32 + 262_144);
        assert_eq!(g.write_quorum(), 4);
        let even = Geometry {
            data: 2,
            parity: 2,
            block_size: 1 << 20,
        };
        assert_eq!(even.write_quorum(), 3);
    }
}

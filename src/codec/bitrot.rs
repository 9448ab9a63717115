//! Bitrot protection: every shard block is stored behind a hash of its bytes, verified on
//! every read. The algorithm id is recorded in format records and object metadata so that a
//! later change of default never strands existing data.

use serde::{Deserialize, Serialize};

/// Bytes of hash stored before each shard block.
pub const HASH_LEN: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum BitrotAlgo {
    /// BLAKE3-256 (SIMD, runtime-dispatched). See hack/bench-codec/RESULTS.md for the choice.
    Blake3 = 1,
}

impl BitrotAlgo {
    pub const DEFAULT: BitrotAlgo = BitrotAlgo::Blake3;

    pub fn hash(self, data: &[u8]) -> [u8; HASH_LEN] {
        match self {
            BitrotAlgo::Blake3 => *blake3::hash(data).as_bytes(),
        }
    }

    pub fn verify(self, data: &[u8], expected: &[u8]) -> bool {
        self.hash(data).as_slice() == expected
    }
}

impl From<BitrotAlgo> for u8 {
    fn from(a: BitrotAlgo) -> u8 {
        a as u8
    }
}

impl TryFrom<u8> for BitrotAlgo {
    type Error = String;
    fn try_from(id: u8) -> Result<Self, Self::Error> {
        match id {
            1 => Ok(BitrotAlgo::Blake3),
            _ => Err(format!("unknown bitrot algorithm id {id}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_a_flipped_bit() {
        let mut data = vec![7u8; 4096];
        let h = BitrotAlgo::DEFAULT.hash(&data);
        assert!(BitrotAlgo::DEFAULT.verify(&data, &h));
        data[100] ^= 0x10;
        assert!(!BitrotAlgo::DEFAULT.verify(&data, &h));
    }

    #[test]
    fn unknown_ids_are_refused() {
        assert!(BitrotAlgo::try_from(0u8).is_err());
        assert_eq!(BitrotAlgo::try_from(1u8), Ok(BitrotAlgo::Blake3));
    }
}

//! The CRC of a concatenation from the CRCs of its pieces and their lengths (zlib's
//! `crc32_combine`, for any reflected CRC whose initial value and final XOR are all ones:
//! CRC32, CRC32C and CRC64NVME). S3's FULL_OBJECT checksum of a multipart upload is the CRC of
//! the whole object; it is combined from the parts' CRCs without reading the object again.
//!
//! Why it holds: with the register update R (affine in the register), crc(M) = R(!0, M) ^ !0
//! and R(s, B) = s·x^(8|B|) mod P ^ R(0, B), so crc(A‖B) = crc(A)·x^(8|B|) mod P ^ crc(B).

/// A reflected CRC: its width and its reversed polynomial.
#[derive(Clone, Copy, Debug)]
pub struct Crc {
    pub width: u32,
    pub poly: u64,
}

pub const CRC32: Crc = Crc {
    width: 32,
    poly: 0xEDB8_8320,
};
pub const CRC32C: Crc = Crc {
    width: 32,
    poly: 0x82F6_3B78,
};
pub const CRC64NVME: Crc = Crc {
    width: 64,
    poly: 0x9A6C_9329_AC4B_C9B5,
};

impl Crc {
    /// x^0 in the reflected representation (the top bit).
    fn one(&self) -> u64 {
        1 << (self.width - 1)
    }

    /// a·b mod P.
    fn mul(&self, a: u64, mut b: u64) -> u64 {
        let mut m = self.one();
        let mut p = 0;
        while m != 0 {
            if a & m != 0 {
                p ^= b;
            }
            m >>= 1;
            b = if b & 1 != 0 {
                (b >> 1) ^ self.poly
            } else {
                b >> 1
            };
        }
        p
    }

    /// x^(8·n) mod P, by squaring.
    fn x_8n(&self, mut n: u64) -> u64 {
        let mut result = self.one();
        // x^8 = x^(2^3): start from x^1 and square three times.
        let mut power = self.one() >> 1;
        for _ in 0..3 {
            power = self.mul(power, power);
        }
        while n != 0 {
            if n & 1 != 0 {
                result = self.mul(power, result);
            }
            power = self.mul(power, power);
            n >>= 1;
        }
        result
    }

    /// The CRC of A‖B from crc(A), crc(B) and |B|.
    pub fn combine(&self, crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
        self.mul(self.x_8n(len_b), crc_a) ^ crc_b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::checksum::ChecksumHasher;

    /// The CRCs s3s computes (the ones clients are checked against), as numbers.
    fn crcs(data: &[u8]) -> [u64; 3] {
        let mut h = ChecksumHasher {
            crc32: Some(Default::default()),
            crc32c: Some(Default::default()),
            crc64nvme: Some(Default::default()),
            ..Default::default()
        };
        h.update(data);
        let c = h.finalize();
        let num = |v: Option<String>| {
            let bytes = base64_simd::STANDARD.decode_to_vec(v.unwrap()).unwrap();
            bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
        };
        [
            num(c.checksum_crc32),
            num(c.checksum_crc32c),
            num(c.checksum_crc64nvme),
        ]
    }

    #[test]
    fn combined_crcs_are_the_crcs_of_the_whole() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        for cut in [0, 1, 3, 8, 1000, 65_536, 69_999, 70_000] {
            let (a, b) = data.split_at(cut);
            let (ca, cb, whole) = (crcs(a), crcs(b), crcs(&data));
            for (i, crc) in [CRC32, CRC32C, CRC64NVME].iter().enumerate() {
                assert_eq!(
                    crc.combine(ca[i], cb[i], b.len() as u64),
                    whole[i],
                    "width {} cut {cut}",
                    crc.width
                );
            }
        }
    }
}

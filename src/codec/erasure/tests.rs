use super::*;
use proptest::prelude::*;

/// Deterministic xorshift64 so failures reproduce without a seed file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn random_shards(rng: &mut Rng, count: usize, len: usize) -> Vec<Vec<u8>> {
    (0..count).map(|_| rng.bytes(len)).collect()
}

/// Encodes `data` and returns all k + m shards.
fn encode_all(codec: &Codec, data: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let len = data.first().map_or(0, Vec::len);
    let mut parity = vec![vec![0u8; len]; codec.parity_shards()];
    let d: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let mut p: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
    codec.encode(&d, &mut p).unwrap();
    data.iter().cloned().chain(parity).collect()
}

/// Drops the shards in `lost` (filling them with garbage), reconstructs with parity, and
/// checks every shard is back.
fn check_recovery(codec: &Codec, full: &[Vec<u8>], lost: &[usize]) {
    let mut shards = full.to_vec();
    let mut present = vec![true; full.len()];
    for &i in lost {
        shards[i].iter_mut().for_each(|b| *b = 0xA5);
        present[i] = false;
    }
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    codec.reconstruct(&mut refs, &present, true).unwrap();
    assert_eq!(shards, full, "kernel {} lost {lost:?}", codec.kernel());
}

/// All subsets of 0..n with at most `max` elements.
fn subsets(n: usize, max: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|mask| mask.count_ones() as usize <= max)
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
        .collect()
}

#[test]
fn codec_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone>() {}
    assert_traits::<Codec>();
}

/// Fails when the CPU has a kernel's features but `Codec::new` takes another: the preference
/// is spelled out here from the raw CPU flags, not from `Kernel::ALL`.
#[test]
fn auto_selection_takes_the_fastest_kernel_this_cpu_has() {
    #[cfg(target_arch = "x86_64")]
    let want = {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512bw") && has!("gfni") {
            Kernel::GfniAvx512
        } else if has!("avx2") && has!("gfni") {
            Kernel::GfniAvx2
        } else if has!("avx2") {
            Kernel::Avx2
        } else {
            Kernel::Portable
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let want = Kernel::Portable;
    assert_eq!(Kernel::detect(), want);
    assert_eq!(Codec::new(8, 4).unwrap().kernel(), want.name());
    assert!(Kernel::available().contains(&Kernel::Portable));
}

/// GF(2^8) multiplication from its definition (shift and add, reducing by the polynomial),
/// independent of the product tables every kernel is built from.
fn reference_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= (gf::POLY & 0xff) as u8;
        }
        b >>= 1;
    }
    product
}

/// The parity shards by the module docs' formula, one byte at a time.
fn reference_parity(k: usize, m: usize, data: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let p = Matrix::cauchy_parity(k, m);
    let len = data.first().map_or(0, Vec::len);
    (0..m)
        .map(|j| {
            (0..len)
                .map(|b| (0..k).fold(0, |acc, i| acc ^ reference_mul(p.get(j, i), data[i][b])))
                .collect()
        })
        .collect()
}

/// Every group size (m = 1..7 gives groups of 1 to 4 rows and 4 + 1..3), several groups,
/// wide and narrow sets.
const KERNEL_GEOMETRIES: [(usize, usize); 12] = [
    (1, 1),
    (2, 2),
    (3, 3),
    (4, 4),
    (5, 5),
    (6, 6),
    (7, 7),
    (4, 2),
    (8, 4),
    (12, 4),
    (10, 6),
    (17, 9),
];

/// Below one 64-byte block (the portable tail alone), around the 32- and 64-byte vector
/// widths, odd multiples of 64 (the 128-byte unrolled loops' remainders), and tails.
const KERNEL_LENGTHS: [usize; 15] = [
    0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 192, 200, 320, 1000, 4109,
];

/// Longer than two of the kernels' 32 KiB cache chunks (walked when m > MAX_GROUP), plus a tail.
const KERNEL_LONG: usize = 2 * 32 * 1024 + 17;

/// Checks one kernel, named explicitly (never auto-selected), against the reference: its
/// parity equals `reference_parity`, and lost shards (the first m, the parity, random sets)
/// come back byte for byte. Panics on any difference; the caller checked the CPU has it.
pub(crate) fn check_kernel(kernel: Kernel) {
    let mut rng = Rng(0x5eed_4b45_524e_454c ^ kernel as u64);
    for (k, m) in KERNEL_GEOMETRIES {
        let codec = Codec::with_kernel(k, m, kernel).unwrap();
        assert_eq!(codec.kernel(), kernel.name());
        let long = (m > kernels::MAX_GROUP).then_some(KERNEL_LONG);
        for len in KERNEL_LENGTHS.into_iter().chain(long) {
            let what = format!("kernel {} {k}+{m}, {len} bytes", kernel.name());
            let data = random_shards(&mut rng, k, len);
            let full = encode_all(&codec, &data);
            assert!(
                full[k..] == reference_parity(k, m, &data)[..],
                "{what}: parity"
            );
            let mut patterns: Vec<Vec<usize>> = vec![(0..m).collect(), (k..k + m).collect()];
            for _ in 0..2 {
                let mut lost: Vec<usize> = (0..k + m).collect();
                for i in (1..lost.len()).rev() {
                    lost.swap(i, rng.below(i + 1));
                }
                lost.truncate(1 + rng.below(m));
                patterns.push(lost);
            }
            for lost in patterns {
                let mut shards = full.clone();
                let mut present = vec![true; k + m];
                for &i in &lost {
                    shards[i].fill(0xA5);
                    present[i] = false;
                }
                let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
                codec.reconstruct(&mut refs, &present, true).unwrap();
                assert!(shards == full, "{what}: lost {lost:?} came back different");
            }
        }
    }
}

/// One test per kernel. On a CPU without the kernel's features it passes, but says so on
/// stderr (and hack/test.sh's coverage table lists it as not tested).
fn kernel_test(kernel: Kernel) {
    crate::coverage::check_or_say_why(
        &format!("erasure {}", kernel.name()),
        kernel.required_features(),
        || check_kernel(kernel),
    );
}

#[test]
fn kernel_gfni_avx512_matches_the_reference() {
    kernel_test(Kernel::GfniAvx512);
}

#[test]
fn kernel_gfni_avx2_matches_the_reference() {
    kernel_test(Kernel::GfniAvx2);
}

#[test]
fn kernel_avx2_matches_the_reference() {
    kernel_test(Kernel::Avx2);
}

#[test]
fn kernel_portable_matches_the_reference() {
    kernel_test(Kernel::Portable);
}

#[test]
fn rejects_bad_geometry() {
    for (k, m) in [(0, 0), (0, 4), (200, 57), (256, 1)] {
        assert_eq!(
            Codec::new(k, m).unwrap_err(),
            CodecError::InvalidGeometry { data: k, parity: m }
        );
    }
    assert!(Codec::new(1, 0).is_ok());
    assert!(Codec::new(128, 128).is_ok());
    assert!(Codec::new(255, 1).is_ok());
}

/// Fixed parity for fixed data: changes whenever the matrix, field or any kernel's output
/// changes. The values were cross-checked with ISA-L's gf_gen_cauchy1_matrix +
/// ec_encode_data (hack/bench-codec/isal_bench.c --kat prints them).
#[test]
fn known_answer_4_plus_2() {
    assert_eq!(MATRIX_ID, 1);
    let data: Vec<Vec<u8>> = (0..4u8)
        .map(|i| {
            (0..8u8)
                .map(|j| {
                    i.wrapping_mul(16)
                        .wrapping_add(j.wrapping_mul(7))
                        .wrapping_add(3)
                })
                .collect()
        })
        .collect();
    let expected: [[u8; 8]; 2] = KAT_PARITY_4_2;
    for kernel in Kernel::available() {
        let codec = Codec::with_kernel(4, 2, kernel).unwrap();
        let all = encode_all(&codec, &data);
        assert_eq!(
            [&all[4][..], &all[5][..]],
            [&expected[0][..], &expected[1][..]],
            "{}",
            kernel.name()
        );
    }
}

const KAT_PARITY_4_2: [[u8; 8]; 2] = [
    [136, 181, 212, 233, 9, 22, 107, 89],
    [178, 143, 208, 237, 13, 44, 81, 181],
];

#[test]
fn all_erasure_patterns_small_geometries() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for (k, m) in [
        (1, 0),
        (1, 1),
        (1, 3),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 3),
        (4, 4),
        (6, 3),
    ] {
        // 64 + 64 + 3 bytes: whole SIMD blocks plus a tail.
        let data = random_shards(&mut rng, k, 131);
        for kernel in Kernel::available() {
            let codec = Codec::with_kernel(k, m, kernel).unwrap();
            let full = encode_all(&codec, &data);
            for lost in subsets(k + m, m) {
                check_recovery(&codec, &full, &lost);
            }
        }
    }
}

#[test]
fn random_erasure_patterns_large_geometries() {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    for (k, m) in [(16, 16), (12, 4), (10, 6), (20, 11)] {
        let data = random_shards(&mut rng, k, 1000);
        for kernel in Kernel::available() {
            let codec = Codec::with_kernel(k, m, kernel).unwrap();
            let full = encode_all(&codec, &data);
            for _ in 0..40 {
                let count = 1 + rng.below(m);
                let mut lost: Vec<usize> = Vec::new();
                while lost.len() < count {
                    let i = rng.below(k + m);
                    if !lost.contains(&i) {
                        lost.push(i);
                    }
                }
                check_recovery(&codec, &full, &lost);
            }
        }
    }
}

#[test]
fn widest_geometry_round_trips() {
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    let codec = Codec::new(200, 56).unwrap();
    let data = random_shards(&mut rng, 200, 70);
    let full = encode_all(&codec, &data);
    let lost: Vec<usize> = (0..56).map(|i| i * 4).collect();
    check_recovery(&codec, &full, &lost);
}

#[test]
fn too_few_shards_is_an_error() {
    let codec = Codec::new(4, 2).unwrap();
    let mut shards = vec![vec![0u8; 10]; 6];
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    let present = [true, false, true, false, false, true];
    assert_eq!(
        codec.reconstruct(&mut refs, &present, true),
        Err(CodecError::TooFewShards {
            present: 3,
            needed: 4
        })
    );
}

#[test]
fn shape_errors() {
    let codec = Codec::new(2, 1).unwrap();
    let a = [1u8; 4];
    let short = [1u8; 3];
    let mut p = [0u8; 4];
    assert!(matches!(
        codec.encode(&[&a], &mut [&mut p]),
        Err(CodecError::WrongCount {
            expected: 2,
            got: 1,
            ..
        })
    ));
    assert_eq!(
        codec.encode(&[&a, &short], &mut [&mut p]),
        Err(CodecError::LengthMismatch {
            index: 1,
            expected: 4,
            got: 3
        })
    );
    let mut short_p = [0u8; 3];
    assert_eq!(
        codec.encode(&[&a, &a], &mut [&mut short_p]),
        Err(CodecError::LengthMismatch {
            index: 2,
            expected: 4,
            got: 3
        })
    );
    let mut s: Vec<Vec<u8>> = vec![vec![0; 4]; 3];
    let mut refs: Vec<&mut [u8]> = s.iter_mut().map(Vec::as_mut_slice).collect();
    assert!(matches!(
        codec.reconstruct(&mut refs, &[true, true], false),
        Err(CodecError::WrongCount {
            expected: 3,
            got: 2,
            ..
        })
    ));
}

#[test]
fn parity_only_rebuilt_when_asked() {
    let mut rng = Rng(7);
    let codec = Codec::new(3, 2).unwrap();
    let full = encode_all(&codec, &random_shards(&mut rng, 3, 100));
    let mut shards = full.clone();
    shards[1].fill(0);
    shards[4].fill(0);
    let present = [true, false, true, true, false];
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    codec.reconstruct(&mut refs, &present, false).unwrap();
    assert_eq!(shards[1], full[1]);
    assert_eq!(shards[4], vec![0u8; 100], "parity left alone");
    // Same pattern again, now from the cache, with parity.
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    codec.reconstruct(&mut refs, &present, true).unwrap();
    assert_eq!(shards, full);
}

#[test]
fn nothing_missing_is_a_no_op() {
    let codec = Codec::new(2, 2).unwrap();
    let mut shards = vec![vec![9u8; 5]; 4];
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    codec.reconstruct(&mut refs, &[true; 4], true).unwrap();
    assert_eq!(shards, vec![vec![9u8; 5]; 4]);
}

fn interesting_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![
            0usize, 1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 191, 255, 257
        ]),
        0usize..3000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every SIMD kernel produces byte-for-byte the portable kernel's parity.
    #[test]
    fn kernels_agree_on_encode(k in 1usize..=17, m in 0usize..=17, len in interesting_len(), seed in any::<u64>()) {
        let mut rng = Rng(seed | 1);
        let data = random_shards(&mut rng, k, len);
        let reference = encode_all(&Codec::with_kernel(k, m, Kernel::Portable).unwrap(), &data);
        for kernel in Kernel::available() {
            let got = encode_all(&Codec::with_kernel(k, m, kernel).unwrap(), &data);
            prop_assert_eq!(&got, &reference, "kernel {}", kernel.name());
        }
    }

    /// Any <= m lost shards come back, with every kernel.
    #[test]
    fn reconstruct_random(k in 1usize..=12, m in 1usize..=6, len in interesting_len(), seed in any::<u64>()) {
        let mut rng = Rng(seed | 1);
        let data = random_shards(&mut rng, k, len);
        let mut lost: Vec<usize> = (0..k + m).collect();
        for i in (1..lost.len()).rev() {
            lost.swap(i, rng.below(i + 1));
        }
        lost.truncate(1 + rng.below(m));
        for kernel in Kernel::available() {
            let codec = Codec::with_kernel(k, m, kernel).unwrap();
            let full = encode_all(&codec, &data);
            check_recovery(&codec, &full, &lost);
        }
    }
}

use super::*;

const PASSWORD: &[u8] = b"strata-test-secret";

/// The plaintext of the large vectors (the same as testdata/gen_vectors.py's).
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn header_of(blob: &[u8]) -> ([u8; SALT_LEN], Cipher, [u8; NONCE_LEN]) {
    let salt = blob[..SALT_LEN].try_into().expect("salt");
    let cipher = Cipher::from_id(blob[SALT_LEN]).expect("cipher id");
    let nonce = blob[SALT_LEN + 1..HEADER_LEN].try_into().expect("nonce");
    (salt, cipher, nonce)
}

/// Offset of package `i` in a body.
fn package_at(i: usize) -> usize {
    HEADER_LEN + i * SEALED_PACKAGE_LEN
}

/// A 3-package AES stream (16 KiB, 16 KiB, 100 bytes) with a fixed salt and nonce.
fn three_packages() -> (Vec<u8>, Vec<u8>) {
    let plain = pattern(2 * PACKAGE_LEN + 100);
    let blob =
        encrypt_with(PASSWORD, &plain, Cipher::Argon2idAesGcm, &[7; 32], &[9; 8]).expect("encrypt");
    (plain, blob)
}

#[test]
fn round_trips_every_cipher_across_package_boundaries() {
    let sizes = [
        0,
        1,
        PACKAGE_LEN - 1,
        PACKAGE_LEN,
        PACKAGE_LEN + 1,
        64 * 1024 - 1,
        64 * 1024,
        64 * 1024 + 1,
        200 * 1024,
    ];
    for cipher in [
        Cipher::Argon2idAesGcm,
        Cipher::Argon2idChaCha20Poly1305,
        Cipher::Pbkdf2AesGcm,
    ] {
        for len in sizes {
            let plain = pattern(len);
            let blob = encrypt(PASSWORD, &plain, cipher).expect("encrypt");
            let packages = len.div_ceil(PACKAGE_LEN).max(1);
            assert_eq!(
                blob.len(),
                HEADER_LEN + len + packages * TAG_LEN,
                "{cipher:?} {len}"
            );
            assert_eq!(blob[SALT_LEN], cipher.id());
            assert!(is_encrypted(&blob));
            assert_eq!(decrypt(PASSWORD, &blob), Ok(plain), "{cipher:?} {len}");
        }
    }
}

#[test]
fn salts_and_nonces_are_fresh() {
    let a = encrypt(PASSWORD, b"x", Cipher::Pbkdf2AesGcm).expect("encrypt");
    let b = encrypt(PASSWORD, b"x", Cipher::Pbkdf2AesGcm).expect("encrypt");
    assert_ne!(a[..HEADER_LEN], b[..HEADER_LEN]);
}

/// Vectors written by minio-py (testdata/gen_vectors.py): decrypted, and re-encrypted with
/// their salt and nonce to the very same bytes.
#[test]
fn minio_py_vectors_decrypt_and_match_byte_for_byte() {
    let small = include_bytes!("../testdata/py_small.plain").to_vec();
    let vectors: [(&str, Vec<u8>, Cipher); 5] = [
        (
            include_str!("../testdata/py_aes_small.hex"),
            small.clone(),
            Cipher::Argon2idAesGcm,
        ),
        (
            include_str!("../testdata/py_aes_70000.hex"),
            pattern(70000),
            Cipher::Argon2idAesGcm,
        ),
        (
            include_str!("../testdata/py_aes_32768.hex"),
            pattern(32768),
            Cipher::Argon2idAesGcm,
        ),
        (
            include_str!("../testdata/py_chacha_40000.hex"),
            pattern(40000),
            Cipher::Argon2idChaCha20Poly1305,
        ),
        (
            include_str!("../testdata/py_pbkdf2_small.hex"),
            small,
            Cipher::Pbkdf2AesGcm,
        ),
    ];
    for (hex, plain, cipher) in vectors {
        let blob = unhex(hex);
        assert_eq!(blob[SALT_LEN], cipher.id());
        assert_eq!(
            decrypt(PASSWORD, &blob).as_ref(),
            Ok(&plain),
            "{cipher:?} {}",
            plain.len()
        );
        let (salt, cipher, nonce) = header_of(&blob);
        let again = encrypt_with(PASSWORD, &plain, cipher, &salt, &nonce).expect("encrypt");
        assert!(again == blob, "{cipher:?} {}: not byte-exact", plain.len());
    }
}

/// minio-py encrypts an empty body as a bare header (no package); madmin-go, sio-go and we
/// write one empty final package and refuse a stream without one.
#[test]
fn minio_py_empty_body_has_no_final_package() {
    let blob = unhex(include_str!("../testdata/py_aes_empty.hex"));
    assert_eq!(blob.len(), HEADER_LEN);
    assert_eq!(decrypt(PASSWORD, &blob), Err(CryptoError::MissingFinal));
    let (salt, cipher, nonce) = header_of(&blob);
    let ours = encrypt_with(PASSWORD, b"", cipher, &salt, &nonce).expect("encrypt");
    assert_eq!(ours.len(), HEADER_LEN + TAG_LEN);
    assert_eq!(decrypt(PASSWORD, &ours), Ok(Vec::new()));
}

/// Vectors written by `write_rust_vectors`, checked once against minio-py's `decrypt` with
/// testdata/check_rust_vectors.py.
#[test]
fn rust_vectors_decrypt() {
    let vectors = [
        (include_str!("../testdata/rust_aes_70000.hex"), 70000),
        (include_str!("../testdata/rust_chacha_40000.hex"), 40000),
        (include_str!("../testdata/rust_aes_100.hex"), 100),
        (include_str!("../testdata/rust_chacha_0.hex"), 0),
    ];
    for (hex, len) in vectors {
        assert_eq!(decrypt(PASSWORD, &unhex(hex)), Ok(pattern(len)), "{len}");
    }
}

/// Writes testdata/rust_*.hex and rust_vectors.json for check_rust_vectors.py.
#[test]
#[ignore = "writes the committed vectors; run by hand"]
fn write_rust_vectors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/");
    let vectors = [
        ("rust_aes_70000.hex", Cipher::Argon2idAesGcm, 70000),
        (
            "rust_chacha_40000.hex",
            Cipher::Argon2idChaCha20Poly1305,
            40000,
        ),
        ("rust_aes_100.hex", Cipher::Argon2idAesGcm, 100),
        ("rust_chacha_0.hex", Cipher::Argon2idChaCha20Poly1305, 0),
    ];
    let mut index = Vec::new();
    for (file, cipher, len) in vectors {
        let blob = encrypt(PASSWORD, &pattern(len), cipher).expect("encrypt");
        let hex: String = blob.iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(format!("{dir}{file}"), hex + "\n").expect("write vector");
        index.push(serde_json::json!({ "file": file, "len": len }));
    }
    let json = serde_json::to_string_pretty(&index).expect("json") + "\n";
    std::fs::write(format!("{dir}rust_vectors.json"), json).expect("write index");
}

#[test]
fn wrong_password_is_not_authentic() {
    let (_, blob) = three_packages();
    assert_eq!(
        decrypt(b"strata-test-secreT", &blob),
        Err(CryptoError::NotAuthentic { package: 0 })
    );
}

#[test]
fn a_flipped_byte_in_any_region_is_caught() {
    let (_, blob) = three_packages();
    let cases = [
        ("salt", 5, CryptoError::NotAuthentic { package: 0 }),
        (
            "nonce",
            SALT_LEN + 1 + 3,
            CryptoError::NotAuthentic { package: 0 },
        ),
        (
            "payload 0",
            package_at(0) + 10,
            CryptoError::NotAuthentic { package: 0 },
        ),
        (
            "tag 0",
            package_at(1) - 1,
            CryptoError::NotAuthentic { package: 0 },
        ),
        (
            "payload 1",
            package_at(1) + PACKAGE_LEN - 1,
            CryptoError::NotAuthentic { package: 1 },
        ),
        (
            "tag 1",
            package_at(1) + PACKAGE_LEN,
            CryptoError::NotAuthentic { package: 1 },
        ),
        (
            "payload 2",
            package_at(2),
            CryptoError::NotAuthentic { package: 2 },
        ),
        (
            "tag 2",
            blob.len() - 1,
            CryptoError::NotAuthentic { package: 2 },
        ),
    ];
    for (region, at, want) in cases {
        let mut bad = blob.clone();
        bad[at] ^= 0x01;
        assert_eq!(decrypt(PASSWORD, &bad), Err(want), "{region}");
    }
}

#[test]
fn a_changed_cipher_id_is_caught() {
    let (_, blob) = three_packages();
    let mut other = blob.clone();
    other[SALT_LEN] = Cipher::Argon2idChaCha20Poly1305.id();
    assert_eq!(
        decrypt(PASSWORD, &other),
        Err(CryptoError::NotAuthentic { package: 0 })
    );
    let mut unknown = blob;
    unknown[SALT_LEN] = 3;
    assert!(!is_encrypted(&unknown));
    assert_eq!(
        decrypt(PASSWORD, &unknown),
        Err(CryptoError::UnknownCipher(3))
    );
}

#[test]
fn truncated_streams_are_refused() {
    let (_, blob) = three_packages();
    for len in [0, 1, HEADER_LEN - 1] {
        assert_eq!(
            decrypt(PASSWORD, &blob[..len]),
            Err(CryptoError::Truncated { len })
        );
    }
    // Less than a tag after the header, or after the last full package.
    for len in [
        HEADER_LEN + 1,
        HEADER_LEN + TAG_LEN - 1,
        package_at(2) + TAG_LEN - 1,
    ] {
        assert_eq!(
            decrypt(PASSWORD, &blob[..len]),
            Err(CryptoError::Truncated { len })
        );
    }
    // Cut inside a package: the rest cannot be told from an altered package.
    assert_eq!(
        decrypt(PASSWORD, &blob[..blob.len() - 1]),
        Err(CryptoError::NotAuthentic { package: 2 })
    );
    assert_eq!(
        decrypt(PASSWORD, &blob[..package_at(1) + 100]),
        Err(CryptoError::NotAuthentic { package: 1 })
    );
}

#[test]
fn a_stream_cut_at_a_package_boundary_misses_its_final_package() {
    let (_, blob) = three_packages();
    assert_eq!(
        decrypt(PASSWORD, &blob[..package_at(2)]),
        Err(CryptoError::MissingFinal)
    );
    assert_eq!(
        decrypt(PASSWORD, &blob[..package_at(1)]),
        Err(CryptoError::MissingFinal)
    );
    assert_eq!(
        decrypt(PASSWORD, &blob[..HEADER_LEN]),
        Err(CryptoError::MissingFinal)
    );
}

#[test]
fn reordered_dropped_and_repeated_packages_are_out_of_order() {
    let (_, blob) = three_packages();
    let p0 = &blob[package_at(0)..package_at(1)];
    let p1 = &blob[package_at(1)..package_at(2)];
    let p2 = &blob[package_at(2)..];
    let header = &blob[..HEADER_LEN];

    let swapped = [header, p1, p0, p2].concat();
    assert_eq!(
        decrypt(PASSWORD, &swapped),
        Err(CryptoError::OutOfOrder {
            package: 0,
            sealed_as: 1
        })
    );
    let dropped_first = [header, p1, p2].concat();
    assert_eq!(
        decrypt(PASSWORD, &dropped_first),
        Err(CryptoError::OutOfOrder {
            package: 0,
            sealed_as: 1
        })
    );
    let dropped_middle = [header, p0, p2].concat();
    assert_eq!(
        decrypt(PASSWORD, &dropped_middle),
        Err(CryptoError::OutOfOrder {
            package: 1,
            sealed_as: 2
        })
    );
    let repeated = [header, p0, p0, p2].concat();
    assert_eq!(
        decrypt(PASSWORD, &repeated),
        Err(CryptoError::OutOfOrder {
            package: 1,
            sealed_as: 0
        })
    );
}

#[test]
fn packages_after_the_final_one_are_refused() {
    // 2 full packages, the second final; then package 0 again.
    let plain = pattern(2 * PACKAGE_LEN);
    let blob = encrypt_with(
        PASSWORD,
        &plain,
        Cipher::Argon2idChaCha20Poly1305,
        &[1; 32],
        &[2; 8],
    )
    .expect("encrypt");
    assert_eq!(decrypt(PASSWORD, &blob), Ok(plain));
    let longer = [&blob[..], &blob[package_at(0)..package_at(1)]].concat();
    assert_eq!(
        decrypt(PASSWORD, &longer),
        Err(CryptoError::TrailingData { package: 1 })
    );
}

#[test]
fn oversized_bodies_are_refused_before_any_work() {
    let (plain, blob) = three_packages();
    assert_eq!(
        decrypt_limited(PASSWORD, &blob, blob.len() - 1),
        Err(CryptoError::TooLarge {
            len: blob.len(),
            max: blob.len() - 1
        })
    );
    assert_eq!(decrypt_limited(PASSWORD, &blob, blob.len()), Ok(plain));
    let huge = vec![0u8; DEFAULT_MAX_LEN + 1];
    assert!(matches!(
        decrypt(PASSWORD, &huge),
        Err(CryptoError::TooLarge { .. })
    ));
}

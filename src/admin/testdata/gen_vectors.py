"""Writes the fixed vectors of crypto.rs's tests (py_*.hex) with minio-py's code.

Not run by CI: the vectors are committed. Re-run by hand with a Python that has
minio-py (7.2.20 was used), from this directory:

    python gen_vectors.py

minio-py's `encrypt` always picks id 0 (Argon2id + AES-GCM); for ids 1
(ChaCha20-Poly1305) and 2 (PBKDF2 + AES-GCM) the same stream is built here from
minio-py's own primitives, with the cipher and key derivation madmin-go uses.
"""

import hashlib
import json

from minio import crypto

PASSWORD = "strata-test-secret"


def pattern(n):
    """The plaintext of the large vectors; crypto.rs's tests build the same."""
    return bytes((i * 31 + 7) % 251 for i in range(n))


def encrypt_with(payload, password, aead_id, key):
    """minio.crypto.encrypt with the AEAD id and the key as parameters.

    Id 2 writes 2 in the header and seals with AES-GCM (cipher 0)."""
    import os

    nonce = os.urandom(8)
    salt = os.urandom(32)
    key = key(password.encode(), salt)
    cipher_id = 0 if aead_id == 2 else aead_id
    additional_data = crypto._generate_additional_data(
        cipher_id, key, nonce + b"\x00\x00\x00\x00"
    )
    result = salt + bytes([aead_id]) + nonce
    indices = range(0, len(payload), crypto._CHUNK_SIZE)
    for seq, i in enumerate(indices, start=1):
        if i == indices[-1]:
            additional_data = crypto._mark_as_last(additional_data)
        cipher = crypto._get_cipher(
            cipher_id, key, crypto._update_nonce_id(nonce, seq)
        )
        cipher.update(additional_data)
        data, tag = cipher.encrypt_and_digest(payload[i : i + crypto._CHUNK_SIZE])
        result += data + tag
    return result


def pbkdf2_key(secret, salt):
    return hashlib.pbkdf2_hmac("sha256", secret, salt, 8192, 32)


def write(name, blob):
    with open(name, "w", encoding="ascii") as f:
        f.write(blob.hex())
        f.write("\n")


small = json.dumps({"status": "enabled", "secretKey": "alice-secret-key"}).encode()
with open("py_small.plain", "wb") as f:
    f.write(small)
write("py_aes_small.hex", crypto.encrypt(small, PASSWORD))
write("py_aes_70000.hex", crypto.encrypt(pattern(70000), PASSWORD))
write("py_aes_32768.hex", crypto.encrypt(pattern(32768), PASSWORD))
write("py_aes_empty.hex", crypto.encrypt(b"", PASSWORD))
write(
    "py_chacha_40000.hex",
    encrypt_with(pattern(40000), PASSWORD, 1, crypto._generate_key),
)
write("py_pbkdf2_small.hex", encrypt_with(small, PASSWORD, 2, pbkdf2_key))

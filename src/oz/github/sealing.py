"""Encrypt secrets at rest (GitHub tokens) under a key derived from the server secret.

AES-256-GCM with a random 96-bit nonce per value; the key is HKDF-SHA256 of the server
secret with a purpose label, so it differs from the key-digest HMAC key. The row's id is
bound as associated data, so a sealed value copied to another row does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
NONCE_BYTES = 12


class SealError(ValueError):
    """A sealed value is damaged, was sealed for another row, or under another secret."""


def derive_key(server_secret: bytes, purpose: bytes) -> bytes:
    """Derive a 256-bit key for one purpose from the server secret (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(server_secret)


def _key(server_secret: bytes) -> bytes:
    return derive_key(server_secret, b"oz github token sealing v1")


def seal(server_secret: bytes, plaintext: str, bound_to: str) -> str:
    """Encrypt `plaintext` for the row `bound_to`; return `v1.<base64 nonce+ciphertext>`."""
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(_key(server_secret)).encrypt(nonce, plaintext.encode(), bound_to.encode())
    return f"{VERSION}.{base64.urlsafe_b64encode(nonce + ciphertext).decode()}"


def unseal(server_secret: bytes, sealed: str, bound_to: str) -> str:
    version, _, payload = sealed.partition(".")
    if version != VERSION:
        raise SealError(f"sealed value has unknown version {version!r}")
    try:
        raw = base64.urlsafe_b64decode(payload)
        plaintext = AESGCM(_key(server_secret)).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], bound_to.encode()
        )
    except (InvalidTag, ValueError):
        raise SealError(
            "the sealed value cannot be opened: it is damaged, belongs to another row, or the"
            " server secret changed"
        ) from None
    return plaintext.decode()

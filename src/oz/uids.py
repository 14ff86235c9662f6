"""Random identifiers for stored objects."""

from __future__ import annotations

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
UID_LENGTH = 22  # 22 base62 characters carry about 131 bits


def new_uid() -> str:
    """Return a new random 22-character base62 identifier."""
    import secrets

    return "".join(secrets.choice(BASE62_ALPHABET) for _ in range(UID_LENGTH))

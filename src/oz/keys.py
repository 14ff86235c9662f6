"""The API key format: generate, checksum, parse, digest and mask.

A key reads `wk-<random><checksum>`:

- `wk-` is the fixed prefix of every Oz key;
- `<random>` is 31 base62 characters from the operating system's CSPRNG (about 184 bits);
- `<checksum>` is the CRC32 of everything before it, in 6 base62 characters, so a
  mistyped or truncated key is recognised without contacting the server.

Only the HMAC-SHA256 digest of a key under the server secret and its last four
characters are ever stored. This module is the only code that handles raw keys.

`parse` needs only `zlib`, so the CLI checks a key without loading the hashing modules.
"""

from __future__ import annotations

import re
import zlib

from oz.uids import BASE62_ALPHABET

PREFIX = "wk-"
RANDOM_LENGTH = 31
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
SUFFIX_LENGTH = 4

_KEY_SHAPE = re.compile(rf"{PREFIX}[0-9A-Za-z]{{{RANDOM_LENGTH + CHECKSUM_LENGTH}}}")


class KeyFormatError(ValueError):
    """A string is not a well-formed API key."""


class MissingPrefixError(KeyFormatError):
    """A key does not start with `wk-`: it is invalid or from an older format."""


class ChecksumMismatchError(KeyFormatError):
    """A key's checksum does not match: it was mistyped or truncated."""


class RawKey:
    """A raw API key. Its `repr` and `str` never show the secret.

    A plain class rather than a dataclass, because `dataclasses` imports `inspect` and
    the CLI parses keys on every start.
    """

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"RawKey({mask(self.value)})"

    def __str__(self) -> str:
        return mask(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawKey) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    @property
    def suffix(self) -> str:
        return self.value[-SUFFIX_LENGTH:]


def _encode_base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        chars.append(BASE62_ALPHABET[remainder])
    return "".join(reversed(chars))


def checksum(body: str) -> str:
    """Return the 6-character base62 CRC32 of `body`."""
    return _encode_base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate() -> RawKey:
    """Return a new random key with a valid checksum."""
    import secrets

    random_part = "".join(secrets.choice(BASE62_ALPHABET) for _ in range(RANDOM_LENGTH))
    body = PREFIX + random_part
    return RawKey(body + checksum(body))


def parse(text: str) -> RawKey:
    """Check the shape and checksum of `text`, with surrounding whitespace stripped.

    Raises `MissingPrefixError`, or `KeyFormatError` (of which `ChecksumMismatchError`
    is the case of a well-shaped key whose checksum is wrong). No message contains the key.
    """
    value = text.strip()
    if not value.startswith(PREFIX):
        raise MissingPrefixError(
            "the API key does not start with 'wk-': it is invalid or from an older format"
        )

    if _KEY_SHAPE.fullmatch(value) is None:
        raise ChecksumMismatchError(
            f"the API key is not {KEY_LENGTH} characters of 'wk-' and letters or digits:"
            " it looks mistyped or truncated"
        )

    # The checksum is public, so a plain comparison leaks nothing.
    body, given = value[:-CHECKSUM_LENGTH], value[-CHECKSUM_LENGTH:]
    if checksum(body) != given:
        raise ChecksumMismatchError(
            "the API key's checksum does not match: it looks mistyped or truncated"
        )
    return RawKey(value)


def digest(key: RawKey, secret: bytes) -> str:
    """Return the hex HMAC-SHA256 of the key under the server secret."""
    import hmac

    return hmac.digest(secret, key.value.encode("ascii"), "sha256").hex()


def mask(value_or_suffix: str) -> str:
    """Return the display form `wk-**abcd` of a key or of its stored suffix."""
    return f"{PREFIX}**{value_or_suffix[-SUFFIX_LENGTH:]}"


_KEY_LIKE = re.compile(r"wk-[0-9A-Za-z]{8,}")


def redact(text: str) -> str:
    """Replace anything shaped like a key in `text` by its masked form `wk-**abcd`."""
    return _KEY_LIKE.sub(lambda match: mask(match.group(0)), text)

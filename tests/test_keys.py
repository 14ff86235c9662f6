"""The key format: generation, checksum, parsing, digest and mask."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oz import keys
from oz.uids import BASE62_ALPHABET

SECRET = b"s" * 32
base62 = st.text(alphabet=BASE62_ALPHABET, min_size=keys.RANDOM_LENGTH, max_size=keys.RANDOM_LENGTH)


def make_key(random_part: str) -> str:
    body = keys.PREFIX + random_part
    return body + keys.checksum(body)


def test_generate_has_documented_shape() -> None:
    raw = keys.generate().value

    assert raw.startswith("wk-")
    assert len(raw) == 40
    assert all(char in BASE62_ALPHABET for char in raw[3:])


def test_generate_carries_at_least_180_bits() -> None:
    import math

    assert keys.RANDOM_LENGTH * math.log2(62) >= 180


def test_generate_returns_distinct_keys() -> None:
    assert len({keys.generate().value for _ in range(1000)}) == 1000


@given(base62)
def test_parse_accepts_every_well_formed_key(random_part: str) -> None:
    raw = make_key(random_part)

    assert keys.parse(raw).value == raw


@given(base62, st.sampled_from([" ", "\n", "\t", "\r\n", "  \n"]))
def test_parse_strips_surrounding_whitespace(random_part: str, padding: str) -> None:
    raw = make_key(random_part)

    assert keys.parse(padding + raw + padding).value == raw


@given(base62, st.integers(min_value=3, max_value=39), st.sampled_from(BASE62_ALPHABET))
def test_parse_rejects_any_single_substitution(random_part: str, index: int, char: str) -> None:
    raw = make_key(random_part)
    mistyped = raw[:index] + char + raw[index + 1 :]
    if mistyped == raw:
        return

    with pytest.raises(keys.ChecksumMismatchError, match="mistyped or truncated"):
        keys.parse(mistyped)


@given(base62, st.integers(min_value=4, max_value=39))
def test_parse_rejects_truncated_keys(random_part: str, length: int) -> None:
    with pytest.raises(keys.ChecksumMismatchError, match="mistyped or truncated"):
        keys.parse(make_key(random_part)[:length])


@given(base62)
def test_parse_rejects_swapped_neighbours(random_part: str) -> None:
    raw = make_key(random_part)
    swapped = raw[:10] + raw[11] + raw[10] + raw[12:]
    if swapped == raw:
        return

    with pytest.raises(keys.ChecksumMismatchError):
        keys.parse(swapped)


@pytest.mark.parametrize("text", ["", "abc", "sk-123", "WK-" + "a" * 37, "Bearer wk-abc"])
def test_parse_without_prefix_mentions_older_format(text: str) -> None:
    with pytest.raises(keys.MissingPrefixError, match="invalid or from an older format"):
        keys.parse(text)


@pytest.mark.parametrize("char", ["-", "_", "é", "/", "+"])
def test_parse_rejects_characters_outside_base62(char: str) -> None:
    raw = keys.generate().value

    with pytest.raises(keys.ChecksumMismatchError):
        keys.parse(raw[:20] + char + raw[21:])


def test_parse_error_never_contains_the_key() -> None:
    raw = keys.generate().value
    mistyped = raw[:-1] + ("a" if raw[-1] != "a" else "b")

    with pytest.raises(keys.KeyFormatError) as caught:
        keys.parse(mistyped)

    assert mistyped not in str(caught.value)
    assert mistyped[3:12] not in str(caught.value)


@given(base62)
def test_digest_is_hex_sha256_and_depends_on_secret(random_part: str) -> None:
    raw = keys.parse(make_key(random_part))

    first = keys.digest(raw, SECRET)
    other = keys.digest(raw, b"t" * 32)

    assert len(first) == 64
    assert int(first, 16) >= 0
    assert first != other
    assert keys.digest(raw, SECRET) == first


def test_raw_key_repr_and_str_hide_the_secret() -> None:
    raw = keys.generate()

    assert raw.value not in repr(raw)
    assert str(raw) == f"wk-**{raw.value[-4:]}"


def test_mask_shows_prefix_and_last_four() -> None:
    assert keys.mask("wk-abcdefgh") == "wk-**efgh"
    assert keys.mask("efgh") == "wk-**efgh"

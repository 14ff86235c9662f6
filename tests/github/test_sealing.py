"""Sealing GitHub tokens at rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oz.github.sealing import SealError, seal, unseal

SECRET = b"s" * 32


@given(st.text(max_size=200))
def test_seal_round_trips(plaintext: str) -> None:
    assert unseal(SECRET, seal(SECRET, plaintext, "row-1"), "row-1") == plaintext


def test_sealed_value_hides_the_token() -> None:
    sealed = seal(SECRET, "ghp_example_token_value", "row-1")

    assert "ghp_example" not in sealed
    assert sealed.startswith("v1.")
    assert seal(SECRET, "ghp_example_token_value", "row-1") != sealed


@pytest.mark.parametrize(
    ("secret", "row"),
    [(b"t" * 32, "row-1"), (SECRET, "row-2")],
    ids=["other-secret", "other-row"],
)
def test_unseal_rejects_other_secret_or_row(secret: bytes, row: str) -> None:
    sealed = seal(SECRET, "token", "row-1")

    with pytest.raises(SealError, match="cannot be opened"):
        unseal(secret, sealed, row)


def test_unseal_rejects_damaged_values() -> None:
    sealed = seal(SECRET, "token", "row-1")

    with pytest.raises(SealError):
        unseal(SECRET, sealed[:-4] + "AAAA", "row-1")
    with pytest.raises(SealError, match="unknown version"):
        unseal(SECRET, "v9." + sealed[3:], "row-1")

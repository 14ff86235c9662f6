"""Password rules and argon2id hashes."""

from __future__ import annotations

import pytest

from oz.auth import passwords
from oz.db.models import UserPassword
from oz.errors import InvalidRequest
from tests.support.world import World


def test_default_hasher_is_rfc_9106_low_memory() -> None:
    stored = passwords.DEFAULT_HASHER.hash("correct horse battery")

    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_hash_is_argon2id_and_verifies() -> None:
    stored = passwords.hash_password("correct horse battery")

    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "correct horse batterY")


def test_missing_hash_never_verifies() -> None:
    assert not passwords.verify(None, "no account has this password")
    assert not passwords.verify(None, "")


def test_malformed_hash_does_not_verify() -> None:
    assert not passwords.verify("not a hash", "correct horse battery")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "at least 12 characters, got 0"),
        ("elevenchars", "at least 12 characters, got 11"),
        ("x" * 1025, "at most 1024 characters, got 1025"),
    ],
)
def test_rules_reject_lengths(password: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message) as caught:
        passwords.check_rules(password, field="new_password")

    assert caught.value.extras["field"] == "new_password"


def test_set_password_replaces_the_hash(world: World) -> None:
    world.set_password("first password!")
    world.set_password("second password!")

    with world.database.read() as session:
        stored = session.get(UserPassword, world.owner.uid)

    assert stored is not None
    assert passwords.verify(stored.hash, "second password!")
    assert not passwords.verify(stored.hash, "first password!")

"""Sign-in with email and password: failures, the lockout and password changes."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from oz.auth import passwords
from oz.auth.sign_in import (
    MAX_CLIENT_FAILURES,
    MAX_FAILURES,
    authenticate,
    change_password,
    reset_sign_in,
)
from oz.db.models import SignInClientFailure, SignInFailure, User, UserPassword
from oz.errors import AuthenticationRequired, InvalidRequest, SignInLocked
from tests.conftest import Clock
from tests.support.world import World

PASSWORD = "correct horse battery"
CLIENT = "203.0.113.7"
OTHER_CLIENT = "2001:db8::1"


@pytest.fixture
def owner(world: World) -> User:
    world.set_password(PASSWORD)
    with world.database.read() as session:
        user = session.get(User, world.owner.uid)
    assert user is not None
    return user


def fail_times(world: World, email: str, count: int) -> None:
    for _ in range(count):
        with pytest.raises(AuthenticationRequired):
            authenticate(world.database, email, "wrong password!")


def test_right_password_signs_in(world: World, owner: User) -> None:
    user = authenticate(world.database, " Owner@Example.com ", PASSWORD)

    assert user.uid == owner.uid


def test_wrong_password_and_unknown_email_read_alike(world: World, owner: User) -> None:
    with pytest.raises(AuthenticationRequired) as wrong:
        authenticate(world.database, "owner@example.com", "wrong password!")
    with pytest.raises(AuthenticationRequired) as unknown:
        authenticate(world.database, "nobody@example.com", PASSWORD)

    assert str(wrong.value) == str(unknown.value) == "the email or password is incorrect"


def test_user_without_password_cannot_sign_in(world: World) -> None:
    with pytest.raises(AuthenticationRequired, match="email or password is incorrect"):
        authenticate(world.database, "owner@example.com", "")


def test_malformed_email_is_invalid(world: World) -> None:
    with pytest.raises(InvalidRequest, match="is not an email address"):
        authenticate(world.database, "owner", PASSWORD)


def test_fifth_failure_locks_even_right_password(
    world: World, owner: User, frozen_clock: Clock
) -> None:
    fail_times(world, "owner@example.com", MAX_FAILURES - 1)

    with pytest.raises(SignInLocked, match="try again in 15 minutes"):
        authenticate(world.database, "owner@example.com", "wrong password!")
    frozen_clock.advance(minutes=14)
    with pytest.raises(SignInLocked, match="try again in 1 minutes"):
        authenticate(world.database, "owner@example.com", PASSWORD)
    frozen_clock.advance(minutes=1)

    assert authenticate(world.database, "owner@example.com", PASSWORD).uid == owner.uid


def test_unknown_email_locks_the_same_way(world: World, frozen_clock: Clock) -> None:
    fail_times(world, "nobody@example.com", MAX_FAILURES - 1)

    with pytest.raises(SignInLocked, match="too many failed sign-ins for this email"):
        authenticate(world.database, "nobody@example.com", PASSWORD)


def test_success_forgets_failures(world: World, owner: User, frozen_clock: Clock) -> None:
    fail_times(world, "owner@example.com", MAX_FAILURES - 1)
    authenticate(world.database, "owner@example.com", PASSWORD)

    fail_times(world, "owner@example.com", MAX_FAILURES - 1)

    assert authenticate(world.database, "owner@example.com", PASSWORD).uid == owner.uid


def test_slow_failures_never_lock(world: World, owner: User, frozen_clock: Clock) -> None:
    for _ in range(MAX_FAILURES * 2):
        fail_times(world, "owner@example.com", 1)
        frozen_clock.advance(minutes=16)

    assert authenticate(world.database, "owner@example.com", PASSWORD).uid == owner.uid


def test_stale_failure_rows_are_removed(world: World, frozen_clock: Clock) -> None:
    fail_times(world, "first@example.com", 1)
    frozen_clock.advance(minutes=20)

    fail_times(world, "second@example.com", 1)

    with world.database.read() as session:
        assert session.get(SignInFailure, "first@example.com") is None
        assert session.get(SignInFailure, "second@example.com") is not None


def test_other_addresses_stay_unlocked(world: World, owner: User, frozen_clock: Clock) -> None:
    fail_times(world, "nobody@example.com", MAX_FAILURES - 1)
    with pytest.raises(SignInLocked):
        authenticate(world.database, "nobody@example.com", PASSWORD)

    assert authenticate(world.database, "owner@example.com", PASSWORD).uid == owner.uid


def test_reset_lifts_the_lock(world: World, owner: User, frozen_clock: Clock) -> None:
    fail_times(world, "owner@example.com", MAX_FAILURES - 1)
    with pytest.raises(SignInLocked):
        authenticate(world.database, "owner@example.com", "wrong password!")

    with world.database.transaction() as session:
        reset_sign_in(session, owner.uid, owner.email)

    assert authenticate(world.database, "owner@example.com", PASSWORD).uid == owner.uid


def fail_from_client(world: World, count: int, client: str = CLIENT) -> None:
    """Fail once on each of `count` addresses, so no email reaches its own limit."""
    for index in range(count):
        with pytest.raises(AuthenticationRequired):
            authenticate(world.database, f"guess{index}@example.com", "wrong password!", client)


def test_client_locked_across_addresses(world: World, owner: User, frozen_clock: Clock) -> None:
    fail_from_client(world, MAX_CLIENT_FAILURES - 1)

    with pytest.raises(SignInLocked, match="from your network address: try again in 15"):
        authenticate(world.database, "last@example.com", "wrong password!", CLIENT)
    with pytest.raises(SignInLocked, match="from your network address"):
        authenticate(world.database, "owner@example.com", PASSWORD, CLIENT)

    assert (
        authenticate(world.database, "owner@example.com", PASSWORD, OTHER_CLIENT).uid == owner.uid
    )
    frozen_clock.advance(minutes=15)
    assert authenticate(world.database, "owner@example.com", PASSWORD, CLIENT).uid == owner.uid


def test_client_success_keeps_count(world: World, owner: User, frozen_clock: Clock) -> None:
    fail_from_client(world, MAX_CLIENT_FAILURES - 1)
    authenticate(world.database, "owner@example.com", PASSWORD, CLIENT)

    with pytest.raises(SignInLocked, match="from your network address"):
        authenticate(world.database, "last@example.com", "wrong password!", CLIENT)


def test_slow_client_failures_never_lock(world: World, owner: User, frozen_clock: Clock) -> None:
    for _ in range(2):
        fail_from_client(world, MAX_CLIENT_FAILURES - 1)
        frozen_clock.advance(minutes=16)

    assert authenticate(world.database, "owner@example.com", PASSWORD, CLIENT).uid == owner.uid


def test_client_limit_zero_counts_nothing(world: World, owner: User, frozen_clock: Clock) -> None:
    for index in range(MAX_CLIENT_FAILURES + 1):
        with pytest.raises(AuthenticationRequired):
            authenticate(world.database, f"guess{index}@example.com", "wrong!", CLIENT, 0)

    assert authenticate(world.database, "owner@example.com", PASSWORD, CLIENT, 0).uid == owner.uid
    with world.database.read() as session:
        assert session.get(SignInClientFailure, CLIENT) is None


def test_stale_client_rows_are_removed(world: World, frozen_clock: Clock) -> None:
    fail_from_client(world, 1)
    frozen_clock.advance(minutes=20)

    fail_from_client(world, 1, OTHER_CLIENT)

    with world.database.read() as session:
        assert session.get(SignInClientFailure, CLIENT) is None
        assert session.get(SignInClientFailure, OTHER_CLIENT) is not None


def test_change_password_needs_the_current_one(world: World, owner: User) -> None:
    with pytest.raises(InvalidRequest, match="current password is incorrect") as caught:
        change_password(world.database, owner, "wrong password!", "a new password!")

    assert caught.value.extras["field"] == "current_password"


@pytest.mark.parametrize(
    ("new", "message"),
    [("short", "at least 12 characters"), (PASSWORD, "must differ from the current one")],
)
def test_change_password_checks_the_new_one(
    world: World, owner: User, new: str, message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message) as caught:
        change_password(world.database, owner, PASSWORD, new)

    assert caught.value.extras["field"] == "new_password"


def test_change_password_replaces_it(world: World, owner: User) -> None:
    change_password(world.database, owner, PASSWORD, "a new password!")

    with pytest.raises(AuthenticationRequired):
        authenticate(world.database, "owner@example.com", PASSWORD)
    assert authenticate(world.database, "owner@example.com", "a new password!").uid == owner.uid


def test_wrong_current_passwords_lock_too(world: World, owner: User, frozen_clock: Clock) -> None:
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(InvalidRequest):
            change_password(world.database, owner, "wrong password!", "a new password!")

    with pytest.raises(SignInLocked):
        change_password(world.database, owner, "wrong password!", "a new password!")
    with pytest.raises(SignInLocked):
        authenticate(world.database, "owner@example.com", PASSWORD)


def test_unknown_email_still_hashes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str | None] = []
    verify = passwords.verify

    def spy(stored_hash: str | None, password: str) -> bool:
        checked.append(stored_hash)
        return verify(stored_hash, password)

    monkeypatch.setattr(passwords, "verify", spy)

    with pytest.raises(AuthenticationRequired):
        authenticate(world.database, "nobody@example.com", PASSWORD)

    assert checked == [None]


def test_old_parameters_are_rehashed(world: World, owner: User) -> None:
    with world.database.transaction() as session:
        record = session.get(UserPassword, owner.uid)
        assert record is not None
        record.hash = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1).hash(PASSWORD)

    authenticate(world.database, "owner@example.com", PASSWORD)

    with world.database.read() as session:
        stored = session.get(UserPassword, owner.uid)
    assert stored is not None
    assert not passwords.needs_rehash(stored.hash)
    assert passwords.verify(stored.hash, PASSWORD)

"""Last use of keys: written off the request path, at most once a minute."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from oz.auth.last_used import LastUseRecorder
from oz.auth.verifier import KeyVerifier
from oz.db.engine import Database
from oz.db.models import ApiKey
from tests.conftest import Clock
from tests.support.world import World


def last_used(world: World, uid: str) -> object:
    with world.database.read() as session:
        return session.scalar(select(ApiKey.last_used_at).where(ApiKey.uid == uid))


def test_use_is_written_on_flush_not_on_verify(world: World, frozen_clock: Clock) -> None:
    recorder = LastUseRecorder(world.database)
    verifier = KeyVerifier(world.database, world.secret, 60, recorder)
    view, raw = world.make_key()

    verifier.verify(raw)

    assert last_used(world, view.uid) is None
    assert recorder.flush() == 1
    assert last_used(world, view.uid) == frozen_clock.now


def test_use_is_written_at_most_once_a_minute(world: World, frozen_clock: Clock) -> None:
    recorder = LastUseRecorder(world.database)
    verifier = KeyVerifier(world.database, world.secret, 60, recorder)
    view, raw = world.make_key()
    first = frozen_clock.now

    verifier.verify(raw)
    recorder.flush()
    frozen_clock.advance(seconds=59)
    verifier.verify(raw)

    assert recorder.flush() == 0
    assert last_used(world, view.uid) == first

    frozen_clock.advance(seconds=2)
    verifier.verify(raw)

    assert recorder.flush() == 1
    assert last_used(world, view.uid) == frozen_clock.now


def test_failed_write_keeps_authentication_working(
    world: World, frozen_clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Database("sqlite:////nonexistent-directory/oz.db")
    recorder = LastUseRecorder(broken)
    verifier = KeyVerifier(world.database, world.secret, 60, recorder)
    _, raw = world.make_key()

    principal = verifier.verify(raw)
    with caplog.at_level(logging.ERROR, logger="oz.auth"):
        written = recorder.flush()

    assert principal.uid == world.owner.uid
    assert written == 0
    assert "failed to record last use of 1 API keys" in caplog.text

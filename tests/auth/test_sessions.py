"""Web sessions: tokens, expiry, ending them and one-time form tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from oz.auth import sessions
from oz.db.models import WebSession
from oz.identity.teams import delete_user
from tests.conftest import Clock
from tests.support.world import World

HOUR = timedelta(hours=1)


def start(world: World, user_uid: str | None = None) -> str:
    with world.database.transaction() as session:
        return sessions.start(session, world.secret, user_uid or world.owner.uid, HOUR)


def resolve(world: World, token: str | None) -> sessions.SignedIn | None:
    with world.database.read() as session:
        return sessions.resolve(session, world.secret, token)


def test_token_resolves_to_its_user(world: World) -> None:
    token = start(world)

    found = resolve(world, token)

    assert found is not None
    assert found.principal.type == "user"
    assert found.principal.uid == world.owner.uid
    assert found.principal.key_uid is None
    assert found.user.email == "owner@example.com"


def test_only_a_digest_is_stored(world: World) -> None:
    token = start(world)

    with world.database.read() as session:
        stored = session.scalars(select(WebSession.token_digest)).one()

    assert len(stored) == 64
    assert token not in stored


def test_unknown_and_missing_tokens_resolve_to_none(world: World) -> None:
    start(world)

    assert resolve(world, None) is None
    assert resolve(world, "") is None
    assert resolve(world, "not-a-session-token") is None


def test_session_expires(world: World, frozen_clock: Clock) -> None:
    token = start(world)
    frozen_clock.advance(minutes=59)
    assert resolve(world, token) is not None

    frozen_clock.advance(minutes=1)

    assert resolve(world, token) is None


def test_expired_sessions_are_removed_at_next_start(world: World, frozen_clock: Clock) -> None:
    start(world)
    frozen_clock.advance(hours=2)

    start(world)

    with world.database.read() as session:
        assert len(session.scalars(select(WebSession)).all()) == 1


def test_ended_session_resolves_to_none(world: World) -> None:
    token = start(world)
    found = resolve(world, token)
    assert found is not None

    with world.database.transaction() as session:
        sessions.end(session, found.session_uid)

    assert resolve(world, token) is None


def test_end_others_keeps_one(world: World) -> None:
    kept, other = start(world), start(world)
    found = resolve(world, kept)
    assert found is not None

    with world.database.transaction() as session:
        sessions.end_others(session, world.owner.uid, keep_uid=found.session_uid)

    assert resolve(world, kept) is not None
    assert resolve(world, other) is None


def test_deleted_user_session_resolves_to_none(world: World) -> None:
    member = world.add_user("member@example.com")
    token = start(world, member.uid)

    with world.database.transaction() as session:
        delete_user(session, member.uid)

    assert resolve(world, token) is None


def test_form_nonce_is_used_once(world: World) -> None:
    found = resolve(world, start(world))
    assert found is not None
    with world.database.transaction() as session:
        nonce = sessions.issue_form_nonce(session, found.session_uid)

    with world.database.transaction() as session:
        first = sessions.consume_form_nonce(session, found.session_uid, nonce)
    with world.database.transaction() as session:
        second = sessions.consume_form_nonce(session, found.session_uid, nonce)

    assert first is True
    assert second is False


def test_newer_form_nonce_replaces_older(world: World) -> None:
    found = resolve(world, start(world))
    assert found is not None
    with world.database.transaction() as session:
        older = sessions.issue_form_nonce(session, found.session_uid)
        newer = sessions.issue_form_nonce(session, found.session_uid)

    with world.database.transaction() as session:
        assert sessions.consume_form_nonce(session, found.session_uid, older) is False
        assert sessions.consume_form_nonce(session, found.session_uid, "") is False
        assert sessions.consume_form_nonce(session, found.session_uid, newer) is True

"""Key verification: principals, expiry, the cache and immediate revocation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from oz import keys
from oz.apikeys.service import delete_key
from oz.auth import revocations
from oz.auth.verifier import KeyVerifier
from oz.errors import AuthenticationRequired, UpstreamUnavailable
from oz.identity.agents import delete_agent
from oz.identity.teams import delete_user
from tests.conftest import Clock
from tests.support.databases import PostgresDatabases
from tests.support.world import World


@pytest.fixture
def verifier(world: World) -> KeyVerifier:
    return KeyVerifier(world.database, world.secret, cache_seconds=60)


def test_personal_key_acts_as_its_user(world: World, verifier: KeyVerifier) -> None:
    view, raw = world.make_key()

    principal = verifier.verify(raw)

    assert principal.type == "user"
    assert principal.uid == world.owner.uid
    assert principal.email == "owner@example.com"
    assert principal.key_uid == view.uid


def test_agent_key_acts_as_its_cloud_agent(world: World, verifier: KeyVerifier) -> None:
    agent_uid = world.add_agent("CI bot")
    _, raw = world.make_key(agent_uid=agent_uid)

    principal = verifier.verify(raw)

    assert principal.type == "service_account"
    assert principal.uid == agent_uid
    assert principal.display_name == "CI bot"
    assert principal.team_uid == world.team_uid
    assert not principal.is_human


def test_unknown_key_is_rejected(verifier: KeyVerifier) -> None:
    with pytest.raises(AuthenticationRequired, match="it is unknown, or it was deleted"):
        verifier.verify(keys.generate().value)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing Authorization header"),
        ("", "missing Authorization header"),
        ("Basic abc", "must be 'Bearer'"),
        ("Bearer ", "must be 'Bearer'"),
        ("Bearer sk-live-123", "older format"),
    ],
)
def test_bad_headers_are_rejected(verifier: KeyVerifier, header: str | None, message: str) -> None:
    with pytest.raises(AuthenticationRequired, match=message):
        verifier.authenticate_header(header)


def test_bearer_scheme_is_case_insensitive(world: World, verifier: KeyVerifier) -> None:
    _, raw = world.make_key()

    assert verifier.authenticate_header(f"bearer {raw}").uid == world.owner.uid


def test_expiry_boundary(world: World, frozen_clock: Clock) -> None:
    _, raw = world.make_key(expires_in="1d")
    verifier = KeyVerifier(world.database, world.secret, cache_seconds=60)

    frozen_clock.advance(days=1, microseconds=-1)
    assert verifier.verify(raw).uid == world.owner.uid

    frozen_clock.advance(microseconds=1)
    with pytest.raises(AuthenticationRequired, match="expired"):
        verifier.verify(raw)


def test_never_expiring_key_works_in_ten_years(world: World, frozen_clock: Clock) -> None:
    _, raw = world.make_key(expires_in="never")
    verifier = KeyVerifier(world.database, world.secret, cache_seconds=0)

    frozen_clock.advance(days=3650)

    assert verifier.verify(raw).uid == world.owner.uid


def test_deleted_key_is_rejected_although_cached(world: World, verifier: KeyVerifier) -> None:
    view, raw = world.make_key()
    verifier.verify(raw)

    with world.database.transaction() as session:
        delete_key(session, world.owner, view.uid)

    with pytest.raises(AuthenticationRequired):
        verifier.verify(raw)


def test_rolled_back_delete_keeps_the_key(world: World, verifier: KeyVerifier) -> None:
    view, raw = world.make_key()
    verifier.verify(raw)

    with pytest.raises(RuntimeError), world.database.transaction() as session:
        delete_key(session, world.owner, view.uid)
        raise RuntimeError("abort")

    assert verifier.verify(raw).key_uid == view.uid


def test_lookup_racing_a_delete_is_not_cached(world: World, verifier: KeyVerifier) -> None:
    """A lookup that read the key before the delete committed must not cache it."""
    view, raw = world.make_key()
    original_load = verifier._load
    loaded = threading.Event()
    deleted = threading.Event()

    def slow_load(digest: str) -> object:
        result = original_load(digest)
        loaded.set()
        deleted.wait(timeout=10)
        return result

    verifier._load = slow_load  # type: ignore[method-assign,assignment]
    racing = threading.Thread(target=verifier.verify, args=(raw,))
    racing.start()
    loaded.wait(timeout=10)
    with world.database.transaction() as session:
        delete_key(session, world.owner, view.uid)
    deleted.set()
    racing.join(timeout=10)
    verifier._load = original_load  # type: ignore[method-assign]

    with pytest.raises(AuthenticationRequired):
        verifier.verify(raw)


def test_deleting_an_agent_revokes_its_keys(world: World, verifier: KeyVerifier) -> None:
    agent_uid = world.add_agent("Doomed")
    _, doomed = world.make_key(agent_uid=agent_uid)
    _, survivor = world.make_key(agent_uid=world.default_agent_uid)
    verifier.verify(doomed)

    with world.database.transaction() as session:
        delete_agent(session, world.owner, agent_uid)

    with pytest.raises(AuthenticationRequired):
        verifier.verify(doomed)
    assert verifier.verify(survivor).uid == world.default_agent_uid


def test_deleting_a_user_revokes_personal_keys_only(world: World, verifier: KeyVerifier) -> None:
    member = world.add_user("leaver@example.com", role="admin")
    _, personal = world.make_key(member)
    _, agent_key = world.make_key(member, agent_uid=world.default_agent_uid)
    verifier.verify(personal)

    with world.database.transaction() as session:
        delete_user(session, member.uid)

    with pytest.raises(AuthenticationRequired):
        verifier.verify(personal)
    assert verifier.verify(agent_key).type == "service_account"


def test_revocation_in_another_process_reaches_the_cache(world: World, tmp_path: Path) -> None:
    marker = revocations.use_marker(tmp_path)
    verifier = KeyVerifier(world.database, world.secret, 60, marker=marker)
    view, raw = world.make_key()
    verifier.verify(raw)
    revocations.unsubscribe(verifier.invalidate)  # as if the delete ran in another process

    with world.database.transaction() as session:
        delete_key(session, world.owner, view.uid)

    with pytest.raises(AuthenticationRequired):
        verifier.verify(raw)


def test_revocation_reaches_another_process(world: World, tmp_path: Path) -> None:
    """A verifier that hears no announcement still refuses at once: through the database's
    revocation epoch on PostgreSQL (replicas on other hosts), the marker file on SQLite."""
    marker = revocations.use_marker(tmp_path) if world.database.url.startswith("sqlite") else None
    replica = KeyVerifier(world.database, world.secret, cache_seconds=60, marker=marker)
    replica.close()  # no in-process announcements, as in another process
    view, raw = world.make_key()
    replica.verify(raw)

    with world.database.transaction() as session:
        delete_key(session, world.owner, view.uid)

    with pytest.raises(AuthenticationRequired):
        replica.verify(raw)


@pytest.fixture
def postgres_world(postgres: PostgresDatabases) -> Iterator[World]:
    """A world on PostgreSQL only: SQLite has no replicas on other hosts, so no epoch."""
    database = postgres.fresh()
    yield World(database)
    database.dispose()


class _Unreachable:
    def connect(self) -> object:
        raise OperationalError("SELECT", {}, Exception("connection refused"))


def test_cache_untrusted_when_database_unreachable(postgres_world: World) -> None:
    verifier = KeyVerifier(postgres_world.database, postgres_world.secret, cache_seconds=60)
    _, raw = postgres_world.make_key()
    verifier.verify(raw)

    verifier._epoch_engine = _Unreachable()  # type: ignore[assignment]

    with pytest.raises(UpstreamUnavailable):
        verifier.verify(raw)


def test_event_loop_path_sees_other_revocations(world: World, tmp_path: Path) -> None:
    """`authenticate` accepts cached keys on the event loop and still rejects a key
    revoked by another process: through the shared epoch read on PostgreSQL, the marker
    file on SQLite."""
    marker = revocations.use_marker(tmp_path) if world.database.url.startswith("sqlite") else None
    replica = KeyVerifier(world.database, world.secret, cache_seconds=60, marker=marker)
    revocations.unsubscribe(replica.invalidate)  # as if the delete ran in another process
    view, raw = world.make_key()

    async def twice() -> tuple[str, str]:
        first = await replica.authenticate(f"Bearer {raw}")
        second = await replica.authenticate(f"Bearer {raw}")
        return first.uid, second.uid

    assert asyncio.run(twice()) == (world.owner.uid, world.owner.uid)

    with world.database.transaction() as session:
        delete_key(session, world.owner, view.uid)

    with pytest.raises(AuthenticationRequired, match="it is unknown, or it was deleted"):
        asyncio.run(replica.authenticate(f"Bearer {raw}"))
    replica.close()


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer sk-live-123"])
def test_event_loop_path_rejects_bad_headers(verifier: KeyVerifier, header: str | None) -> None:
    with pytest.raises(AuthenticationRequired):
        asyncio.run(verifier.authenticate(header))


def test_event_loop_path_fails_closed_on_drop(
    postgres_world: World,
) -> None:
    """A replica whose database connection is cut raises 503 rather than trusting its
    cache, and reconnects for the next request."""
    verifier = KeyVerifier(postgres_world.database, postgres_world.secret, cache_seconds=60)
    _, raw = postgres_world.make_key()
    header = f"Bearer {raw}"

    async def scenario() -> tuple[str, BaseException | None, str]:
        first = await verifier.authenticate(header)  # cached, and the epoch connection open
        await verifier.authenticate(header)
        assert verifier._postgres_epoch is not None
        connection = verifier._postgres_epoch._connection
        assert connection is not None
        with postgres_world.database.engine.begin() as admin:
            admin.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": connection.info.backend_pid}
            )
        try:
            await verifier.authenticate(header)
            refused = None
        except UpstreamUnavailable as exc:
            refused = exc
        again = await verifier.authenticate(header)
        return first.uid, refused, again.uid

    first, refused, again = asyncio.run(scenario())
    verifier.close()

    assert first == again == postgres_world.owner.uid
    assert isinstance(refused, UpstreamUnavailable)
    assert "cannot be reached" in str(refused)

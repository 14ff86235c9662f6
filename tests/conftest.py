"""Fixtures: every storage test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from oz import clock
from oz.auth import passwords, revocations
from oz.db.engine import Database
from oz.logs import JsonFormatter
from tests.support.databases import PostgresDatabases, sqlite_database
from tests.support.secrets import SEEN_RAW_KEYS
from tests.support.world import World

BACKENDS = ["sqlite", "postgresql"]
LOG_DIR_KEY = pytest.StashKey[Path]()


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def no_raw_key_in_any_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Collect every log line of the suite and every server log; none may contain a raw key."""
    collector = _Collector()
    # The in-process test client logs every URL it requests. Those lines are the test's
    # own, not oz's, and a test that puts a key into a URL on purpose would trip the check.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(collector)

    server_logs = sorted(tmp_path_factory.getbasetemp().rglob("ozd-*.log"))
    texts = collector.lines + [path.read_text(errors="replace") for path in server_logs]
    leaked = [key[:6] + "…" for key in SEEN_RAW_KEYS if any(key in text for text in texts)]
    assert not leaked, f"raw keys found in logs: {leaked}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    databases.create()
    yield databases
    databases.drop()


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresDatabases
) -> Iterator[Database]:
    if request.param == "sqlite":
        yield from sqlite_database(str(tmp_path / "oz.db"))
        return
    database = postgres.fresh()
    yield database
    database.dispose()


@pytest.fixture
def world(database: Database) -> World:
    return World(database)


@pytest.fixture(autouse=True)
def _reset_global_state() -> Iterator[None]:
    # argon2id with the smallest cost: the suite hashes passwords hundreds of times.
    passwords.set_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    passwords.set_hasher(None)
    clock.set_source(None)
    revocations._marker = None


class Clock:
    """A controllable UTC clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def frozen_clock() -> Clock:
    fake = Clock(datetime(2030, 1, 15, 12, 0, tzinfo=UTC))
    clock.set_source(fake)
    return fake

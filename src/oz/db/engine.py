"""Engine, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# AnyIO's thread pool runs up to 40 request handlers at once. A smaller pool would close
# SQLite connections as they come back and open new ones, each running the PRAGMAs below,
# on every request under load.
SQLITE_POOL_SIZE = 40


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=10,
        )
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see `_begin_immediate`).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # A write transaction takes the write lock at BEGIN, so two read-then-write
    # transactions wait for each other instead of failing on lock upgrade. Read-only
    # transactions begin deferred and never block writers under WAL.
    if connection.get_execution_options().get("oz_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(oz_read_only=True), expire_on_commit=False
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session whose work commits on success and rolls back on any error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session for reads only; on SQLite it never takes the write lock."""
        with self._read_sessions.begin() as session:
            yield session

    def ping(self) -> None:
        """Run `SELECT 1`; raise `OperationalError` when the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("oz.db") / "migrations"))
    return config


# The key of the PostgreSQL advisory lock that `migrate` holds: "oz" in ASCII.
MIGRATION_LOCK = 0x6F7A


def migrate(database: Database, revision: str = "head") -> None:
    """Upgrade the schema to `revision` with Alembic.

    On PostgreSQL the upgrade holds a transaction-level advisory lock, so replicas or
    `ozd migrate` started at once upgrade one after the other: the second finds the
    schema current and changes nothing.
    """
    from alembic import command
    from sqlalchemy import text

    config = _alembic_config()
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def schema_revision(database: Database) -> str | None:
    """Return the database's migration revision, or None for an empty database."""
    from alembic.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_is_current(database: Database) -> bool:
    """Return whether the database schema is at the newest migration."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    return schema_revision(database) == head

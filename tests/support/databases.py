"""Fresh, migrated databases on SQLite and PostgreSQL for each test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
from sqlalchemy import text

from oz.db.engine import Database, migrate
from oz.db.models import Base

# The PostgreSQL server every test run uses; each run creates and drops its own database.
ADMIN_URL = os.environ.get("OZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class PostgresDatabases:
    """Create one database per test run and empty it between tests."""

    def __init__(self) -> None:
        self.name = f"oz_test_{uuid.uuid4().hex[:10]}"
        base = ADMIN_URL.rsplit("/", 1)[0]
        self.url = f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{self.name}"
        self._migrated = False

    def create(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def fresh(self) -> Database:
        database = Database(self.url)
        if not self._migrated:
            migrate(database)
            self._migrated = True
        empty(database)
        return database


def empty(database: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with database.engine.begin() as connection:
        if database.engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {tables} CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


def sqlite_database(path: str) -> Iterator[Database]:
    database = Database(f"sqlite:///{path}")
    migrate(database)
    yield database
    database.dispose()

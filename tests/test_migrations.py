"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from oz.db.engine import Database, migrate
from oz.db.models import Base


def test_models_and_migrations_agree(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_migrate_twice_is_harmless(database: Database) -> None:
    migrate(database)

    with database.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is not None


def test_concurrent_migrations_upgrade_once() -> None:
    """Replicas started together on an empty PostgreSQL database migrate one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import text

    from tests.support.databases import PostgresDatabases

    empty = PostgresDatabases()
    empty.create()
    databases = [Database(empty.url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(migrate, databases))

        with databases[0].engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            context = MigrationContext.configure(connection)
            differences = compare_metadata(context, Base.metadata)
    finally:
        for database in databases:
            database.dispose()
        empty.drop()

    assert len(versions) == 1
    assert differences == []

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

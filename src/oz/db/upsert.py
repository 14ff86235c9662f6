"""`INSERT ... ON CONFLICT` for the session's backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_for(session: Session) -> Any:
    """Return the `insert` construct of the session's dialect, which has `on_conflict_*`."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert
    return sqlite_insert

"""List runs with filters and opaque keyset cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from oz.clock import ensure_utc
from oz.db.models import Run
from oz.errors import InvalidRequest
from oz.identity.teams import team_uids_of
from oz.principal import Principal
from oz.runs import states

SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "updated_at": Run.updated_at,
    "created_at": Run.created_at,
    "title": Run.title,
    "agent": Run.creator_name,
}
MAX_LIMIT = 500


@dataclass(frozen=True)
class RunQuery:
    limit: int = 20
    cursor: str | None = None
    sort_by: str = "updated_at"
    sort_order: str = "desc"
    states: Sequence[str] = ()
    name: str | None = None
    creator: str | None = None
    source: str | None = None
    execution_location: str | None = None
    environment_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    q: str | None = None


@dataclass
class RunPage:
    runs: list[Run] = field(default_factory=list)
    next_cursor: str | None = None


def _validate(query: RunQuery) -> None:
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    if query.sort_by not in SORT_COLUMNS:
        raise InvalidRequest(f"sort_by must be one of {', '.join(SORT_COLUMNS)}", field="sort_by")
    if query.sort_order not in ("asc", "desc"):
        raise InvalidRequest("sort_order must be asc or desc", field="sort_order")
    for state in query.states:
        if state not in states.STATES:
            raise InvalidRequest(
                f"state {state!r} is not one of {', '.join(states.STATES)}", field="state"
            )
    if query.source is not None and query.source not in states.SOURCES:
        raise InvalidRequest(f"source must be one of {', '.join(states.SOURCES)}", field="source")
    for name in ("created_after", "created_before", "updated_after"):
        moment = getattr(query, name)
        if moment is not None and moment.tzinfo is None:
            raise InvalidRequest(
                f"{name} has no UTC offset: add Z or +HH:MM, as in 2030-01-31T12:00:00Z",
                field=name,
            )
    if query.execution_location not in (None, states.LOCAL, states.REMOTE):
        raise InvalidRequest(
            "execution_location must be LOCAL or REMOTE", field="execution_location"
        )


def encode_cursor(sort_by: str, run: Run) -> str:
    value: Any = getattr(run, SORT_COLUMNS[sort_by].key)
    if isinstance(value, datetime):
        value = ensure_utc(value).isoformat()
    payload = json.dumps([sort_by, value, run.uid], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort_by: str) -> tuple[Any, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        cursor_sort, value, uid = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidRequest(
            "cursor is not valid: pass the next_cursor of the previous page unchanged",
            field="cursor",
        ) from None
    if cursor_sort != sort_by or not isinstance(uid, str):
        raise InvalidRequest(
            "cursor belongs to a listing with another sort_by: keep the same query",
            field="cursor",
        )
    if not isinstance(value, str):
        raise InvalidRequest("cursor is not valid", field="cursor")
    if sort_by.endswith("_at"):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidRequest("cursor is not valid", field="cursor") from None
        if moment.tzinfo is None:
            raise InvalidRequest("cursor is not valid", field="cursor")
        return moment, uid
    return value, uid


def list_runs(session: Session, principal: Principal, query: RunQuery) -> RunPage:
    _validate(query)
    column = SORT_COLUMNS[query.sort_by]
    descending = query.sort_order == "desc"
    conditions: list[ColumnElement[bool]] = [Run.team_uid.in_(team_uids_of(session, principal))]
    conditions.extend(_filters(query))

    if query.cursor:
        value, uid = decode_cursor(query.cursor, query.sort_by)
        if descending:
            conditions.append(or_(column < value, and_(column == value, Run.uid < uid)))
        else:
            conditions.append(or_(column > value, and_(column == value, Run.uid > uid)))

    order = (column.desc(), Run.uid.desc()) if descending else (column.asc(), Run.uid.asc())
    rows = list(
        session.scalars(select(Run).where(*conditions).order_by(*order).limit(query.limit + 1))
    )
    page = RunPage(runs=rows[: query.limit])
    if len(rows) > query.limit:
        page.next_cursor = encode_cursor(query.sort_by, page.runs[-1])
    return page


def _filters(query: RunQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.states:
        conditions.append(Run.state.in_(query.states))
    if query.name:
        conditions.append(Run.agent_config["name"].as_string() == query.name)
    if query.environment_id:
        conditions.append(Run.agent_config["environment_id"].as_string() == query.environment_id)
    if query.creator:
        conditions.append(
            or_(Run.creator_user_uid == query.creator, Run.creator_agent_uid == query.creator)
        )
    if query.source:
        conditions.append(Run.source == query.source)
    if query.execution_location:
        conditions.append(Run.execution_location == query.execution_location)
    if query.created_after:
        conditions.append(Run.created_at > query.created_after)
    if query.created_before:
        conditions.append(Run.created_at < query.created_before)
    if query.updated_after:
        conditions.append(Run.updated_at > query.updated_after)
    if query.q:
        pattern = f"%{query.q.lower()}%"
        conditions.append(or_(Run.title.ilike(pattern), Run.prompt.ilike(pattern)))
    return conditions

"""Notify credential caches that keys were revoked.

Services announce revocations with `announce_after_commit`, in the revoking transaction:

- it raises the revocation epoch in the database, in that transaction. Every process
  that shares the database (replicas on other hosts, `ozd user delete`) reads the epoch
  on each cache hit and drops its cache when the epoch moved;
- after commit, listeners in this process (the key verifier's cache) drop what they hold
  at once, and a marker file in the data directory reaches processes on this host.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from oz.auth.marker import RevocationMarker
from oz.db.hooks import on_commit
from oz.db.models import RevocationEpoch
from oz.db.upsert import insert_for

EPOCH_ROW = 1

_listeners: list[Callable[[], None]] = []
_lock = threading.Lock()
_marker: RevocationMarker | None = None


def use_marker(data_dir: Path) -> RevocationMarker:
    """Announce revocations to other processes through `data_dir`'s marker file."""
    global _marker
    _marker = RevocationMarker.in_data_dir(data_dir)
    return _marker


def subscribe(listener: Callable[[], None]) -> None:
    with _lock:
        _listeners.append(listener)


def unsubscribe(listener: Callable[[], None]) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def announce() -> None:
    with _lock:
        listeners = list(_listeners)
        marker = _marker
    if marker is not None:
        marker.bump()
    for listener in listeners:
        listener()


def announce_after_commit(session: Session) -> None:
    """Raise the revocation epoch in this transaction; announce it once it commits."""
    raise_epoch(session)
    on_commit(session, announce)


def announce_membership_change(session: Session) -> None:
    """Drop cached principals when a user joins or leaves a team.

    A cached principal carries its teams for describing the caller, so a membership
    change reaches every cache the way a revocation does.
    """
    announce_after_commit(session)


def raise_epoch(session: Session) -> None:
    insert = insert_for(session)
    statement = insert(RevocationEpoch).values(id=EPOCH_ROW, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=["id"], set_={"value": RevocationEpoch.value + 1}
    )
    session.execute(statement)


EPOCH_QUERY = select(RevocationEpoch.value).where(RevocationEpoch.id == EPOCH_ROW)


def read_epoch(session: Session) -> int:
    """Return the database's revocation epoch; 0 before the first revocation."""
    return int(session.scalar(EPOCH_QUERY) or 0)

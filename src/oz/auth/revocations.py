"""Notify credential caches that keys were revoked.

Services announce revocations with `announce_after_commit`. Listeners in this process
(the key verifier's cache) drop what they hold before the revoking request returns.
Other processes on the same data directory (`ozd user delete` beside `ozd serve`) learn
of it through a marker file whose change time the verifier checks on every cache hit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from oz.db.hooks import on_commit

MARKER_FILE = "revocations"

_listeners: list[Callable[[], None]] = []
_lock = threading.Lock()
_marker: Path | None = None


def use_marker(data_dir: Path) -> Path:
    """Announce revocations to other processes through `data_dir`'s marker file."""
    global _marker
    _marker = data_dir / MARKER_FILE
    return _marker


def marker_version(path: Path) -> int:
    """Return the marker's change time in nanoseconds, or 0 when it does not exist."""
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


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
        marker.write_text(f"{os.getpid()} {os.urandom(8).hex()}\n")
    for listener in listeners:
        listener()


def announce_after_commit(session: Session) -> None:
    """Announce a revocation once the session's transaction commits."""
    on_commit(session, announce)

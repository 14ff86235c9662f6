"""Record when keys were last used, off the request path."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import or_, update

from oz.db.engine import Database
from oz.db.models import ApiKey

logger = logging.getLogger("oz.auth")

RESOLUTION = timedelta(minutes=1)


class LastUseRecorder:
    """Buffer key uses in memory and write them in a background thread.

    Each key is written at most once per `RESOLUTION`. A failed write is logged and
    dropped: authentication never depends on it.
    """

    def __init__(self, database: Database, flush_seconds: float = 1.0) -> None:
        self._database = database
        self._flush_seconds = flush_seconds
        self._pending: dict[str, datetime] = {}
        self._written: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, key_uid: str, when: datetime) -> None:
        last = self._written.get(key_uid)
        if last is not None and when - last < RESOLUTION:
            return
        with self._lock:
            self._pending[key_uid] = when
            self._written[key_uid] = when

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="oz-last-used", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def flush(self) -> int:
        """Write pending uses; return how many keys were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0

        try:
            with self._database.transaction() as session:
                for key_uid, when in sorted(pending.items()):
                    session.execute(
                        update(ApiKey)
                        .where(ApiKey.uid == key_uid)
                        .where(
                            or_(
                                ApiKey.last_used_at.is_(None),
                                ApiKey.last_used_at < when - RESOLUTION,
                            )
                        )
                        .values(last_used_at=when)
                    )
        except Exception:
            logger.exception("failed to record last use of %d API keys; dropped", len(pending))
            return 0
        return len(pending)

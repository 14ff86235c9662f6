"""End runs whose self-hosted worker stopped sending heartbeats.

Every `ozd serve` replica sweeps. Each run is ended by a conditional UPDATE that still
requires an active state and a stale heartbeat, so replicas sweeping at once end a run
once, and a heartbeat that arrives first keeps the run alive.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oz.clock import isoformat, utcnow
from oz.db.engine import Database
from oz.db.models import Run
from oz.runs import states

logger = logging.getLogger("oz.worker")

SWEEP_BATCH = 100
WORKING_STATES = (states.CLAIMED, states.INPROGRESS)


def silent_worker_message(worker_id: str, last_heartbeat: datetime) -> dict[str, object]:
    return {
        "message": f"the worker {worker_id} stopped sending heartbeats at"
        f" {isoformat(last_heartbeat)}",
        "error_code": "internal_error",
        "retryable": True,
    }


def sweep_silent_runs(session: Session, timeout_seconds: float, now: datetime) -> list[str]:
    """End ERROR the runs whose last heartbeat is older than `timeout_seconds`.

    Returns the uids this call ended; a run another sweeper ended first is not among them.
    """
    cutoff = now - timedelta(seconds=timeout_seconds)
    stale = session.execute(
        select(Run.uid, Run.claimed_by, Run.heartbeat_at)
        .where(Run.state.in_(WORKING_STATES), Run.heartbeat_at < cutoff)
        .order_by(Run.heartbeat_at)
        .limit(SWEEP_BATCH)
    ).all()
    ended = []
    for uid, worker_id, last_heartbeat in stale:
        assert last_heartbeat is not None  # the query compared it to the cutoff
        result = session.execute(
            update(Run)
            .where(Run.uid == uid, Run.state.in_(WORKING_STATES), Run.heartbeat_at < cutoff)
            .values(
                state=states.ERROR,
                status_message=silent_worker_message(worker_id or "?", last_heartbeat),
                updated_at=now,
                ended_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            ended.append(uid)
    return ended


def sweep_interval(timeout_seconds: float) -> float:
    """Seconds between sweeps: a quarter of the timeout, from 0.2 s to 10 s."""
    return min(max(timeout_seconds / 4, 0.2), 10.0)


class HeartbeatSweeper:
    """A thread of `ozd serve` that sweeps silent runs at a fixed interval."""

    def __init__(self, database: Database, timeout_seconds: float) -> None:
        self._database = database
        self._timeout_seconds = timeout_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="oz-heartbeat-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def sweep_once(self) -> list[str]:
        with self._database.transaction() as session:
            ended = sweep_silent_runs(session, self._timeout_seconds, utcnow())
        for uid in ended:
            logger.warning(
                "run %s ended ERROR: its worker sent no heartbeat for %g s",
                uid,
                self._timeout_seconds,
            )
        return ended

    def _loop(self) -> None:
        while not self._stop.wait(sweep_interval(self._timeout_seconds)):
            try:
                self.sweep_once()
            except Exception:
                logger.exception("the heartbeat sweep failed; retrying at the next interval")

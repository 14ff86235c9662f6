"""The worker endpoints of the REST API, as `oz worker` calls them, with bounded retries.

A failure is retryable when the server cannot be reached or returns 429 or 5xx, because
the server may be restarting. Every other error is final.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from oz.client.http import ApiError, ClientError, OzClient

logger = logging.getLogger("oz.worker")

T = TypeVar("T")
FIRST_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0


def is_retryable(error: Exception) -> bool:
    if isinstance(error, ClientError):
        return True
    return isinstance(error, ApiError) and (error.status == 429 or error.status >= 500)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1-based): doubling from 0.5 s up to 10 s."""
    return float(min(FIRST_BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def retrying(
    call: Callable[[], T], what: str, *, deadline_seconds: float, stop: threading.Event
) -> T:
    """Call `call` until it succeeds, fails for good, or `deadline_seconds` pass.

    Raises the last error when it is not retryable or when time runs out. Setting `stop`
    ends the waits between attempts early, but not the attempts themselves.
    """
    deadline = time.monotonic() + deadline_seconds
    attempt = 0
    while True:
        try:
            return call()
        except (ApiError, ClientError) as error:
            attempt += 1
            wait = backoff(attempt)
            if not is_retryable(error) or time.monotonic() + wait > deadline:
                raise
            logger.warning(
                "%s failed (attempt %d), retrying in %.1f s: %s", what, attempt, wait, error
            )
            stop.wait(wait)


class WorkerApi:
    """Calls of one worker id; run ids and the worker id are sent as URL path segments."""

    def __init__(self, client: OzClient, worker_id: str) -> None:
        self._client = client
        self.worker_id = worker_id
        self._prefix = f"/workers/{quote(worker_id, safe='')}"

    def claim(self) -> dict[str, Any] | None:
        """Claim and start a run; None when no run is queued for this worker."""
        assignment: dict[str, Any] | None = self._client.request("POST", f"{self._prefix}/claim")
        return assignment

    def heartbeat(self, run_id: str) -> str:
        """Send a heartbeat; return the run's state."""
        reply = self._client.request("POST", f"{self._run(run_id)}/heartbeat")
        return str(reply["state"])

    def usage(self, run_id: str, report_id: str, inference: float, compute: float) -> bool:
        """Report usage; return False when the run already ended and nothing was charged."""
        body = {"report_id": report_id, "inference_cost": inference, "compute_cost": compute}
        reply = self._client.request("POST", f"{self._run(run_id)}/usage", body=body)
        return bool(reply["recorded"])

    def report(self, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Report how the run ended; the reply's `recorded` is false when it had already ended."""
        reply: dict[str, Any] = self._client.request(
            "POST", f"{self._run(run_id)}/report", body=body
        )
        return reply

    def _run(self, run_id: str) -> str:
        return f"{self._prefix}/runs/{quote(run_id, safe='')}"

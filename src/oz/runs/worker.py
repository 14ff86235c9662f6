"""The embedded worker: threads inside `ozd serve` that claim queued runs and run them."""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import update

from oz.billing.plans import PlanCatalog
from oz.billing.reload import Reload, Reloader
from oz.clock import utcnow
from oz.db.engine import Database
from oz.db.models import Run
from oz.github.client import DEFAULT_WEB_URL, GitHubClient
from oz.github.context import GitHubContext
from oz.github.credentials import RunCredentials
from oz.github.identity import GitHubLinks
from oz.harness.runner import HarnessOutcome, HarnessSpec
from oz.runs import execution, states
from oz.runs.environments import RunEnvironment
from oz.runs.execute import execute_in
from oz.runs.funding import fund_usage
from oz.runs.starting import start_claimed
from oz.runs.usage_feed import USAGE_FILE_VARIABLE, UsageFeed

logger = logging.getLogger("oz.worker")

IDLE_POLL_SECONDS = 0.5
CANCEL_CHECK_SECONDS = 1.0


def embedded_worker_id() -> str:
    return f"embedded-{socket.gethostname()}"


class EmbeddedWorker:
    """Claim queued runs and execute them with the configured harness.

    Claims are conditional updates, so any number of workers, embedded or not, never
    execute one run twice.
    """

    def __init__(
        self,
        database: Database,
        harness: HarnessSpec,
        *,
        catalog: PlanCatalog,
        github: GitHubContext | None = None,
        secret: bytes = b"",
        reloader: Reloader | None = None,
        concurrency: int,
        timeout_seconds: float,
        workdir: Path | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.worker_id = worker_id or embedded_worker_id()
        self._database = database
        self._catalog = catalog
        self._secret = secret
        self._github = github or GitHubContext(
            GitHubClient(), None, GitHubLinks(DEFAULT_WEB_URL, secret)
        )
        self._reloader = reloader
        self._harness = harness
        self._concurrency = concurrency
        self._timeout_seconds = timeout_seconds
        self._workdir = workdir
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._recover_abandoned_runs()
        for index in range(self._concurrency):
            thread = threading.Thread(target=self._loop, name=f"oz-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("worker %s started with %d slots", self.worker_id, self._concurrency)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        logger.info("worker %s stopped", self.worker_id)

    def _recover_abandoned_runs(self) -> None:
        """End runs this worker held when it last stopped: their harness is gone.

        Two servers on one host sharing a database need distinct `OZ_WORKER_ID`s, or each
        would end the other's runs at start.
        """
        now = utcnow()
        with self._database.transaction() as session:
            result = session.execute(
                update(Run)
                .where(Run.claimed_by == self.worker_id)
                .where(Run.state.in_((states.CLAIMED, states.INPROGRESS)))
                .values(
                    state=states.ERROR,
                    status_message={
                        "message": "the worker restarted while the run was in progress",
                        "error_code": "internal_error",
                        "retryable": True,
                    },
                    updated_at=now,
                    ended_at=now,
                )
            )
        count = result.rowcount  # type: ignore[attr-defined]
        if count:
            logger.warning("worker %s ended %d runs abandoned by a restart", self.worker_id, count)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:
                logger.exception("worker %s failed to process a run", self.worker_id)
                worked = False
            if not worked:
                self._stop.wait(IDLE_POLL_SECONDS)

    def run_once(self) -> bool:
        """Claim and execute one run; return False when none was queued."""
        with self._database.transaction() as session:
            run = execution.claim_next(session, self.worker_id)
            if run is None:
                return False
            uid = run.uid
        started = start_claimed(
            self._database, self._catalog, self._github, self._secret, uid, self.worker_id
        )
        if started is None:
            return True

        outcome = self._execute(uid, started.prompt, started.environment, started.credentials)
        result = execution.RunResult(
            state=outcome.state,
            status_message=outcome.status_message,
            output=outcome.output,
        )
        if outcome.state == states.CANCELLED and self._stop.is_set():
            result = execution.RunResult(
                state=states.ERROR,
                status_message={
                    "message": "the server stopped while the run was in progress",
                    "error_code": "internal_error",
                    "retryable": True,
                },
                output=outcome.output,
            )
        # The harness reported its usage through the usage feed as it worked, so the
        # final result carries none and its charge cannot fall short.
        with self._database.transaction() as session:
            recorded = execution.complete(session, self._catalog, uid, self.worker_id, result)
        logger.info(
            "worker %s finished run %s: %s in %.1f s%s",
            self.worker_id,
            uid,
            outcome.state,
            outcome.seconds,
            "" if recorded else " (already ended)",
        )
        return True

    def _execute(
        self, uid: str, prompt: str, environment: RunEnvironment, credentials: RunCredentials
    ) -> HarnessOutcome:
        last_check = [time.monotonic()]
        with tempfile.TemporaryDirectory(prefix=f"oz-usage-{uid[:8]}-") as usage_dir:
            feed = UsageFeed(Path(usage_dir) / "usage.jsonl", uid)
            extra_env = {
                **credentials.environment(self._github.github_url),
                USAGE_FILE_VARIABLE: str(feed.path),
            }

            def should_cancel() -> bool:
                if self._stop.is_set():
                    return True
                if time.monotonic() - last_check[0] < CANCEL_CHECK_SECONDS:
                    return False
                last_check[0] = time.monotonic()
                self._charge_reported_usage(uid, feed)
                with self._database.read() as session:
                    return execution.current_state(session, uid) in states.TERMINAL_STATES

            def run_in(workdir: Path) -> HarnessOutcome:
                return execute_in(
                    workdir,
                    harness=self._harness,
                    prompt=prompt,
                    environment=environment,
                    credentials=credentials,
                    github_url=self._github.github_url,
                    timeout_seconds=self._timeout_seconds,
                    extra_env=extra_env,
                    should_cancel=should_cancel,
                )

            fresh = environment.uid is not None or self._workdir is None
            if fresh:
                with tempfile.TemporaryDirectory(
                    prefix=f"oz-run-{uid[:8]}-", dir=self._workdir
                ) as workdir:
                    outcome = run_in(Path(workdir))
            else:
                assert self._workdir is not None
                outcome = run_in(self._workdir)
            self._charge_reported_usage(uid, feed)
        return outcome

    def _charge_reported_usage(self, uid: str, feed: UsageFeed) -> None:
        """Charge the usage lines the harness wrote since the last call.

        Each charge may first reload the payer; after the lines, a reload keeps the
        payer's add-ons above the team's threshold.
        """
        lines = feed.read_new()
        for line in lines:
            result = execution.RunResult(
                state=states.SUCCEEDED,
                inference_cost=line.inference_cost,
                compute_cost=line.compute_cost,
            )
            credits = line.inference_cost + line.compute_cost
            reload = fund_usage(self._database, self._reloader, uid, credits)
            with self._database.transaction() as session:
                charge = execution.report_executor_usage(
                    session,
                    self._catalog,
                    uid,
                    self.worker_id,
                    line.report_id,
                    result,
                    capped=reload is Reload.CAPPED,
                )
            if charge is None:
                return
        if lines:
            fund_usage(self._database, self._reloader, uid, 0)

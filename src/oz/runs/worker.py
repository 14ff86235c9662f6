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
from oz.errors import OzError, ResourceUnavailable
from oz.github.client import DEFAULT_WEB_URL, GitHubClient
from oz.github.context import GitHubContext
from oz.github.credentials import RunCredentials, obtain, status_message
from oz.github.identity import GitHubLinks, IdentityPlan, plan_identity
from oz.harness.runner import HarnessOutcome, HarnessSpec, child_environment, run_harness
from oz.runs import execution, states
from oz.runs.environments import RunEnvironment, environment_id_of, run_environment
from oz.runs.funding import fund_usage
from oz.runs.usage_feed import USAGE_FILE_VARIABLE, UsageFeed
from oz.runs.workspace import SetupCancelled, prepare

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
            uid, prompt = run.uid, run.prompt
        with self._database.transaction() as session:
            if not execution.mark_started(session, uid, self.worker_id):
                return True
            run = session.get(Run, uid)
            assert run is not None
            try:
                environment = run_environment(
                    session,
                    run.team_uid,
                    environment_id_of(session, run.agent_config, run.creator_agent_uid),
                    at_start=True,
                )
                plan: IdentityPlan | None = plan_identity(
                    session,
                    creator_type=run.creator_type,
                    user_uid=run.creator_user_uid,
                    team_uid=run.team_uid,
                    repos=environment.repos,
                    links=self._github.links,
                    now=utcnow(),
                )
                failure: OzError | None = None
            except OzError as error:
                plan, failure = None, error
        logger.info("worker %s started run %s", self.worker_id, uid)

        credentials = None
        if plan is not None:
            try:
                credentials = self._credentials(plan)
            except OzError as error:
                failure = error
        if failure is not None or credentials is None:
            assert failure is not None
            self._end_before_harness(uid, failure)
            return True
        with self._database.transaction() as session:
            execution.record_github_identity(session, uid, credentials.identity)

        outcome = self._execute(uid, prompt, environment, credentials)
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

    def _credentials(self, plan: IdentityPlan) -> RunCredentials:
        github = self._github
        return obtain(plan, github.client, github.app, self._secret, github.links, utcnow())

    def _end_before_harness(self, uid: str, failure: OzError) -> None:
        """End a run whose environment or GitHub identity could not be set up."""
        state = states.ERROR if isinstance(failure, ResourceUnavailable) else states.FAILED
        result = execution.RunResult(state=state, status_message=status_message(failure))
        with self._database.transaction() as session:
            execution.complete(session, self._catalog, uid, self.worker_id, result)
        logger.info("worker %s ended run %s before its harness: %s", self.worker_id, uid, failure)

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
                started = time.monotonic()
                try:
                    prepare(
                        workdir,
                        repos=environment.repos,
                        setup_commands=environment.setup_commands,
                        github_url=self._github.github_url,
                        env=child_environment(extra_env),
                        deadline=started + self._timeout_seconds,
                        should_cancel=should_cancel,
                    )
                except SetupCancelled:
                    cancelled = {"message": "Cancelled while its environment was set up"}
                    return HarnessOutcome(states.CANCELLED, cancelled, "", 0.0)
                except OzError as error:
                    failure = status_message(error)
                    return HarnessOutcome(states.FAILED, failure, "", 0.0)
                return run_harness(
                    self._harness,
                    prompt,
                    workdir,
                    timeout_seconds=max(1.0, self._timeout_seconds - (time.monotonic() - started)),
                    should_cancel=should_cancel,
                    extra_env=extra_env,
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
        return HarnessOutcome(
            outcome.state,
            {
                key: credentials.scrub(value) if isinstance(value, str) else value
                for key, value in outcome.status_message.items()
            },
            credentials.scrub(outcome.output),
            outcome.seconds,
        )

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

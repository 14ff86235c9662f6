"""The `oz worker` process: claim runs over the REST API and execute them here.

Each run executes in a thread of its own, in a fresh working directory, with the harness
and workspace code of the embedded worker. A reporter thread per run sends heartbeats and
the usage the harness writes to its usage feed. A heartbeat that returns an ended state
(cancelled, or swept by the server) stops the harness.

On SIGTERM or SIGINT the worker stops claiming and lets its runs finish for
`grace_seconds`; a second signal ends that wait at once. It then stops the harnesses
left and reports those runs ERROR with "the worker <id> stopped". They are not queued
again.
"""

from __future__ import annotations

import logging
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oz.client.http import ApiError, ClientError
from oz.github.credentials import RunCredentials
from oz.harness.runner import HarnessOutcome, HarnessSpec
from oz.runs import states
from oz.runs.environments import RunEnvironment
from oz.runs.execute import execute_in
from oz.runs.usage_feed import USAGE_FILE_VARIABLE, UsageFeed, UsageLine
from oz.worker.api import WorkerApi, backoff, is_retryable, retrying

logger = logging.getLogger("oz.worker")

# How long a run's last usage and final report are retried while the server is away.
# NOTE: a server away for longer loses that run's report; the sweep then ends it ERROR.
FINAL_REPORT_RETRY_SECONDS = 600.0
JOIN_POLL_SECONDS = 0.2


class WorkerStopped(Exception):
    """The server rejected the worker for good, such as for a personal key."""


@dataclass(frozen=True)
class WorkerOptions:
    worker_id: str
    harness: HarnessSpec
    max_concurrent_tasks: int = 1
    one_shot: bool = False
    grace_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    poll_seconds: float = 2.0
    workdir: Path | None = None


@dataclass(frozen=True)
class Assignment:
    """A claimed run with what its harness needs; `repr` hides the tokens."""

    uid: str
    prompt: str
    environment: RunEnvironment
    credentials: RunCredentials
    github_url: str
    timeout_seconds: float

    @classmethod
    def from_claim(cls, body: dict[str, Any]) -> Assignment:
        environment = body["environment"]
        github = body["github"]
        author = github.get("author")
        return cls(
            uid=body["run"]["run_id"],
            prompt=body["run"]["prompt"],
            environment=RunEnvironment(
                environment.get("uid"),
                tuple(environment.get("repos", ())),
                tuple(environment.get("setup_commands", ())),
            ),
            credentials=RunCredentials(
                github.get("identity") or {"type": "none"},
                dict(github.get("tokens") or {}),
                (author[0], author[1]) if author else None,
                github.get("refusal") or "",
            ),
            github_url=github["github_url"],
            timeout_seconds=float(body["timeout_seconds"]),
        )


class RemoteWorker:
    """Claim runs for one worker id and execute up to `max_concurrent_tasks` at once."""

    def __init__(self, api: WorkerApi, options: WorkerOptions) -> None:
        self._api = api
        self._options = options
        self._stopping = threading.Event()  # stop claiming
        self._hand_back = threading.Event()  # stop the harnesses still running
        self._threads: list[threading.Thread] = []
        self._end_states: list[str] = []

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if self._stopping.is_set():
            logger.warning(
                "worker %s received %s again: stopping the runs still running now",
                self._options.worker_id,
                name,
            )
            self._hand_back.set()
            return
        logger.info(
            "worker %s received %s: no new claims; running runs get %g s to finish"
            " (signal again to stop them now)",
            self._options.worker_id,
            name,
            self._options.grace_seconds,
        )
        self._stopping.set()

    def stop(self) -> None:
        """Stop claiming, as SIGTERM does."""
        self._stopping.set()

    def run(self) -> int:
        """Claim and execute runs until stopped; return the exit status.

        With `one_shot`, the status is 0 when the one run SUCCEEDED or none was queued,
        and 1 otherwise.
        """
        options = self._options
        logger.info(
            "worker %s started: up to %d runs at once",
            options.worker_id,
            options.max_concurrent_tasks,
        )
        failures = 0
        while not self._stopping.is_set():
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            if (options.one_shot and self._end_states) or (options.one_shot and self._threads):
                break
            if len(self._threads) >= options.max_concurrent_tasks:
                self._stopping.wait(JOIN_POLL_SECONDS)
                continue
            try:
                claimed = self._api.claim()
                failures = 0
            except (ApiError, ClientError) as error:
                if not is_retryable(error):
                    raise
                failures += 1
                wait = backoff(failures)
                logger.warning("claiming failed, retrying in %.1f s: %s", wait, error)
                self._stopping.wait(wait)
                continue
            if claimed is None:
                if options.one_shot:
                    logger.info("worker %s found no queued run", options.worker_id)
                    break
                self._stopping.wait(options.poll_seconds)
                continue
            self._start(Assignment.from_claim(claimed))

        self._finish_running()
        logger.info("worker %s stopped", options.worker_id)
        if options.one_shot:
            return 0 if all(state == states.SUCCEEDED for state in self._end_states) else 1
        return 0

    def _start(self, assignment: Assignment) -> None:
        thread = threading.Thread(
            target=self._execute_logged, args=(assignment,), name=f"oz-run-{assignment.uid[:8]}"
        )
        thread.start()
        self._threads.append(thread)
        logger.info("worker %s claimed run %s", self._options.worker_id, assignment.uid)

    def _finish_running(self) -> None:
        """Wait for the running runs; after a stop signal, for `grace_seconds` at most."""
        deadline: float | None = None
        while any(thread.is_alive() for thread in self._threads):
            if self._stopping.is_set() and deadline is None:
                deadline = time.monotonic() + self._options.grace_seconds
            if deadline is not None and time.monotonic() >= deadline:
                if not self._hand_back.is_set():
                    logger.warning("grace period over: stopping the runs still running")
                self._hand_back.set()
            for thread in self._threads:
                thread.join(JOIN_POLL_SECONDS)

    def _execute_logged(self, assignment: Assignment) -> None:
        try:
            self._execute(assignment)
        except Exception:
            logger.exception("worker failed to execute run %s", assignment.uid)
            self._end_states.append(states.ERROR)

    def _execute(self, assignment: Assignment) -> None:
        uid = assignment.uid
        ended = threading.Event()  # the server returned an ended state
        done = threading.Event()  # the harness exited
        with (
            tempfile.TemporaryDirectory(prefix=f"oz-usage-{uid[:8]}-") as usage_dir,
            tempfile.TemporaryDirectory(
                prefix=f"oz-run-{uid[:8]}-", dir=self._options.workdir
            ) as workdir,
        ):
            feed = UsageFeed(Path(usage_dir) / "usage.jsonl", uid)
            pending: list[UsageLine] = []
            reporter = threading.Thread(
                target=self._report_while_running,
                args=(uid, feed, pending, ended, done),
                name=f"oz-heartbeat-{uid[:8]}",
            )
            reporter.start()
            try:
                outcome = execute_in(
                    Path(workdir),
                    harness=self._options.harness,
                    prompt=assignment.prompt,
                    environment=assignment.environment,
                    credentials=assignment.credentials,
                    github_url=assignment.github_url,
                    timeout_seconds=assignment.timeout_seconds,
                    extra_env={
                        **assignment.credentials.environment(assignment.github_url),
                        USAGE_FILE_VARIABLE: str(feed.path),
                    },
                    should_cancel=lambda: ended.is_set() or self._hand_back.is_set(),
                )
            finally:
                done.set()
                reporter.join()
            pending.extend(feed.read_new())
            self._send_last_usage(uid, pending)
        self._send_report(uid, self._result(outcome, ended.is_set()))

    def _result(self, outcome: HarnessOutcome, ended: bool) -> dict[str, Any]:
        state, message = outcome.state, outcome.status_message
        if state == states.CANCELLED and self._hand_back.is_set() and not ended:
            state = states.ERROR
            message = {
                "message": f"the worker {self._options.worker_id} stopped",
                "error_code": "internal_error",
                "retryable": True,
            }
        return {"state": state, "status_message": message, "output": outcome.output}

    def _report_while_running(
        self,
        uid: str,
        feed: UsageFeed,
        pending: list[UsageLine],
        ended: threading.Event,
        done: threading.Event,
    ) -> None:
        """Send heartbeats and usage every `heartbeat_seconds` until the harness exits."""
        failures = 0
        while not done.wait(self._options.heartbeat_seconds):
            try:
                pending.extend(feed.read_new())
                while pending:
                    line = pending[0]
                    self._api.usage(uid, line.report_id, line.inference_cost, line.compute_cost)
                    pending.pop(0)
                state = self._api.heartbeat(uid)
            except (ApiError, ClientError) as error:
                if not is_retryable(error):
                    logger.error("run %s: the server rejected a heartbeat: %s", uid, error)
                    ended.set()
                    return
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    logger.warning("run %s: heartbeat %d failed: %s", uid, failures, error)
                continue
            failures = 0
            if state in states.TERMINAL_STATES:
                logger.info("run %s ended on the server (%s): stopping its harness", uid, state)
                ended.set()
                return

    def _send_last_usage(self, uid: str, pending: list[UsageLine]) -> None:
        for line in pending:
            try:
                recorded = retrying(
                    lambda line=line: self._api.usage(  # type: ignore[misc]
                        uid, line.report_id, line.inference_cost, line.compute_cost
                    ),
                    f"usage report {line.report_id} of run {uid}",
                    deadline_seconds=FINAL_REPORT_RETRY_SECONDS,
                    stop=threading.Event(),
                )
            except (ApiError, ClientError) as error:
                logger.error("run %s: usage report %s lost: %s", uid, line.report_id, error)
                return
            if not recorded:
                return

    def _send_report(self, uid: str, body: dict[str, Any]) -> None:
        try:
            reply = retrying(
                lambda: self._api.report(uid, body),
                f"final report of run {uid}",
                deadline_seconds=FINAL_REPORT_RETRY_SECONDS,
                stop=threading.Event(),
            )
        except (ApiError, ClientError) as error:
            logger.error("run %s: the final report was not accepted: %s", uid, error)
            self._end_states.append(states.ERROR)
            return
        self._end_states.append(reply["state"])
        logger.info(
            "worker %s finished run %s: %s%s",
            self._options.worker_id,
            uid,
            reply["state"],
            "" if reply.get("recorded") else " (it had already ended on the server)",
        )

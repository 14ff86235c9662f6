"""`oz worker` processes executing runs of real `ozd serve` servers without embedded workers."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oz.client.http import OzClient
from tests.e2e.conftest import ServerFactory, create_key, failure, unique
from tests.support.server import BIN, OzServer, clean_env

# The agent program of these tests. The prompt's first word picks what it does.
HARNESS_SCRIPT = """\
import json
import os
import sys
import time
from pathlib import Path

action, _, argument = os.environ["OZ_PROMPT"].partition(" ")
if action == "count":
    Path(f"{argument}-{os.getpid()}").write_text("executed")
if action == "nap":
    time.sleep(float(argument))
if action == "fail":
    sys.exit(3)
if action == "bill-then-sleep":
    with open(os.environ["OZ_USAGE_FILE"], "a") as usage:
        usage.write(json.dumps({"inference_cost": 2.5}) + "\\n")
    Path(argument).write_text(str(os.getpid()))
    time.sleep(60)
print(f"harness received: {os.environ['OZ_PROMPT']}")
"""

HEARTBEAT_TIMEOUT = "2"
REPLICA_SECRET = "worker-replica-secret-0123456789abcdef01"
WAIT_SECONDS = 60.0


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> str:
    script = tmp_path_factory.mktemp("worker-harness") / "agent.py"
    script.write_text(HARNESS_SCRIPT)
    return shlex.join([sys.executable, str(script)])


@pytest.fixture(scope="module")
def server(backend: str, server_factory: ServerFactory) -> OzServer:
    """A server whose runs only `oz worker` processes execute, with a 2 s heartbeat timeout."""
    return server_factory(backend, OZ_WORKER="off", OZ_WORKER_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT)


@pytest.fixture(scope="module")
def agent_key(server: OzServer) -> str:
    created = create_key(
        server, unique("worker"), "--no-expiration", "--agent", server.default_agent_uid
    )
    return str(created["raw_api_key"])


class Workers:
    """Start `oz worker` processes; stop the ones still running at the end of a test."""

    def __init__(self, harness: str, log_dir: Path) -> None:
        self._harness = harness
        self._log_dir = log_dir
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(
        self, server: OzServer, api_key: str, worker_id: str, *flags: str
    ) -> subprocess.Popen[bytes]:
        env = clean_env(
            WARP_API_KEY=api_key,
            WARP_SERVER_ROOT_URL=server.url,
            OZ_HARNESS="command",
            OZ_HARNESS_COMMAND=self._harness,
        )
        # Named ozd-*.log so the suite's check for leaked keys reads worker logs too.
        with (self._log_dir / f"ozd-worker-{worker_id}.log").open("ab") as log:
            process = subprocess.Popen(
                [
                    BIN / "oz",
                    "worker",
                    "--worker-id",
                    worker_id,
                    "--heartbeat-seconds",
                    "0.3",
                    "--poll-seconds",
                    "0.2",
                    *flags,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._processes.append(process)
        return process

    def log(self, worker_id: str) -> str:
        return (self._log_dir / f"ozd-worker-{worker_id}.log").read_text()

    def stop_all(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def workers(harness: str, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(harness, tmp_path)
    yield started
    started.stop_all()


def queue(server: OzServer, prompt: str, host: str | None = None) -> str:
    config = {"worker_host": host} if host else {}
    reply = OzClient(server.url, server.owner_key).request(
        "POST", "/agent/runs", body={"prompt": prompt, "config": config}
    )
    return str(reply["run_id"])


def get(server: OzServer, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = OzClient(server.url, server.owner_key).request(
        "GET", f"/agent/runs/{run_id}"
    )
    return run


def wait_for(check: Callable[[], bool], description: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {description}")


def wait_for_end(server: OzServer, run_id: str) -> dict[str, Any]:
    wait_for(lambda: get(server, run_id)["state"] in ENDED, f"run {run_id} to end")
    return get(server, run_id)


ENDED = ("SUCCEEDED", "FAILED", "ERROR", "CANCELLED")


def test_worker_executes_run_routed_to_it(
    server: OzServer, agent_key: str, workers: Workers
) -> None:
    result = server.oz(
        "--output-format",
        "json",
        "agent",
        "run-cloud",
        "-p",
        "hello there",
        "--host",
        "box-a",
        api_key=server.owner_key,
    )
    assert result.returncode == 0, failure(result)
    run_id = json.loads(result.stdout)["run_id"]
    worker = workers.start(server, agent_key, "box-a")

    run = wait_for_end(server, run_id)
    worker.send_signal(signal.SIGTERM)

    assert run["state"] == "SUCCEEDED"
    assert "harness received: hello there" in run["output"]
    assert worker.wait(timeout=15) == 0
    assert f"claimed run {run_id}" in workers.log("box-a")


def test_two_workers_execute_each_run_once(
    server: OzServer, agent_key: str, workers: Workers, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    run_ids = [queue(server, f"count {marks / str(index)}") for index in range(50)]

    for worker_id in ("box-race-1", "box-race-2"):
        workers.start(server, agent_key, worker_id, "--max-concurrent-tasks", "3")
    wait_for(
        lambda: all(get(server, run_id)["state"] in ENDED for run_id in run_ids),
        "50 runs to end",
    )

    states = {get(server, run_id)["state"] for run_id in run_ids}
    executions = sorted(path.name.split("-")[0] for path in marks.iterdir())
    claims = sum(
        workers.log(worker_id).count("claimed run") for worker_id in ("box-race-1", "box-race-2")
    )
    assert states == {"SUCCEEDED"}
    assert executions == sorted(str(index) for index in range(50))
    assert claims == 50


def kill_worker_after_usage(
    server: OzServer, key: str, workers: Workers, worker_id: str, tmp_path: Path
) -> str:
    """Route a run to a new worker, SIGKILL the worker and its harness once the run
    reported 2.5 credits of usage, and return the run's id."""
    pid_file = tmp_path / "harness.pid"
    run_id = queue(server, f"bill-then-sleep {pid_file}", worker_id)
    worker = workers.start(server, key, worker_id)
    wait_for(
        lambda: get(server, run_id)["request_usage"]["inference_cost"] == 2.5,
        "the usage report",
    )

    worker.kill()
    worker.wait()
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.killpg(int(pid_file.read_text()), signal.SIGKILL)
    return run_id


def test_killed_worker_run_ends_error_usage_charged_once(
    server: OzServer, agent_key: str, workers: Workers, tmp_path: Path
) -> None:
    run_id = kill_worker_after_usage(server, agent_key, workers, "box-kill", tmp_path)
    run = wait_for_end(server, run_id)

    assert run["state"] == "ERROR"
    assert run["status_message"]["message"].startswith(
        "the worker box-kill stopped sending heartbeats at "
    )
    assert run["request_usage"]["inference_cost"] == 2.5
    assert sum(pool["credits"] for pool in run["billing"]["pools"]) == 2.5


def test_two_replicas_end_a_silent_run_once(
    server_factory: ServerFactory,
    workers: Workers,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Both replicas of one PostgreSQL database sweep; exactly one ends the run."""
    sweeping = {"OZ_WORKER": "off", "OZ_WORKER_HEARTBEAT_TIMEOUT": HEARTBEAT_TIMEOUT}
    first = server_factory("postgresql", OZ_SECRET=REPLICA_SECRET, **sweeping)
    data_dir = tmp_path_factory.mktemp("replica")
    second = OzServer(data_dir, data_dir / "ozd-e2e-replica.log", first.database_url, first.env)
    second.serve()
    try:
        key = create_key(
            first, unique("worker"), "--no-expiration", "--agent", first.default_agent_uid
        )["raw_api_key"]
        run_id = kill_worker_after_usage(first, key, workers, "box-swept", tmp_path)
        run = wait_for_end(first, run_id)
        time.sleep(2 * float(HEARTBEAT_TIMEOUT))  # both replicas swept again since
    finally:
        second.stop()

    ended_by = [
        replica.log_path.read_text().count(f"run {run_id} ended ERROR")
        for replica in (first, second)
    ]
    assert sum(ended_by) == 1
    assert run["state"] == "ERROR"
    assert get(first, run_id)["status_message"] == run["status_message"]
    assert sum(pool["credits"] for pool in run["billing"]["pools"]) == 2.5


def test_sigterm_lets_short_run_finish(server: OzServer, agent_key: str, workers: Workers) -> None:
    run_id = queue(server, "nap 1", "box-grace")
    worker = workers.start(server, agent_key, "box-grace", "--grace-seconds", "20")
    wait_for(lambda: get(server, run_id)["state"] == "INPROGRESS", "the run to start")

    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=20) == 0
    assert get(server, run_id)["state"] == "SUCCEEDED"


def test_sigterm_after_grace_ends_run_error(
    server: OzServer, agent_key: str, workers: Workers
) -> None:
    run_id = queue(server, "nap 60", "box-stop")
    worker = workers.start(server, agent_key, "box-stop", "--grace-seconds", "0.5")
    wait_for(lambda: get(server, run_id)["state"] == "INPROGRESS", "the run to start")

    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=20) == 0
    run = get(server, run_id)
    assert run["state"] == "ERROR"
    assert run["status_message"]["message"] == "the worker box-stop stopped"


def test_second_signal_ends_grace_at_once(
    server: OzServer, agent_key: str, workers: Workers
) -> None:
    run_id = queue(server, "nap 60", "box-impatient")
    worker = workers.start(server, agent_key, "box-impatient", "--grace-seconds", "60")
    wait_for(lambda: get(server, run_id)["state"] == "INPROGRESS", "the run to start")

    worker.send_signal(signal.SIGTERM)
    wait_for(
        lambda: "signal again to stop them now" in workers.log("box-impatient"), "the first signal"
    )
    worker.send_signal(signal.SIGINT)

    assert worker.wait(timeout=20) == 0
    run = get(server, run_id)
    assert run["state"] == "ERROR"
    assert run["status_message"]["message"] == "the worker box-impatient stopped"


@pytest.mark.parametrize(
    ("prompt", "status", "state"),
    [
        ("hello", 0, "SUCCEEDED"),
        ("fail", 1, "ERROR"),
    ],
)
def test_one_shot_exit_status_follows_run(
    server: OzServer, agent_key: str, workers: Workers, prompt: str, status: int, state: str
) -> None:
    worker_id = unique("box-once")
    run_id = queue(server, prompt, worker_id)

    worker = workers.start(server, agent_key, worker_id, "--one-shot")

    assert worker.wait(timeout=30) == status
    assert get(server, run_id)["state"] == state


def test_one_shot_without_runs_exits_zero(
    server: OzServer, agent_key: str, workers: Workers
) -> None:
    worker = workers.start(server, agent_key, unique("box-idle"), "--one-shot")

    assert worker.wait(timeout=30) == 0


def test_worker_rejects_personal_key(server: OzServer) -> None:
    result = server.oz(
        "worker", "--worker-id", "box-personal", "--one-shot", api_key=server.owner_key
    )

    assert result.returncode == 4, failure(result)
    assert "agent key" in result.stderr


@pytest.mark.parametrize("worker_id", ["warp-1", "Warpy", "", "x" * 201])
def test_worker_rejects_bad_id(server: OzServer, agent_key: str, worker_id: str) -> None:
    result = server.oz("worker", "--worker-id", worker_id, api_key=agent_key)

    assert result.returncode == 2, failure(result)
    assert "--worker-id" in result.stderr


def test_worker_survives_server_restart(
    backend: str, server_factory: ServerFactory, workers: Workers
) -> None:
    server = server_factory(backend, OZ_WORKER="off", OZ_WORKER_HEARTBEAT_TIMEOUT="60")
    key = create_key(
        server, unique("worker"), "--no-expiration", "--agent", server.default_agent_uid
    )["raw_api_key"]
    running = queue(server, "nap 2", "box-restart")
    workers.start(server, key, "box-restart")
    wait_for(lambda: get(server, running)["state"] == "INPROGRESS", "the run to start")

    server.stop()
    time.sleep(3)  # the harness ends while the server is away, so its report waits
    server.restart()
    queued_later = queue(server, "hello again", "box-restart")

    assert wait_for_end(server, running)["state"] == "SUCCEEDED"
    assert wait_for_end(server, queued_later)["state"] == "SUCCEEDED"

"""The embedded worker: executes queued runs and ends the ones it abandoned."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from oz.billing.plans import PlanCatalog
from oz.db.models import Run
from oz.harness.runner import HarnessSpec
from oz.runs import execution, states
from oz.runs.service import RunRequest, create_run
from oz.runs.worker import EmbeddedWorker
from tests.support.world import World


def queue(world: World, prompt: str = "analyze this codebase") -> str:
    with world.database.transaction() as session:
        request = RunRequest(prompt=prompt, config={})
        return create_run(session, world.owner, request, PlanCatalog()).uid


def load(world: World, uid: str) -> Run:
    with world.database.read() as session:
        run = session.get(Run, uid)
        assert run is not None
        return run


def test_worker_runs_builtin_harness_in_its_directory(world: World, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("print('hello')\n# TODO: tests\n")
    uid = queue(world)
    worker = EmbeddedWorker(
        world.database,
        HarnessSpec(),
        catalog=PlanCatalog(),
        concurrency=1,
        timeout_seconds=60,
        workdir=tmp_path,
    )

    assert worker.run_once()

    run = load(world, uid)
    assert run.state == states.SUCCEEDED
    assert run.claimed_by == worker.worker_id
    assert run.output is not None
    assert "Python: 2 lines in 1 file" in run.output
    assert run.started_at is not None
    assert run.ended_at is not None


def test_worker_with_nothing_queued_returns_false(world: World) -> None:
    worker = EmbeddedWorker(
        world.database, HarnessSpec(), catalog=PlanCatalog(), concurrency=1, timeout_seconds=60
    )

    assert not worker.run_once()


def test_start_ends_runs_abandoned_by_a_restart(world: World) -> None:
    uid = queue(world)
    with world.database.transaction() as session:
        execution.claim_next(session, "embedded-test")
        execution.mark_started(session, uid, "embedded-test")
    worker = EmbeddedWorker(
        world.database,
        HarnessSpec(),
        catalog=PlanCatalog(),
        concurrency=1,
        timeout_seconds=60,
        worker_id="embedded-test",
    )

    worker.start()
    worker.stop()

    run = load(world, uid)
    assert run.state == states.ERROR
    assert run.status_message is not None
    assert run.status_message["message"] == "the worker restarted while the run was in progress"


def test_stopping_mid_run_ends_it_as_error(world: World, tmp_path: Path) -> None:
    uid = queue(world, prompt="wait")
    sleeper = HarnessSpec("command", (sys.executable, "-c", "import time; time.sleep(60)"))
    worker = EmbeddedWorker(
        world.database, sleeper, catalog=PlanCatalog(), concurrency=1, timeout_seconds=120
    )
    thread = threading.Thread(target=worker.run_once)
    thread.start()
    deadline = time.monotonic() + 30
    while load(world, uid).state != states.INPROGRESS and time.monotonic() < deadline:
        time.sleep(0.05)

    worker._stop.set()
    thread.join(timeout=30)

    run = load(world, uid)
    assert run.state == states.ERROR
    assert run.status_message is not None
    assert run.status_message["message"] == "the server stopped while the run was in progress"


USAGE_SCRIPT = """
import json, os, sys, time
path = os.environ["OZ_USAGE_FILE"]
for _ in range(int(sys.argv[1])):
    with open(path, "a") as usage:
        usage.write(json.dumps({"inference_cost": 10}) + "\\n")
    time.sleep(float(sys.argv[2]))
print("done")
"""


def usage_harness(tmp_path: Path, lines: int, pause: float) -> HarnessSpec:
    script = tmp_path / "agent.py"
    script.write_text(USAGE_SCRIPT)
    return HarnessSpec("command", (sys.executable, str(script), str(lines), str(pause)))


def charged_credits(world: World, uid: str) -> float:
    from sqlalchemy import func, select

    from oz.db.models import LedgerEntry

    with world.database.read() as session:
        total = session.scalar(
            select(func.sum(LedgerEntry.amount_milli)).where(LedgerEntry.run_uid == uid)
        )
    return -int(total or 0) / 1000


def test_harness_usage_is_charged_while_it_works(world: World, tmp_path: Path) -> None:
    catalog = PlanCatalog({"build": 100})
    with world.database.transaction() as session:
        uid = create_run(session, world.owner, RunRequest(prompt="x", config={}), catalog).uid
    worker = EmbeddedWorker(
        world.database,
        usage_harness(tmp_path, 3, 0.2),
        catalog=catalog,
        concurrency=1,
        timeout_seconds=60,
    )

    worker.run_once()

    assert load(world, uid).state == states.SUCCEEDED
    assert charged_credits(world, uid) == 30.0
    assert load(world, uid).inference_cost == 30.0


def test_running_dry_stops_the_harness(world: World, tmp_path: Path) -> None:
    catalog = PlanCatalog({"build": 25})
    with world.database.transaction() as session:
        uid = create_run(session, world.owner, RunRequest(prompt="x", config={}), catalog).uid
    worker = EmbeddedWorker(
        world.database,
        usage_harness(tmp_path, 20, 0.5),
        catalog=catalog,
        concurrency=1,
        timeout_seconds=60,
    )
    started = time.monotonic()

    worker.run_once()

    run = load(world, uid)
    assert run.state == states.FAILED
    assert run.status_message is not None
    assert run.status_message["error_code"] == "insufficient_credits"
    assert charged_credits(world, uid) == 25.0
    assert time.monotonic() - started < 8

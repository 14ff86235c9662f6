"""Concurrent usage reports: exact balances, never negative, each report charged once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from oz.billing.charges import charge_usage
from oz.billing.plans import PlanCatalog, to_milli
from oz.db.models import CreditLot, LedgerEntry, Run, UsageReport
from oz.runs import states
from oz.runs.service import RunRequest, create_run
from tests.conftest import Clock
from tests.support.world import World

CATALOG = PlanCatalog({"build": 100})


def test_twenty_runs_share_thirty_credits(world: World, frozen_clock: Clock) -> None:
    request = RunRequest(prompt="work", config={}, execution_location=states.LOCAL)
    with world.database.transaction() as session:
        runs = [create_run(session, world.owner, request, CATALOG) for _ in range(21)]
        setup, racers = runs[0], runs[1:]
        charge_usage(session, CATALOG, setup, "setup", to_milli(70), frozen_clock.now)
    charged: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(40)

    def report(run_uid: str) -> None:
        barrier.wait(timeout=30)
        with world.database.transaction() as session:
            run = session.get(Run, run_uid)
            assert run is not None
            result = charge_usage(session, CATALOG, run, "tick", to_milli(2), frozen_clock.now)
        with lock:
            charged.append(result.charged_milli if not result.repeated else 0)

    # Every run reports twice at once, as a retry racing the original would.
    threads = [threading.Thread(target=report, args=(run.uid,)) for run in racers for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    with world.database.read() as session:
        remaining = session.scalar(
            select(CreditLot.remaining_milli).where(CreditLot.owner_uid == world.owner.uid)
        )
        debited = session.scalar(select(func.sum(LedgerEntry.amount_milli)))
        reports = session.scalar(select(func.count()).select_from(UsageReport))
        recorded = session.scalar(select(func.sum(UsageReport.charged_milli)))
    assert len(charged) == 40
    assert sum(charged) == 30_000
    assert remaining == 0
    assert debited == -100_000
    assert reports == 21
    assert recorded == 100_000

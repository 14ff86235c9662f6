"""Measure ledger debits per second on PostgreSQL with 1, 8 and 32 concurrent writers.

Each debit is one transaction that charges a usage report of one thousandth of a credit
through `oz.billing.charges.charge_usage`: it records the report, locks the payer's lots
in waterfall order, debits one and appends a ledger entry. "one pool" has every writer
charge runs of one user, so they contend for the same lots; "separate pools" gives each
writer its own user and team. Rates are compared with the single writer of the same run.

Usage: .venv/bin/python bench/ledger/run.py [--seconds 5] [--admin-url URL]
"""

from __future__ import annotations

import argparse
import json
import platform
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from oz.billing.charges import charge_usage, grant
from oz.billing.plans import PlanCatalog
from oz.clock import utcnow
from oz.db.engine import Database, migrate
from oz.identity.teams import create_team, create_user
from oz.principal import Principal
from oz.runs import states
from oz.runs.service import RunRequest, create_run

CATALOG = PlanCatalog({"build": 0})
LEVELS = (1, 8, 32)
RESULTS = Path(__file__).parent / "results"


def prepare_payers(database: Database, count: int) -> list[Principal]:
    """Create `count` users, each owning a team, with a large add-on lot each."""
    payers = []
    with database.transaction() as session:
        for index in range(count):
            user = create_user(session, f"writer{index}-{uuid.uuid4().hex[:6]}@bench.invalid")
            create_team(session, f"bench {index}", user)
            grant(
                session,
                utcnow(),
                owner_type="user",
                owner_uid=user.uid,
                credits_milli=10**12,
                reason="grant",
            )
            payers.append(Principal("user", user.uid, user.display_name, user.email))
    return payers


def start_runs(database: Database, payers: list[Principal]) -> list[str]:
    request = RunRequest(prompt="bench", config={}, execution_location=states.LOCAL)
    with database.transaction() as session:
        return [create_run(session, payer, request, CATALOG).uid for payer in payers]


def measure(database: Database, run_uids: list[str], seconds: float) -> float:
    """Debit concurrently, one writer per run, for `seconds`; return debits per second."""
    counts = [0] * len(run_uids)
    barrier = threading.Barrier(len(run_uids) + 1)
    stop = threading.Event()

    def writer(index: int, run_uid: str) -> None:
        from oz.db.models import Run

        barrier.wait()
        while not stop.is_set():
            with database.transaction() as session:
                run = session.get(Run, run_uid)
                assert run is not None
                charge_usage(session, CATALOG, run, uuid.uuid4().hex, 1, utcnow())
            counts[index] += 1

    threads = [
        threading.Thread(target=writer, args=(index, uid)) for index, uid in enumerate(run_uids)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each level")
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL server to create the throwaway database on",
    )
    args = parser.parse_args()

    name = f"oz_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = args.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    database = Database(f"{base}/{name}", pool_size=max(LEVELS) + 4)
    try:
        migrate(database)
        shared = prepare_payers(database, 1)
        separate = prepare_payers(database, max(LEVELS))
        rows = []
        for mode in ("one pool", "separate pools"):
            for level in LEVELS:
                payers = shared * level if mode == "one pool" else separate[:level]
                rate = measure(database, start_runs(database, payers), args.seconds)
                rows.append({"mode": mode, "writers": level, "debits_per_second": round(rate, 1)})
                print(f"{mode:15s} {level:3d} writers: {rate:9.1f} debits/s", flush=True)
    finally:
        database.dispose()
        with psycopg.connect(args.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    for row in rows:
        single = next(
            other["debits_per_second"]
            for other in rows
            if other["mode"] == row["mode"] and other["writers"] == 1
        )
        row["ratio_to_one_writer"] = round(row["debits_per_second"] / single, 2)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    document = {
        "date": stamp,
        "python": platform.python_version(),
        "seconds_per_level": args.seconds,
        "rows": rows,
    }
    (RESULTS / f"{stamp}.json").write_text(json.dumps(document, indent=2) + "\n")
    for row in rows:
        print(
            f"{row['mode']:15s} {row['writers']:3d}: {row['ratio_to_one_writer']:.2f}x one writer"
        )


if __name__ == "__main__":
    main()

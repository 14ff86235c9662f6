"""Count requests that two PostgreSQL replicas accept with a key after its delete returned.

Two `ozd serve` replicas share one throwaway PostgreSQL database and OZ_SECRET. By
default each has its own data directory, as on two hosts; `--shared-data-dir` gives them
one, as two processes on one host. Async clients send `GET /api/v1/me` with one key,
alternating between the replicas, and timestamp each request's start and end with
`time.monotonic()`. After `--before` seconds the key is deleted through replica A's
API (`DELETE /api/v1/api-keys/{uid}`), and the load goes on for `--after` seconds.
A request counts as accepted after revocation when it started after the delete
returned and got a 200. The goal is zero.

Usage: .venv/bin/python bench/auth/revocation.py [--shared-data-dir] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import run
import servers


@dataclass(frozen=True)
class Sample:
    replica: str
    started: float
    ended: float
    status: int


async def drive(
    clients: dict[str, httpx.AsyncClient], key: str, deadline: float, samples: list[Sample]
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    names = list(clients)
    turn = len(samples) % len(names)
    while time.monotonic() < deadline:
        name = names[turn % len(names)]
        turn += 1
        started = time.monotonic()
        try:
            response = await clients[name].get("/api/v1/me", headers=headers)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        samples.append(Sample(name, started, time.monotonic(), status))


async def measure(urls: dict[str, str], owner_key: str, args: argparse.Namespace) -> dict[str, Any]:
    owner = {"Authorization": f"Bearer {owner_key}"}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    clients = {
        name: httpx.AsyncClient(base_url=url, limits=limits, timeout=10, trust_env=False)
        for name, url in urls.items()
    }
    try:
        created = await clients["A"].post(
            "/api/v1/api-keys", json={"name": "victim", "expires_in": "never"}, headers=owner
        )
        created.raise_for_status()
        key, key_uid = created.json()["raw_api_key"], created.json()["api_key"]["uid"]

        samples: list[Sample] = []
        deadline = time.monotonic() + args.before + args.after
        load = [
            asyncio.create_task(drive(clients, key, deadline, samples)) for _ in range(args.clients)
        ]
        await asyncio.sleep(args.before)
        delete_started = time.monotonic()
        deleted = await clients["A"].delete(f"/api/v1/api-keys/{key_uid}", headers=owner)
        delete_returned = time.monotonic()
        deleted.raise_for_status()
        await asyncio.gather(*load)
    finally:
        for client in clients.values():
            await client.aclose()

    after = [sample for sample in samples if sample.started > delete_returned]
    accepted = [sample for sample in after if sample.status == 200]
    return {
        "requests": len(samples),
        "accepted_before_delete": sum(
            1 for s in samples if s.ended < delete_started and s.status == 200
        ),
        "delete_ms": round((delete_returned - delete_started) * 1000, 2),
        "started_after_delete": len(after),
        "accepted_after_delete": {name: sum(s.replica == name for s in accepted) for name in urls},
        "rejected_after_delete": sum(1 for s in after if s.status == 401),
        "other_status_after_delete": sum(1 for s in after if s.status not in (200, 401)),
        "last_accepted_start_after_delete_ms": round(
            max((s.started - delete_returned for s in accepted), default=0.0) * 1000, 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent requests in flight")
    parser.add_argument("--before", type=float, default=3.0, help="seconds of load before delete")
    parser.add_argument("--after", type=float, default=5.0, help="seconds of load after delete")
    parser.add_argument("--shared-data-dir", action="store_true", help="one data dir for both")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    started_at = datetime.now(UTC)
    running: list[servers.Server] = []
    with (
        tempfile.TemporaryDirectory(prefix="oz-bench-revocation-") as directory,
        run.postgres_database(args.admin_url) as database_url,
    ):
        work_dir = Path(directory)
        env = servers.clean_env(OZ_DATABASE_URL=database_url, OZ_SECRET=os.urandom(32).hex())
        owner = servers.oz_init(work_dir / "replica-a", env)
        try:
            for name in ("A", "B"):
                data_dir = work_dir / ("replica-a" if args.shared_data_dir else f"replica-{name}")
                data_dir.mkdir(exist_ok=True)
                # Each replica needs its own port file when they share a data directory.
                replica_env = dict(env)
                running.append(servers.oz_serve(f"ozd replica {name}", data_dir, replica_env))
                (data_dir / "port").rename(data_dir / f"port-{name}")
            urls = {name: server.url for name, server in zip("AB", running, strict=True)}
            result = asyncio.run(measure(urls, owner["raw_api_key"], args))
        finally:
            for server in running:
                server.stop()

    report = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "data_directories": "shared" if args.shared_data_dir else "one per replica",
        "settings": {key: value for key, value in vars(args).items() if key != "admin_url"},
        **result,
    }
    print(json.dumps(report, indent=2))
    run.RESULTS.mkdir(exist_ok=True)
    path = run.RESULTS / f"{started_at:%Y-%m-%dT%H%M%SZ}-revocation.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"results: {path}")


if __name__ == "__main__":
    main()

"""Measure authenticated against unauthenticated throughput of oz and two comparison apps.

Each configuration is seeded with `--keys` API keys, then driven by wrk in `--rounds`
rounds of `--seconds` per endpoint: `GET /healthz` (no credential), then `GET /api/v1/me`,
whose requests rotate through the first `--keys-used` keys (warmed up with one request
each first). Each endpoint's median round is reported.

- oz-sqlite: one `ozd serve` on its own SQLite data directory.
- oz-postgres-2: two `ozd serve` replicas on one PostgreSQL database, each with its own
  data directory and the same OZ_SECRET, as on two hosts; one wrk per replica at once.
- drf: Django REST Framework with djangorestframework-api-key on SQLite, gunicorn.
- keyshield: FastAPI with keyshield on SQLite, uvicorn.

Usage: .venv/bin/python bench/auth/run.py [--configs oz-sqlite,drf] [--seconds 10]
Results go to bench/auth/results/<UTC time>-throughput.json and to standard output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import load
import psycopg
import servers

CONFIGS = ("oz-sqlite", "oz-postgres-2", "drf", "keyshield")
RESULTS = Path(__file__).resolve().parent / "results"
# Authenticated throughput must be at least this fraction of unauthenticated throughput.
GOAL_RATIO = 0.9


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Create a throwaway database and yield its SQLAlchemy URL; drop it afterwards."""
    name = f"oz_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def started(config: str, work_dir: Path, args: argparse.Namespace) -> Iterator[list[str]]:
    """Start the servers of `config`, seeded with keys, and yield their base URLs.

    The raw keys to send are written to `work_dir / "keys"`, one header value a line.
    """
    keys_file = work_dir / "keys"
    running: list[servers.Server] = []
    try:
        if config == "oz-sqlite":
            env = servers.clean_env(OZ_DATA_DIR=str(work_dir / "oz"))
            owner = servers.oz_init(work_dir / "oz", env)
            servers.oz_seed_keys(env, owner, args.keys, keys_file)
            running.append(servers.oz_serve("ozd", work_dir / "oz", env))
            yield [server.url for server in running]
        elif config == "oz-postgres-2":
            with postgres_database(args.admin_url) as database_url:
                secret = os.urandom(32).hex()
                env = servers.clean_env(OZ_DATABASE_URL=database_url, OZ_SECRET=secret)
                owner = servers.oz_init(work_dir / "replica-a", env)
                servers.oz_seed_keys(env, owner, args.keys, keys_file)
                for replica in ("replica-a", "replica-b"):
                    (work_dir / replica).mkdir(exist_ok=True)
                    running.append(servers.oz_serve(f"ozd {replica}", work_dir / replica, env))
                yield [server.url for server in running]
        elif config == "drf":
            running.append(servers.drf_seed_and_serve(work_dir, args.keys, keys_file))
            yield [server.url for server in running]
        elif config == "keyshield":
            server = servers.keyshield_seed_and_serve(
                work_dir, args.keys, args.keyshield_keys_used, keys_file
            )
            running.append(server)
            yield [server.url]
        else:
            raise ValueError(f"unknown configuration {config!r}; choose from {', '.join(CONFIGS)}")
    finally:
        for server in running:
            server.stop()


def measure(config: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"oz-bench-{config}-") as directory:
        work_dir = Path(directory)
        with started(config, work_dir, args) as urls:
            keys_used = args.keyshield_keys_used if config == "keyshield" else args.keys_used
            header_values = (work_dir / "keys").read_text(encoding="utf-8").splitlines()[:keys_used]
            used_file = work_dir / "keys-used"
            used_file.write_text("".join(f"{value}\n" for value in header_values), encoding="utf-8")
            for url in urls:
                load.warm_up(url, "/api/v1/me", header_values)
            # Alternate the endpoints, so load from elsewhere that comes and goes shifts
            # both; each endpoint's median round is reported.
            rounds = []
            for _ in range(args.rounds):
                health = load.run_load(urls, "/healthz", args.seconds, args.connections, None)
                me = load.run_load(urls, "/api/v1/me", args.seconds, args.connections, used_file)
                rounds.append((health, me))
    health = median_round([health for health, _ in rounds])
    me = median_round([me for _, me in rounds])
    row = {
        "config": config,
        "servers": len(urls),
        "keys": args.keys,
        "distinct_keys_sent": min(len(header_values), me.requests),
        "healthz": summarize(health),
        "me": summarize(me),
        "ratio": round(me.rate / health.rate, 3),
        "rounds": [
            {"healthz": round(health.rate, 1), "me": round(me.rate, 1)} for health, me in rounds
        ],
        "failed": sum(health.failed + me.failed for health, me in rounds),
    }
    print(format_row(row), flush=True)
    return row


def median_round(results: list[load.LoadResult]) -> load.LoadResult:
    return sorted(results, key=lambda result: result.rate)[len(results) // 2]


def summarize(result: load.LoadResult) -> dict[str, Any]:
    return {
        "requests": result.requests,
        "requests_per_second": round(result.rate, 1),
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "failed": result.failed,
    }


def format_row(row: dict[str, Any]) -> str:
    health, me = row["healthz"], row["me"]
    failures = f"  FAILED REQUESTS {row['failed']} in all rounds"
    return (
        f"{row['config']:14s} healthz {health['requests_per_second']:8.1f}/s"
        f" p50 {health['p50_ms']:6.2f} p99 {health['p99_ms']:7.2f} ms |"
        f" me {me['requests_per_second']:8.1f}/s p50 {me['p50_ms']:6.2f} p99 {me['p99_ms']:7.2f} ms"
        f" | ratio {row['ratio']:.2f} | {row['distinct_keys_sent']} keys sent of {row['keys']}"
        + (failures if row["failed"] else "")
    )


def machine() -> dict[str, Any]:
    model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    names = [line.split(":", 1)[1].strip() for line in model.splitlines() if "Model name" in line]
    wrk = "not installed"
    if shutil.which("wrk"):
        output = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        wrk = (output.stdout or output.stderr).splitlines()[0]
    return {
        "nproc": os.cpu_count(),
        "cpu": names[0] if names else "unknown",
        "python": platform.python_version(),
        "wrk": wrk,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help=f"comma-separated, from {', '.join(CONFIGS)} (default: all)",
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="wrk duration per endpoint and round"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both endpoints")
    parser.add_argument("--connections", type=int, default=32, help="open connections in all")
    parser.add_argument("--keys", type=int, default=10_000, help="keys created per configuration")
    parser.add_argument(
        "--keys-used", type=int, default=1_000, help="distinct keys /api/v1/me rotates through"
    )
    parser.add_argument(
        "--keyshield-keys-used",
        type=int,
        default=200,
        help="distinct keys for keyshield, each created and first verified with Argon2 (~0.1 s)",
    )
    parser.add_argument(
        "--admin-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL server to create the throwaway database on",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: run bench/auth/run, which installs it")

    configs = args.configs.split(",")
    unknown = [config for config in configs if config not in CONFIGS]
    if unknown:
        parser.error(f"unknown --configs {', '.join(unknown)}: choose from {', '.join(CONFIGS)}")

    started_at = datetime.now(UTC)
    rows = [measure(config, args) for config in configs]
    settings = {key: value for key, value in vars(args).items() if key != "admin_url"}
    write_report(
        "throughput",
        started_at,
        {"settings": settings, "goal_ratio": GOAL_RATIO, "results": rows},
    )


def write_report(part: str, started_at: datetime, fields: dict[str, Any]) -> Path:
    """Write `results/<UTC time>-<part>.json` with the commit and the machine, and print it."""
    report = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "machine": machine(),
        **fields,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started_at:%Y-%m-%dT%H%M%SZ}-{part}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"results: {path}")
    return path


if __name__ == "__main__":
    main()

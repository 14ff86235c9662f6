"""Time `KeyVerifier.verify` per call in-process: cache hit against the database path.

For SQLite and PostgreSQL in turn, a throwaway database gets an owner and 10,000 keys.
"cache hit" verifies one key again and again with the default 60 s cache; "database"
verifies keys in rotation with the cache off (`cache_seconds=0`), so every call runs the
lookup query. "event loop" is the server's path: `KeyVerifier.authenticate` from
`CONCURRENCY` tasks at once on cached keys, where PostgreSQL shares each revocation-epoch
read among the requests waiting for it; it reports wall time per call and the epoch reads.
No last-use recorder is attached, so only verification is timed.

Usage: .venv/bin/python bench/auth/verify.py [--keys 10000] [--admin-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import run
import servers

from oz.auth.verifier import KeyVerifier
from oz.bootstrap import initialize
from oz.config import Settings
from oz.db.engine import Database

# A cache hit on PostgreSQL reads the revocation epoch, about 0.2 ms: 20,000 calls keep
# that part near 20 s.
HIT_CALLS = 20_000
LOOP_CALLS = 20_000
LOOP_KEYS = 1_000
CONCURRENCY = 32
DATABASE_CALLS = 1_000
REPEATS = 3


def per_call_us(statement: object, calls: int) -> float:
    """Return the best of `REPEATS` timings, in microseconds per call."""
    timings = timeit.repeat(statement, number=calls, repeat=REPEATS)  # type: ignore[arg-type]
    return min(timings) / calls * 1e6


def event_loop_us(verifier: KeyVerifier, tokens: list[str]) -> tuple[float, int]:
    """Return wall microseconds per `authenticate` call and the epoch reads it took."""
    headers = [f"Bearer {token}" for token in tokens]
    reads_before = verifier.epoch_reads

    async def client(offset: int) -> None:
        for index in range(LOOP_CALLS // CONCURRENCY):
            await verifier.authenticate(headers[(offset + index * CONCURRENCY) % len(headers)])

    async def all_clients() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(client(offset) for offset in range(CONCURRENCY)))
        return time.perf_counter() - started

    seconds = asyncio.run(all_clients())
    calls = LOOP_CALLS // CONCURRENCY * CONCURRENCY
    return seconds / calls * 1e6, verifier.epoch_reads - reads_before


def measure(label: str, env: dict[str, str], keys: int, work_dir: Path) -> dict[str, Any]:
    print(f"==> {label}: seeding {keys} keys, then timing", flush=True)
    settings = Settings.from_env(env)
    result = initialize(settings, "owner@bench.invalid", "Bench", None)
    owner = {"owner_uid": result.owner_uid, "owner_email": result.owner_email}
    keys_file = work_dir / f"{label}-keys"
    servers.oz_seed_keys(env, owner, keys, keys_file)
    tokens = [line.removeprefix("Bearer ") for line in keys_file.read_text().splitlines()]

    database = Database(settings.database_url)
    secret = settings.read_secret()
    cached = KeyVerifier(database, secret, cache_seconds=60)
    uncached = KeyVerifier(database, secret, cache_seconds=0)
    try:
        cached.verify(tokens[0])
        hit = per_call_us(lambda: cached.verify(tokens[0]), HIT_CALLS)
        rotation = itertools.cycle(tokens)
        miss = per_call_us(lambda: uncached.verify(next(rotation)), DATABASE_CALLS)
        loop_tokens = tokens[:LOOP_KEYS]
        for token in loop_tokens:
            cached.verify(token)
        loop, reads = event_loop_us(cached, loop_tokens)
    finally:
        cached.close()
        uncached.close()
        database.dispose()
    print(
        f"{label:10s} cache hit {hit:7.2f} us/call ({HIT_CALLS} calls, best of {REPEATS})"
        f" | database {miss:8.1f} us/call ({DATABASE_CALLS} calls over {len(tokens)} keys)"
        f" | ratio {miss / hit:.0f}x",
        flush=True,
    )
    calls = LOOP_CALLS // CONCURRENCY * CONCURRENCY
    shared = f"{reads} epoch reads, {calls / reads:.1f} calls per read" if reads else "no reads"
    print(
        f"{label:10s} event loop {loop:6.2f} us/call ({calls} calls by {CONCURRENCY} tasks over"
        f" {len(loop_tokens)} cached keys) | {shared}",
        flush=True,
    )
    return {
        "database": label,
        "keys": len(tokens),
        "cache_hit_us": round(hit, 2),
        "database_us": round(miss, 1),
        "event_loop_us": round(loop, 2),
        "event_loop_calls": calls,
        "event_loop_keys": len(loop_tokens),
        "epoch_reads": reads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    started_at = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="oz-bench-verify-") as directory:
        work_dir = Path(directory)
        sqlite_env = servers.clean_env(OZ_DATA_DIR=str(work_dir / "sqlite"))
        rows = [measure("sqlite", sqlite_env, args.keys, work_dir)]
        with run.postgres_database(args.admin_url) as database_url:
            postgres_env = servers.clean_env(
                OZ_DATA_DIR=str(work_dir / "postgres"), OZ_DATABASE_URL=database_url
            )
            rows.append(measure("postgresql", postgres_env, args.keys, work_dir))
    run.write_report(
        "verify",
        started_at,
        {
            "settings": {
                "keys": args.keys,
                "hit_calls": HIT_CALLS,
                "database_calls": DATABASE_CALLS,
                "repeats": REPEATS,
                "concurrency": CONCURRENCY,
            },
            "results": rows,
        },
    )


if __name__ == "__main__":
    main()

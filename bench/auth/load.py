"""Drive servers with wrk and turn its output into rates and latencies."""

from __future__ import annotations

import http.client
import json
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).resolve().parent / "rotate.lua"


@dataclass(frozen=True)
class LoadResult:
    """What one or more wrk processes measured against one endpoint at the same time."""

    requests: int
    seconds: float
    failed: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def start_wrk(
    url: str, path: str, seconds: float, connections: int, keys_file: Path | None
) -> subprocess.Popen[str]:
    command = [
        "wrk",
        "--threads=1",
        f"--connections={connections}",
        f"--duration={seconds:g}s",
        "--timeout=10s",
        f"--script={LUA_SCRIPT}",
        f"{url}{path}",
    ]
    if keys_file is not None:
        command += ["--", str(keys_file)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_wrk(process: subprocess.Popen[str]) -> dict[str, float]:
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed with status {process.returncode}: {stderr.strip()}")
    last_line = stdout.strip().splitlines()[-1]
    result: dict[str, float] = json.loads(last_line)
    return result


def run_load(
    urls: list[str], path: str, seconds: float, connections: int, keys_file: Path | None
) -> LoadResult:
    """Run one wrk per URL at once, splitting the connections, and add up the results.

    With several URLs the percentiles are the highest of the wrk processes, because wrk
    reports percentiles and not its samples, so they cannot be merged exactly.
    """
    per_url = max(1, connections // len(urls))
    processes = [start_wrk(url, path, seconds, per_url, keys_file) for url in urls]
    results = [finish_wrk(process) for process in processes]
    return LoadResult(
        requests=int(sum(result["requests"] for result in results)),
        seconds=max(result["duration_us"] for result in results) / 1e6,
        failed=int(sum(result["non_2xx_3xx"] + result["socket_errors"] for result in results)),
        p50_ms=max(result["p50_us"] for result in results) / 1000,
        p99_ms=max(result["p99_us"] for result in results) / 1000,
    )


def warm_up(url: str, path: str, header_values: list[str]) -> None:
    """Send one request with each header value, so every key used is in the server's cache."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        for value in header_values:
            connection.request("GET", path, headers={"Authorization": value})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(
                    f"warm-up request to {url}{path} returned {response.status}: {body!r}"
                )
    finally:
        connection.close()

#!/usr/bin/env bash
# Measure the start-up time of the `oz` CLI with hyperfine and compare it with the
# start-up of the same interpreter (`.venv/bin/python -c pass`) in the same run.
# Budgets: `oz --version` within 4x and `oz whoami` against a local server within 8x.
#
# Run from anywhere as `bash bench/startup/run.sh` (or `make bench`) after `make install`.
# It starts a throwaway ozd on 127.0.0.1 and removes it and its data directory on exit.
# A ratio over budget is printed as OVER BUDGET and does not change the exit status,
# which is non-zero only when a step fails (no venv, hyperfine missing and not
# installable, server not healthy, a measured command exiting non-zero).
#
# Environment: OZ_BENCH_WARMUP (default 5) and OZ_BENCH_RUNS (default 40) set the
# hyperfine warm-up runs and timed runs per command.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=".venv/bin"
warmup="${OZ_BENCH_WARMUP:-5}"
runs="${OZ_BENCH_RUNS:-40}"

if [[ ! -x "$bin/python" || ! -x "$bin/oz" || ! -x "$bin/ozd" ]]; then
    echo "missing $root/$bin/{python,oz,ozd}: run 'make install' first" >&2
    exit 1
fi

if ! command -v hyperfine >/dev/null; then
    echo "==> Installing hyperfine"
    if ! apt-get install -y -q hyperfine; then
        apt-get update -q
        apt-get install -y -q hyperfine
    fi
fi

# A normal install has bytecode next to the sources and lets Python write it, so
# measure that state even when the environment disables bytecode writing.
unset PYTHONDONTWRITEBYTECODE
# The throwaway server must use its own data directory, not a configured database, and
# `oz whoami` must print its default format.
unset OZ_DATABASE_URL OZ_SECRET OZ_DATA_DIR WARP_OUTPUT_FORMAT
"$bin/python" -m compileall -q src

data_dir=$(mktemp -d "${TMPDIR:-/tmp}/oz-bench.XXXXXX")
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$data_dir"
}
trap cleanup EXIT

echo "==> Machine"
echo "nproc: $(nproc)"
lscpu | grep 'Model name' || true
free -h | awk '/^Mem:/ {print "memory: " $2}'
"$bin/python" --version
hyperfine --version
echo "load average (1, 5, 15 min): $(cut -d' ' -f1-3 /proc/loadavg)"

echo "==> Starting a throwaway ozd on 127.0.0.1 (data directory $data_dir)"
api_key=$("$bin/ozd" init --data-dir "$data_dir" --json \
    | "$bin/python" -c "import json, sys; print(json.load(sys.stdin)['raw_api_key'])")
"$bin/ozd" serve --data-dir "$data_dir" --host 127.0.0.1 --port 0 \
    --port-file "$data_dir/port" --no-worker >"$data_dir/server.log" 2>&1 &
server_pid=$!

server_failed() {
    echo "ozd did not become healthy ($1). Server log:" >&2
    cat "$data_dir/server.log" >&2
    exit 1
}

for _ in $(seq 150); do
    [[ -s "$data_dir/port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || server_failed "it exited"
    sleep 0.1
done
[[ -s "$data_dir/port" ]] || server_failed "no port file after 15 s"
port=$(tr -d '[:space:]' <"$data_dir/port")

# http.client connects directly, so no proxy from the environment is used.
healthy=""
for _ in $(seq 150); do
    if "$bin/python" -c "
import http.client, sys
connection = http.client.HTTPConnection('127.0.0.1', $port, timeout=2)
connection.request('GET', '/healthz')
sys.exit(0 if connection.getresponse().status == 200 else 1)
" 2>/dev/null; then
        healthy=yes
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || server_failed "it exited"
    sleep 0.1
done
[[ -n "$healthy" ]] || server_failed "GET /healthz did not return 200 within 15 s"

export WARP_SERVER_ROOT_URL="http://127.0.0.1:$port"
export WARP_API_KEY="$api_key"
# A failed whoami would be measured as a fast error, so check it once first.
"$bin/oz" whoami >/dev/null

baseline="$bin/python -c pass"
version_command="$bin/oz --version"
whoami_command="$bin/oz whoami"

mkdir -p bench/startup/results
results="bench/startup/results/$(date -u +%Y-%m-%dT%H%M%SZ).json"

echo "==> hyperfine: --warmup $warmup --runs $runs, no shell (-N)"
# -N runs each command without a shell, so shell start-up is not measured. The import
# lines are the costs behind the CLI's choice of http.client over httpx and lazy Rich.
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$data_dir/hyperfine.json" \
    "$baseline" \
    "$bin/python -c 'import click'" \
    "$version_command" \
    "$whoami_command" \
    "$bin/python -c 'import http.client, json'" \
    "$bin/python -c 'import httpx'" \
    "$bin/python -c 'import rich.console, rich.table'" \
    "$bin/python -c 'import oz_agent_sdk'"
# hyperfine rewrites its export after every command, so keep only a complete one.
cp "$data_dir/hyperfine.json" "$results"

echo "==> Results ($results)"
"$bin/python" bench/startup/ratios.py "$results" --baseline "$baseline" \
    --budget "$version_command" 4 \
    --budget "$whoami_command" 8

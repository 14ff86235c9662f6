#!/usr/bin/env bash
# Run the main job of oz end to end on the embedded SQLite default. A throwaway server
# gets a local run with a personal key and a cloud run with an agent key. The run list
# then shows each run's creator, and an expired key stops working at once.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.venv/bin"
data_dir=$(mktemp -d "${TMPDIR:-/tmp}/oz-demo.XXXXXX")
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$data_dir"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() {
    local shown=() arg
    for arg in "$@"; do
        arg=${arg#"$bin/"}
        [[ $arg =~ [[:space:]] ]] && arg="\"$arg\""
        shown+=("$arg")
    done
    printf '\033[2m$ %s\033[0m\n' "${shown[*]}"
    "$@"
}
json_field() { "$bin/python" -c "import json, sys; print(json.load(sys.stdin)$1)"; }

step "Initialize a throwaway data directory: $data_dir"
personal_key=$("$bin/ozd" init --data-dir "$data_dir" --owner-email demo@example.com --json \
    | json_field "['raw_api_key']")
echo "Created the owner demo@example.com, a team, its Default Service Account and a personal key."

step "Start ozd serve on a free loopback port"
# The embedded worker runs cloud agents in this repository, like a worker in a checkout.
OZ_WORKER_DIR="$root" "$bin/ozd" serve --data-dir "$data_dir" --port 0 \
    --port-file "$data_dir/port" >"$data_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do [[ -s "$data_dir/port" ]] && break; sleep 0.1; done
export WARP_SERVER_ROOT_URL="http://127.0.0.1:$(cat "$data_dir/port")"
for _ in $(seq 100); do
    "$bin/python" -c "import urllib.request as r; r.urlopen('$WARP_SERVER_ROOT_URL/healthz')" \
        2>/dev/null && break
    sleep 0.1
done
echo "Listening on $WARP_SERVER_ROOT_URL"
export COLUMNS="${COLUMNS:-160}"

step "1. Run an agent locally with a personal key from WARP_API_KEY"
export WARP_API_KEY="$personal_key"
cd "$root"
show "$bin/oz" agent run --prompt "analyze this codebase"

step "Create a cloud agent and an agent key for it (key management needs a personal key)"
agent_uid=$("$bin/oz" --output-format json agent create --name "Demo CI agent" \
    | json_field "['uid']")
agent_key=$("$bin/oz" --output-format text api-key create "demo agent key" --expires-in 1d \
    --agent "$agent_uid")
echo "Agent key for 'Demo CI agent' created (shown once; kept in a shell variable)."

step "2. Run the agent in the cloud with the agent key given by --api-key, and wait"
printf '\033[2m$ oz agent run-cloud --prompt "analyze this codebase" --api-key "$AGENT_KEY" --wait\033[0m\n'
# Captured, not piped into `head`: head may close the pipe while oz still writes, and
# pipefail would then stop the demo.
report=$("$bin/oz" agent run-cloud --prompt "analyze this codebase" --api-key "$agent_key" --wait)
sed -n 1,20p <<<"$report"
echo "[report shortened; see it whole with: oz run get RUN_ID]"

step "3. List the runs with their creators"
show "$bin/oz" run list

step "4. List the keys, expire the personal key, and try it once more"
show "$bin/oz" api-key list
personal_uid=$("$bin/oz" --output-format json whoami | json_field "['api_key_uid']")
show "$bin/oz" api-key expire "$personal_uid" --force
set +e
show "$bin/oz" whoami
status=$?
set -e
if [[ $status -ne 3 ]]; then
    echo "expected the expired key to fail with exit status 3, got $status" >&2
    exit 1
fi
echo "The expired key is refused (exit status $status)."

step "Stop the server"
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
echo "Done."

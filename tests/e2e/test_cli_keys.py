"""`oz api-key`, `oz whoami` and key checks, through the real CLI against a real server."""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest

import oz
from tests.e2e.conftest import create_agent, create_key, failure, unique
from tests.support.secrets import remember
from tests.support.server import OzServer

pytestmark = pytest.mark.e2e

KEY_FIELDS = {"uid", "name", "key_suffix", "scope", "created_at", "last_used_at", "expires_at"}
# Nothing listens on the discard port of loopback, so a CLI that contacts it fails.
CLOSED_PORT_URL = "http://127.0.0.1:9"
EXIT_USAGE = 2
EXIT_AUTHENTICATION = 3
EXIT_NOT_AUTHORIZED = 4
EXIT_UNREACHABLE = 6
LAST_USE_TIMEOUT_SECONDS = 5.0
# The concurrent delete test: requests in total, threads sending them, and how many
# finish before the key is deleted.
MAX_REQUESTS = 5_000
REQUEST_THREADS = 4
REQUESTS_BEFORE_DELETE = 40
REQUESTS_AFTER_DELETE = 40


def whoami(server: OzServer, key: str) -> subprocess.CompletedProcess[str]:
    return server.oz("--output-format", "json", "whoami", api_key=key)


def owner_uid(server: OzServer) -> str:
    return str(server.oz_json("whoami", api_key=server.owner_key)["uid"])


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_create_pretty_warns_once(server: OzServer) -> None:
    name = unique("pretty")

    result = server.oz("api-key", "create", name, "--expires-in", "30d", api_key=server.owner_key)

    assert result.returncode == 0, failure(result)
    raw_key = remember(result.stdout.strip().splitlines()[-1])
    assert result.stdout.startswith(f"Created API key {name!r} ("), failure(result)
    assert "expires " in result.stdout
    assert "This is the only time the key is shown" in result.stderr
    assert raw_key.startswith("wk-")
    assert whoami(server, raw_key).returncode == 0


def test_create_json_document(server: OzServer) -> None:
    name = unique("json")

    created = create_key(server, name, "--expires-in", "30d")

    assert set(created) == {"raw_api_key", "api_key"}
    key = created["api_key"]
    assert set(key) == KEY_FIELDS
    assert created["raw_api_key"].startswith("wk-")
    assert len(created["raw_api_key"]) == 40
    assert key["name"] == name
    assert key["key_suffix"] == created["raw_api_key"][-4:]
    assert key["scope"] == {
        "type": "personal",
        "uid": owner_uid(server),
        "name": "owner@example.com",
    }
    assert key["last_used_at"] is None
    assert parse_time(key["expires_at"]) - parse_time(key["created_at"]) == timedelta(days=30)


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param((), id="none"),
        pytest.param(("--expires-in", "1d", "--no-expiration"), id="in-and-never"),
        pytest.param(
            ("--expires-in", "1d", "--expires-at", "2099-01-01T00:00:00Z"), id="in-and-at"
        ),
    ],
)
def test_create_needs_one_expiry_flag(server: OzServer, flags: tuple[str, ...]) -> None:
    result = server.oz("api-key", "create", unique("flags"), *flags, api_key=server.owner_key)

    assert result.returncode == EXIT_USAGE, failure(result)
    assert "--expires-in" in result.stderr
    assert "--expires-at" in result.stderr
    assert "--no-expiration" in result.stderr


def test_create_expires_at_in_past(server: OzServer) -> None:
    result = server.oz(
        "--output-format",
        "json",
        "api-key",
        "create",
        unique("past"),
        "--expires-at",
        "2020-01-01T00:00:00Z",
        api_key=server.owner_key,
    )

    assert result.returncode == 1, failure(result)
    problem = json.loads(result.stderr.splitlines()[0])["error"]
    assert problem["status"] == 400
    assert problem["field"] == "expires_at"
    assert "in the past" in problem["detail"]


def test_past_expiry_message_names_flag(server: OzServer) -> None:
    result = server.oz(
        "api-key",
        "create",
        unique("past"),
        "--expires-at",
        "2020-01-01T00:00:00Z",
        api_key=server.owner_key,
    )

    assert result.returncode == 1, failure(result)
    assert "in the past" in result.stderr
    assert "expires_at" in result.stderr or "--expires-at" in result.stderr, failure(result)


def test_new_key_authenticates(server: OzServer) -> None:
    created = create_key(server, unique("new"), "--expires-in", "1d")

    result = whoami(server, created["raw_api_key"])

    assert result.returncode == 0, failure(result)
    me = json.loads(result.stdout)
    assert me["type"] == "user"
    assert me["email"] == "owner@example.com"
    assert me["api_key_uid"] == created["api_key"]["uid"]


def test_list_pretty_masks_keys(server: OzServer) -> None:
    created = create_key(server, unique("listed"), "--no-expiration")
    key = created["api_key"]

    result = server.oz("api-key", "list", api_key=server.owner_key)

    assert result.returncode == 0, failure(result)
    rows = [line for line in result.stdout.splitlines() if key["uid"] in line]
    assert len(rows) == 1, failure(result)
    assert f"wk-**{key['key_suffix']}" in rows[0]
    assert key["name"] in rows[0]
    assert rows[0].count("Never") == 2, "last used and expires at should both read Never"
    assert created["raw_api_key"] not in result.stdout
    assert server.owner_key not in result.stdout


def test_list_shows_last_use(server: OzServer) -> None:
    created = create_key(server, unique("used"))
    used = whoami(server, created["raw_api_key"])
    assert used.returncode == 0, failure(used)

    # The server writes last uses in the background about once a second.
    deadline = time.monotonic() + LAST_USE_TIMEOUT_SECONDS
    while True:
        rows = server.oz_json("api-key", "list", api_key=server.owner_key)
        row = next(row for row in rows if row["uid"] == created["api_key"]["uid"])
        if row["last_used_at"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.25)

    assert row["last_used_at"] is not None
    assert parse_time(row["last_used_at"]) >= parse_time(row["created_at"])


def test_list_json_rows(server: OzServer) -> None:
    created = create_key(server, unique("listed"), "--expires-in", "1d")

    result = server.oz("--output-format", "json", "api-key", "list", api_key=server.owner_key)

    assert result.returncode == 0, failure(result)
    rows = json.loads(result.stdout)
    assert all(set(row) == KEY_FIELDS for row in rows), rows
    assert created["api_key"] in rows
    assert created["raw_api_key"] not in result.stdout
    assert server.owner_key not in result.stdout


def test_expire_force_rejects_next_call(server: OzServer) -> None:
    created = create_key(server, unique("expired"))
    name = created["api_key"]["name"]

    expired = server.oz("api-key", "expire", name, "--force", api_key=server.owner_key)
    result = whoami(server, created["raw_api_key"])

    assert expired.returncode == 0, failure(expired)
    assert expired.stdout.strip() == f"Expired {name!r} ({created['api_key']['uid']})."
    assert result.returncode == EXIT_AUTHENTICATION, failure(result)
    assert "authentication_required" in result.stderr


def test_expire_without_terminal_needs_force(server: OzServer) -> None:
    created = create_key(server, unique("kept"))

    result = server.oz("api-key", "expire", created["api_key"]["name"], api_key=server.owner_key)

    assert result.returncode == 1, failure(result)
    assert "--force" in result.stderr
    assert whoami(server, created["raw_api_key"]).returncode == 0


def test_expire_shared_name_needs_uid(server: OzServer) -> None:
    name = unique("shared")
    first = create_key(server, name)
    second = create_key(server, name)

    by_name = server.oz("api-key", "expire", name, "--force", api_key=server.owner_key)
    by_uid = server.oz(
        "api-key", "expire", first["api_key"]["uid"], "--force", api_key=server.owner_key
    )

    assert by_name.returncode == 1, failure(by_name)
    assert f"2 keys are named {name!r}" in by_name.stderr
    assert first["api_key"]["uid"] in by_name.stderr
    assert second["api_key"]["uid"] in by_name.stderr
    assert by_uid.returncode == 0, failure(by_uid)
    assert whoami(server, first["raw_api_key"]).returncode == EXIT_AUTHENTICATION
    assert whoami(server, second["raw_api_key"]).returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("api-key", "list"), id="list"),
        pytest.param(("api-key", "create", "from-agent", "--no-expiration"), id="create"),
        pytest.param(("api-key", "expire", "ozd init", "--force"), id="expire"),
    ],
)
def test_agent_key_cannot_manage_keys(server: OzServer, args: tuple[str, ...]) -> None:
    agent = create_agent(server, unique("Key manager"))
    agent_key = create_key(server, unique("agent"), "--no-expiration", "--agent", agent["uid"])

    result = server.oz(*args, api_key=agent_key["raw_api_key"])

    assert result.returncode == EXIT_NOT_AUTHORIZED, failure(result)
    assert "not_authorized" in result.stderr
    assert whoami(server, server.owner_key).returncode == 0


def test_agent_delete_revokes_its_keys(server: OzServer) -> None:
    agent = create_agent(server, unique("Short-lived agent"))
    agent_key = create_key(server, unique("agent"), "--expires-in", "1d", "--agent", agent["uid"])
    before = whoami(server, agent_key["raw_api_key"])

    deleted = server.oz("agent", "delete", agent["uid"], "--force", api_key=server.owner_key)
    after = whoami(server, agent_key["raw_api_key"])
    keys = server.oz_json("api-key", "list", api_key=server.owner_key)

    assert before.returncode == 0, failure(before)
    assert json.loads(before.stdout)["type"] == "service_account"
    assert deleted.returncode == 0, failure(deleted)
    assert after.returncode == EXIT_AUTHENTICATION, failure(after)
    assert "authentication_required" in after.stderr
    assert agent_key["api_key"]["uid"] not in {row["uid"] for row in keys}


def test_whoami_names_environment_source(server: OzServer) -> None:
    result = server.oz("whoami", api_key=server.owner_key)

    assert result.returncode == 0, failure(result)
    assert result.stdout.startswith(f"user:{owner_uid(server)}\n")
    assert "email:   owner@example.com" in result.stdout
    assert "API key: from WARP_API_KEY" in result.stdout


def test_api_key_flag_beats_environment(server: OzServer) -> None:
    agent = create_agent(server, unique("Environment agent"))
    agent_key = create_key(server, unique("agent"), "--no-expiration", "--agent", agent["uid"])

    result = server.oz(
        "--output-format",
        "json",
        "--api-key",
        server.owner_key,
        "whoami",
        api_key=agent_key["raw_api_key"],
    )

    assert result.returncode == 0, failure(result)
    me = json.loads(result.stdout)
    assert me["type"] == "user"
    assert me["uid"] == owner_uid(server)
    assert me["api_key_source"] == "--api-key"


def test_padded_key_authenticates(server: OzServer) -> None:
    result = whoami(server, f"  {server.owner_key}\n")

    assert result.returncode == 0, failure(result)
    assert json.loads(result.stdout)["email"] == "owner@example.com"


def test_key_without_prefix_rejected_offline(server: OzServer) -> None:
    old_style = server.owner_key.removeprefix("wk-")

    result = server.oz("whoami", api_key=old_style, env={"WARP_SERVER_ROOT_URL": CLOSED_PORT_URL})

    assert result.returncode == EXIT_AUTHENTICATION, failure(result)
    assert "older format" in result.stderr
    assert "WARP_API_KEY" in result.stderr


@pytest.mark.parametrize("damage", ["checksum", "truncated"])
def test_damaged_key_rejected_offline(server: OzServer, damage: str) -> None:
    key = server.owner_key
    replacement = "A" if key[-1] != "A" else "B"
    damaged = key[:-1] + replacement if damage == "checksum" else key[:-1]

    result = server.oz("whoami", api_key=damaged, env={"WARP_SERVER_ROOT_URL": CLOSED_PORT_URL})

    assert result.returncode == EXIT_AUTHENTICATION, failure(result)
    assert "mistyped or truncated" in result.stderr


def test_closed_port_is_unreachable(server: OzServer) -> None:
    """A well-formed key does contact the server: the offline rejections above are real."""
    result = server.oz(
        "whoami", api_key=server.owner_key, env={"WARP_SERVER_ROOT_URL": CLOSED_PORT_URL}
    )

    assert result.returncode == EXIT_UNREACHABLE, failure(result)


def test_whoami_text_format(server: OzServer) -> None:
    result = server.oz("--output-format", "text", "whoami", api_key=server.owner_key)

    assert result.returncode == 0, failure(result)
    assert result.stdout == f"user:{owner_uid(server)}\n"


def test_version(server: OzServer) -> None:
    result = server.oz("--version")

    assert result.returncode == 0, failure(result)
    assert result.stdout == f"oz {oz.__version__}\n"


@dataclass(frozen=True)
class Attempt:
    """One GET /api/v1/me: when it started (time.monotonic) and its HTTP status."""

    started: float
    status: int


class RequestLoop:
    """Threads that send GET /api/v1/me with one key until stopped or MAX_REQUESTS were sent."""

    def __init__(self, server: OzServer, raw_key: str) -> None:
        address = urlsplit(server.url)
        self._host = address.hostname or "127.0.0.1"
        self._port = address.port or 80
        self._raw_key = raw_key
        self._lock = threading.Lock()
        self._sent = 0
        self._stopped = False
        self.attempts: list[Attempt] = []
        self.errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._loop) for _ in range(REQUEST_THREADS)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        for thread in self._threads:
            thread.join(timeout=60)

    def completed(self, started_after: float = 0.0) -> int:
        with self._lock:
            return sum(1 for attempt in self.attempts if attempt.started > started_after)

    def _take_ticket(self) -> bool:
        with self._lock:
            if self._stopped or self._sent >= MAX_REQUESTS:
                return False
            self._sent += 1
            return True

    def _loop(self) -> None:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
        headers = {"Authorization": f"Bearer {self._raw_key}"}
        try:
            while self._take_ticket():
                started = time.monotonic()
                connection.request("GET", "/api/v1/me", headers=headers)
                response = connection.getresponse()
                response.read()
                with self._lock:
                    self.attempts.append(Attempt(started, response.status))
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(exc)
        finally:
            connection.close()


def delete_key(server: OzServer, uid: str) -> int:
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port)
    try:
        connection.request(
            "DELETE",
            f"/api/v1/api-keys/{uid}",
            headers={"Authorization": f"Bearer {server.owner_key}"},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_delete_during_concurrent_requests(server: OzServer) -> None:
    created = create_key(server, unique("concurrent"))
    loop = RequestLoop(server, created["raw_api_key"])
    loop.start()
    deadline = time.monotonic() + 30
    while loop.completed() < REQUESTS_BEFORE_DELETE and time.monotonic() < deadline:
        time.sleep(0.005)

    status = delete_key(server, created["api_key"]["uid"])
    deleted_at = time.monotonic()
    while loop.completed(deleted_at) < REQUESTS_AFTER_DELETE and time.monotonic() < deadline:
        time.sleep(0.005)
    loop.stop()
    before = [attempt for attempt in loop.attempts if attempt.started < deleted_at]
    after = [attempt for attempt in loop.attempts if attempt.started > deleted_at]
    accepted_after = [attempt for attempt in after if attempt.status != 401]

    assert status == 200
    assert loop.errors == []
    assert any(attempt.status == 200 for attempt in before), "no request succeeded before"
    assert len(after) >= REQUESTS_AFTER_DELETE, (
        f"only {len(after)} requests started after the delete returned"
    )
    assert len(accepted_after) == 0, (
        f"{len(accepted_after)} of {len(after)} requests that started after the delete"
        f" returned were not rejected: {accepted_after[:5]}"
    )


def test_user_deleted_by_ozd_is_refused_at_once(server: OzServer) -> None:
    """`ozd user delete` runs in its own process; the server's cache hears of it through
    the data directory's marker on SQLite and the database's epoch on PostgreSQL."""
    email = f"{unique('leaver')}@example.com"
    added = server.ozd("user", "add", email, "--team", server.team_uid, "--with-key")
    assert added.returncode == 0, failure(added)
    member_key = remember(added.stdout.strip().splitlines()[-1])
    assert whoami(server, member_key).returncode == 0  # now in the server's cache

    deleted = server.ozd("user", "delete", email)
    refused = whoami(server, member_key)

    assert deleted.returncode == 0, failure(deleted)
    assert refused.returncode == 3, failure(refused)


def test_global_options_work_after_the_subcommand(server: OzServer) -> None:
    personal = create_key(server, unique("after"))["raw_api_key"]

    result = server.oz("whoami", "--output-format", "json", "--api-key", personal)

    assert result.returncode == 0, failure(result)
    document = json.loads(result.stdout)
    assert document["api_key_source"] == "--api-key"
    assert document["type"] == "user"


def test_debug_prints_the_problem_with_trace_id(server: OzServer) -> None:
    result = server.oz(
        "--debug", "api-key", "expire", "no-such-key", "--force", api_key=server.owner_key
    )
    unknown = server.oz("--debug", "run", "get", "no-such-run", api_key=server.owner_key)

    assert result.returncode == 5, failure(result)
    assert unknown.returncode == 5, failure(unknown)
    assert '"trace_id"' in unknown.stderr
    assert (
        '"type": "/reference/api-and-sdk/troubleshooting/errors/resource-not-found/"'
        in unknown.stderr
    )

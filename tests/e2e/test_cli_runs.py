"""`oz agent run`, `oz agent run-cloud` and `oz run`, with the built-in and command harnesses."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    ServerFactory,
    create_agent,
    create_key,
    failure,
    unique,
    write_git_repository,
)
from tests.support.server import OzServer

pytestmark = pytest.mark.e2e

DISCLAIMER = "not a language model"
EXIT_NOT_FOUND = 5
CANCEL_TIMEOUT_SECONDS = 10.0
HARNESS_START_TIMEOUT_SECONDS = 20.0


@pytest.fixture(scope="module")
def command_server(backend: str, server_factory: ServerFactory, harness_command: str) -> OzServer:
    """A server whose embedded worker runs the test harness script for every cloud run."""
    return server_factory(backend, OZ_HARNESS="command", OZ_HARNESS_COMMAND=harness_command)


def run_cloud(
    server: OzServer,
    prompt: str,
    *args: str,
    api_key: str | None = None,
    api_key_flag: str | None = None,
) -> dict[str, Any]:
    """Run `oz agent run-cloud --wait` and return the finished run it prints.

    `api_key` goes in WARP_API_KEY and `api_key_flag` in the global `--api-key` option.
    """
    global_options = ["--output-format", "json"]
    if api_key_flag is not None:
        global_options += ["--api-key", api_key_flag]
    result = server.oz(
        *global_options,
        "agent",
        "run-cloud",
        "--prompt",
        prompt,
        "--wait",
        *args,
        api_key=api_key,
    )
    assert result.returncode in (0, 1), failure(result)
    run: dict[str, Any] = json.loads(result.stdout)
    return run


def get_run(server: OzServer, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = server.oz_json("run", "get", run_id, api_key=server.owner_key)
    return run


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_pid(path: Path) -> int:
    deadline = time.monotonic() + HARNESS_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.1)
    raise AssertionError(
        f"the harness did not write {path} within {HARNESS_START_TIMEOUT_SECONDS} s"
    )


def test_local_run_prints_report(server: OzServer, tmp_path: Path) -> None:
    repository = write_git_repository(tmp_path / "repository")

    result = server.oz(
        "agent",
        "run",
        "--prompt",
        "analyze this codebase",
        api_key=server.owner_key,
        cwd=repository,
    )

    assert result.returncode == 0, failure(result)
    header, _, report = result.stdout.partition("\n\n")
    assert re.match(r"Run \S+: SUCCEEDED\n", header), failure(result)
    assert "source:   LOCAL, executed locally" in header
    assert DISCLAIMER in report.splitlines()[0]
    assert "app.py:2: # TODO: handle errors" in report
    assert "1 commit in HEAD." in report
    assert f"started locally in {repository}" in result.stderr


def test_local_run_is_listed(server: OzServer, tmp_path: Path) -> None:
    repository = write_git_repository(tmp_path / "repository")
    result = server.oz(
        "--output-format",
        "json",
        "agent",
        "run",
        "--prompt",
        "analyze this codebase",
        api_key=server.owner_key,
        cwd=repository,
    )
    assert result.returncode == 0, failure(result)
    run_id = json.loads(result.stdout)["run_id"]

    page = server.oz_json("run", "list", api_key=server.owner_key)

    listed = {run["run_id"]: run for run in page["runs"]}
    assert run_id in listed
    run = listed[run_id]
    assert run["state"] == "SUCCEEDED"
    assert run["source"] == "LOCAL"
    assert run["execution_location"] == "LOCAL"
    assert run["creator"]["type"] == "user"
    assert run["creator"]["email"] == "owner@example.com"
    assert run["output"].splitlines()[0].endswith("It produced a static report of the repository.")


def test_cloud_run_with_agent_key(server: OzServer) -> None:
    name = unique("CI agent")
    agent = create_agent(server, name)
    agent_key = create_key(server, unique("agent"), "--expires-in", "1d", "--agent", agent["uid"])

    run = run_cloud(server, "analyze this codebase", api_key_flag=agent_key["raw_api_key"])

    assert run["state"] == "SUCCEEDED", run
    assert run["creator"]["type"] == "service_account"
    assert run["creator"]["uid"] == agent["uid"]
    assert run["creator"]["display_name"] == name
    assert run["scope"] == {"type": "Team", "uid": server.team_uid}
    assert run["source"] == "CLI"
    assert run["execution_location"] == "REMOTE"
    assert run["api_key_uid"] == agent_key["api_key"]["uid"]
    assert DISCLAIMER in run["output"].splitlines()[0]


def test_cloud_run_as_agent(server: OzServer) -> None:
    name = unique("Release agent")
    agent = create_agent(server, name)
    owner = server.oz_json("whoami", api_key=server.owner_key)

    run = run_cloud(
        server, "analyze this codebase", "--agent", agent["uid"], api_key=server.owner_key
    )

    assert run["state"] == "SUCCEEDED", run
    assert run["creator"]["type"] == "service_account"
    assert run["creator"]["uid"] == agent["uid"]
    assert run["creator"]["display_name"] == name
    assert run["scope"] == {"type": "Team", "uid": server.team_uid}
    assert run["api_key_uid"] == owner["api_key_uid"]


def test_run_get(server: OzServer) -> None:
    run_id = run_cloud(server, "summarize the repository", api_key=server.owner_key)["run_id"]

    result = server.oz("run", "get", run_id, api_key=server.owner_key)

    assert result.returncode == 0, failure(result)
    assert result.stdout.startswith(f"Run {run_id}: SUCCEEDED\n")
    assert "  title:    summarize the repository\n" in result.stdout
    assert "  creator:  user owner@example.com\n" in result.stdout
    assert "  source:   CLI, executed by a worker\n" in result.stdout
    assert "> summarize the repository" in result.stdout


def test_run_get_unknown_id(server: OzServer) -> None:
    result = server.oz("run", "get", "no-such-run", api_key=server.owner_key)

    assert result.returncode == EXIT_NOT_FOUND, failure(result)
    assert "resource_not_found" in result.stderr


def test_command_harness_succeeds(command_server: OzServer) -> None:
    run = run_cloud(command_server, "hello from the test", api_key=command_server.owner_key)

    assert run["state"] == "SUCCEEDED", run
    assert run["output"] == "harness received: hello from the test\n"
    assert run["status_message"] == {"message": "Agent finished"}


def test_command_harness_failure_is_error(command_server: OzServer) -> None:
    run = run_cloud(command_server, "fail", api_key=command_server.owner_key)

    assert run["state"] == "ERROR", run
    status = run["status_message"]
    assert status["error_code"] == "agent_process_failed"
    assert status["message"] == "the agent process exited with status 3: the agent gave up"
    assert run["output"].startswith("partial work\n")


def test_command_harness_withholds_secrets(command_server: OzServer, tmp_path: Path) -> None:
    recorded = tmp_path / "environment.json"

    run = run_cloud(command_server, f"record-env {recorded}", api_key=command_server.owner_key)

    assert run["state"] == "SUCCEEDED", run
    assert json.loads(recorded.read_text()) == {
        "WARP_API_KEY": None,
        "OZ_SECRET": None,
        "OZ_DATABASE_URL": None,
    }


def test_cancel_stops_harness(command_server: OzServer, tmp_path: Path) -> None:
    pid_file = tmp_path / "agent.pid"
    started = command_server.oz_json(
        "agent", "run-cloud", "--prompt", f"sleep {pid_file}", api_key=command_server.owner_key
    )
    run_id = started["run_id"]
    pid = wait_for_pid(pid_file)

    cancelled = command_server.oz("run", "cancel", run_id, api_key=command_server.owner_key)
    deadline = time.monotonic() + CANCEL_TIMEOUT_SECONDS
    while process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    run = get_run(command_server, run_id)

    assert cancelled.returncode == 0, failure(cancelled)
    assert cancelled.stdout == f"Cancelled run {run_id}.\n"
    assert run["state"] == "CANCELLED"
    assert run["status_message"]["message"].startswith("Cancelled by ")
    assert not process_exists(pid), f"the harness process {pid} still runs after the cancel"


def test_run_list_state_and_cursor(command_server: OzServer) -> None:
    key = command_server.owner_key
    older = run_cloud(command_server, "first success", api_key=key)
    newer = run_cloud(command_server, "second success", api_key=key)
    failed = run_cloud(command_server, "fail", api_key=key)

    first = command_server.oz_json("run", "list", "--state", "SUCCEEDED", "-L", "1", api_key=key)
    cursor = first["page_info"]["next_cursor"]
    second = command_server.oz_json(
        "run", "list", "--state", "SUCCEEDED", "-L", "1", "--cursor", cursor, api_key=key
    )

    assert failed["state"] == "ERROR"
    assert [run["run_id"] for run in first["runs"]] == [newer["run_id"]]
    assert first["page_info"]["has_next_page"] is True
    assert [run["run_id"] for run in second["runs"]] == [older["run_id"]]


def test_run_list_pretty_shows_next_cursor(command_server: OzServer) -> None:
    key = command_server.owner_key
    run_cloud(command_server, "first success", api_key=key)
    run_cloud(command_server, "second success", api_key=key)

    result = command_server.oz("run", "list", "-L", "1", api_key=key)

    assert result.returncode == 0, failure(result)
    assert "second success" in result.stdout
    assert "first success" not in result.stdout
    assert re.search(r"^More runs: oz run list --cursor \S+$", result.stdout, re.MULTILINE)


def test_local_command_harness(server: OzServer, harness_command: str, tmp_path: Path) -> None:
    recorded = tmp_path / "environment.json"
    prompt = f"record-env {recorded}"

    result = server.oz(
        "--output-format",
        "json",
        "agent",
        "run",
        "--prompt",
        prompt,
        api_key=server.owner_key,
        env={"OZ_HARNESS": "command", "OZ_HARNESS_COMMAND": harness_command},
        cwd=tmp_path,
    )

    assert result.returncode == 0, failure(result)
    run = json.loads(result.stdout)
    assert run["state"] == "SUCCEEDED"
    assert run["source"] == "LOCAL"
    assert run["output"] == f"harness received: {prompt}\n"
    assert json.loads(recorded.read_text())["WARP_API_KEY"] is None

"""The CLI with awkward input: ids that need encoding, URLs, pipes and error documents."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.conftest import create_agent, failure, unique
from tests.support.server import BIN, OzServer, clean_env

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("odd_id", ["CI bot", "é", "x?y=1", "x#y", "../api-keys"])
def test_ids_are_sent_as_one_path_segment(server: OzServer, odd_id: str) -> None:
    result = server.oz("agent", "get", odd_id, api_key=server.owner_key)

    assert result.returncode == 5, failure(result)
    assert "[resource_not_found]" in result.stderr
    assert "Traceback" not in result.stderr


def test_agent_get_finds_an_agent_by_uid(server: OzServer) -> None:
    agent = create_agent(server, unique("lookup"))

    found = server.oz_json("agent", "get", agent["uid"], api_key=server.owner_key)

    assert found["name"] == agent["name"]


def test_root_url_may_end_in_api_v1(server: OzServer) -> None:
    result = server.oz(
        "whoami", env={"WARP_SERVER_ROOT_URL": f"{server.url}/api/v1"}, api_key=server.owner_key
    )

    assert result.returncode == 0, failure(result)


@pytest.mark.parametrize(
    ("flag", "environment", "source"),
    [
        (["--server-root-url", "http://127.0.0.1:99999"], {}, "--server-root-url"),
        ([], {"WARP_SERVER_ROOT_URL": "localhost:8000"}, "WARP_SERVER_ROOT_URL"),
    ],
)
def test_bad_root_url_names_its_source(
    server: OzServer, flag: list[str], environment: dict[str, str], source: str
) -> None:
    result = server.oz(*flag, "whoami", api_key=server.owner_key, env=environment)

    assert result.returncode == 2, failure(result)
    assert result.stderr.startswith(f"Error: {source}: server root URL")
    assert "Traceback" not in result.stderr


def test_cli_errors_have_a_json_document(server: OzServer) -> None:
    last = server.owner_key[-1]
    mistyped = server.owner_key[:-1] + ("x" if last != "x" else "y")

    result = server.oz("--output-format", "json", "whoami", api_key=mistyped)

    assert result.returncode == 3, failure(result)
    document = json.loads(result.stderr.splitlines()[0])
    assert document["error"]["code"] == "authentication_required"
    assert "mistyped or truncated" in document["error"]["error"]


def test_closed_pipe_ends_quietly(server: OzServer) -> None:
    env = clean_env(WARP_SERVER_ROOT_URL=server.url, WARP_API_KEY=server.owner_key)
    process = subprocess.Popen(
        [BIN / "oz", "--output-format", "ndjson", "agent", "list"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None

    process.stdout.close()  # the reader goes away before oz writes, as `| head` can
    with process.stderr:
        stderr = process.stderr.read()
    status = process.wait(timeout=60)

    assert status == 1
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr


@pytest.mark.parametrize(
    "command",
    [
        ["run", "get", ""],
        ["run", "cancel", " "],
        ["agent", "get", ""],
        ["agent", "delete", "", "--force"],
        ["agent", "run-cloud", "-p", "hi", "--agent", ""],
    ],
)
def test_empty_ids_are_usage_errors(server: OzServer, command: list[str]) -> None:
    result = server.oz(*command, api_key=server.owner_key)

    assert result.returncode == 2, failure(result)
    assert "must not be empty" in result.stderr


def test_key_pasted_as_an_id_is_masked(server: OzServer) -> None:
    result = server.oz("run", "get", server.owner_key, api_key=server.owner_key)

    assert result.returncode == 5, failure(result)
    assert server.owner_key not in result.stderr
    assert f"wk-**{server.owner_key[-4:]}" in result.stderr
    assert server.owner_key not in server.log_path.read_text()


def test_narrow_terminal_prints_one_block_per_row(server: OzServer) -> None:
    result = server.oz("api-key", "list", api_key=server.owner_key, env={"COLUMNS": "60"})

    assert result.returncode == 0, failure(result)
    uid_lines = [line for line in result.stdout.splitlines() if line.startswith("UID:")]
    assert uid_lines
    assert all(len(line.split()[1]) == 22 for line in uid_lines)
    assert "Expires at: " in result.stdout

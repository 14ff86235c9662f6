"""`oz settings` as a command: sign-in checks before the app starts, and the app in a terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.conftest import ServerFactory, create_key, failure, unique
from tests.support.server import BIN, OzServer, clean_env
from tests.support.terminal import run_in_terminal

pytestmark = pytest.mark.e2e

EXIT_USAGE = 2
EXIT_AUTHENTICATION = 3
EXIT_NOT_AUTHORIZED = 4
EXIT_UNREACHABLE = 6
# Nothing listens on the discard port of loopback, so a client that contacts it fails.
CLOSED_PORT_URL = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> OzServer:
    return server_factory("sqlite")


@pytest.fixture
def empty_store(tmp_path: Path) -> dict[str, str]:
    """Variables that give `oz` an empty credential store instead of the user's own."""
    return {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def deleted_key(server: OzServer) -> str:
    created = create_key(server, unique("deleted"))
    server.oz("api-key", "expire", created["api_key"]["uid"], "--force", api_key=server.owner_key)
    return str(created["raw_api_key"])


@pytest.mark.parametrize(
    ("case", "expected_status"),
    [
        pytest.param("no-key", EXIT_AUTHENTICATION, id="no-key"),
        pytest.param("malformed-key", EXIT_AUTHENTICATION, id="malformed-key"),
        pytest.param("deleted-key", EXIT_AUTHENTICATION, id="deleted-key"),
        pytest.param("unreachable", EXIT_UNREACHABLE, id="unreachable"),
        pytest.param("invalid-url", EXIT_USAGE, id="invalid-url"),
    ],
)
def test_settings_fails_like_whoami(
    server: OzServer, empty_store: dict[str, str], case: str, expected_status: int
) -> None:
    api_key = {
        "no-key": None,
        "malformed-key": "not-a-key",
        "deleted-key": deleted_key(server) if case == "deleted-key" else None,
    }.get(case, server.owner_key)
    env = dict(empty_store)
    if case == "unreachable":
        env["WARP_SERVER_ROOT_URL"] = CLOSED_PORT_URL
    if case == "invalid-url":
        env["WARP_SERVER_ROOT_URL"] = "ftp://127.0.0.1"

    settings = server.oz("settings", api_key=api_key, env=env)
    whoami = server.oz("whoami", api_key=api_key, env=env)

    assert settings.returncode == expected_status, failure(settings)
    assert whoami.returncode == expected_status, failure(whoami)
    assert settings.stderr == whoami.stderr
    assert settings.stdout == ""


def test_settings_rejects_agent_key(server: OzServer) -> None:
    agent_key = create_key(
        server, unique("agent"), "--no-expiration", "--agent", server.default_agent_uid
    )

    result = server.oz("settings", api_key=agent_key["raw_api_key"])

    assert result.returncode == EXIT_NOT_AUTHORIZED, failure(result)
    assert "API keys are managed by users only" in result.stderr


def test_settings_needs_terminal(server: OzServer) -> None:
    result = server.oz("settings", api_key=server.owner_key)

    assert result.returncode == EXIT_USAGE, failure(result)
    assert result.stderr.startswith(
        "Error: `oz settings` is a full-screen app and needs a terminal"
    )


def test_settings_runs_with_login_credential(server: OzServer, empty_store: dict[str, str]) -> None:
    created = create_key(server, unique("stored"))
    credentials = Path(empty_store["XDG_CONFIG_HOME"]) / "oz" / "credentials.json"
    credentials.parent.mkdir(parents=True)
    credentials.write_text(json.dumps({server.url: created["raw_api_key"]}))
    os.chmod(credentials, 0o600)
    env = clean_env(WARP_SERVER_ROOT_URL=server.url, **empty_store)

    run = run_in_terminal(
        [BIN / "oz", "settings"], env, wait_for=created["api_key"]["name"].encode(), keys=b"q"
    )

    assert run.seen, run.screen.decode(errors="replace")[-2000:]
    assert run.returncode == 0
    assert b"credential from oz login" in run.screen
    assert created["raw_api_key"].encode() not in run.screen

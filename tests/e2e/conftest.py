"""Fixtures for end-to-end tests: real `ozd serve` processes driven by the real `oz` CLI.

Each test module starts its servers once per backend and shares them between its tests,
so every test creates its own keys, agents and runs and never depends on another test's.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import CHROMIUM
from tests.support.databases import PostgresDatabases
from tests.support.secrets import remember
from tests.support.server import OzServer

BACKENDS = ["sqlite", "postgresql"]

ServerFactory = Callable[..., OzServer]

# A stand-in agent program for the command harness. The first word of the prompt picks
# what it does, and the rest of the prompt is its argument.
HARNESS_SCRIPT = """\
import json
import os
import sys
import time
from pathlib import Path

prompt = os.environ["OZ_PROMPT"]
action, _, argument = prompt.partition(" ")
if action == "fail":
    print("partial work")
    print("the agent gave up", file=sys.stderr)
    sys.exit(3)
if action == "sleep":
    Path(argument).write_text(str(os.getpid()))
    time.sleep(60)
if action == "record-env":
    names = ("WARP_API_KEY", "OZ_SECRET", "OZ_DATABASE_URL")
    Path(argument).write_text(json.dumps({name: os.environ.get(name) for name in names}))
print(f"harness received: {prompt}")
"""


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Start `ozd serve` processes that live until the end of the test module.

    Each server gets its own data directory and, on PostgreSQL, its own database.
    Server logs are named `ozd-*.log` so the suite's check for leaked keys reads them.
    """
    servers: list[OzServer] = []
    databases: list[PostgresDatabases] = []

    def start(backend: str, **env: str) -> OzServer:
        data_dir = tmp_path_factory.mktemp("ozd")
        database_url = None
        if backend == "postgresql":
            database = PostgresDatabases()
            database.create()
            databases.append(database)
            database_url = database.url
        server = OzServer(data_dir, data_dir / f"ozd-e2e-{len(servers)}.log", database_url, env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
    for database in databases:
        database.drop()


@pytest.fixture(scope="module")
def server(backend: str, server_factory: ServerFactory) -> OzServer:
    """A server with the built-in harness and the embedded worker."""
    return server_factory(backend)


@pytest.fixture(scope="module")
def harness_command(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The OZ_HARNESS_COMMAND value that runs HARNESS_SCRIPT."""
    script = tmp_path_factory.mktemp("harness") / "agent.py"
    script.write_text(HARNESS_SCRIPT)
    return shlex.join([sys.executable, str(script)])


def create_key(
    server: OzServer, name: str, *flags: str, api_key: str | None = None
) -> dict[str, Any]:
    """Create a key with `oz api-key create` and return the JSON document it prints."""
    created = server.oz_json(
        "api-key",
        "create",
        name,
        *(flags or ("--no-expiration",)),
        api_key=api_key or server.owner_key,
    )
    remember(created["raw_api_key"])
    return dict(created)


def create_agent(server: OzServer, name: str) -> dict[str, Any]:
    """Create a cloud agent with `oz agent create` and return it."""
    return dict(server.oz_json("agent", "create", "--name", name, api_key=server.owner_key))


def failure(result: subprocess.CompletedProcess[str]) -> str:
    """Describe a finished CLI call for an assert message."""
    return f"exit status {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def unique(prefix: str) -> str:
    """Return a name no other test uses on the shared server."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def write_git_repository(root: Path) -> Path:
    """Create a small git repository with one commit, a README and a TODO."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text("def main() -> int:\n    # TODO: handle errors\n    return 1\n")
    (root / "README.md").write_text("# Demo\n\nA small repository.\n")
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "Add the app"], cwd=root, check=True)
    return root


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the whole session; each test opens its own context."""
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make chromium`, or set OZ_TEST_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()

"""`oz credits` and the operator's `ozd credits grant` against a real server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import failure
from tests.support.server import OzServer

pytestmark = pytest.mark.e2e


def test_grant_shows_in_balances_and_ledger(server: OzServer) -> None:
    before = server.oz_json("credits", api_key=server.owner_key)

    granted = server.ozd("credits", "grant", "--user", "owner@example.com", "400")
    after = server.oz_json("credits", api_key=server.owner_key)
    ledger = server.oz_json("credits", "ledger", "-L", "5", api_key=server.owner_key)

    assert granted.returncode == 0, granted.stderr
    assert after["available_credits"] == before["available_credits"] + 400
    assert ledger["entries"][0]["credits"] == 400
    assert ledger["entries"][0]["reason"] == "purchase"


def test_credits_pretty_lists_pools(server: OzServer) -> None:
    result = server.oz("credits", api_key=server.owner_key)

    assert result.returncode == 0, failure(result)
    assert "included" in result.stdout
    assert "Available for runs in Acme (build): " in result.stdout


def test_local_harness_usage_is_relayed(server: OzServer, tmp_path: Path) -> None:
    script = tmp_path / "agent.py"
    script.write_text(
        "import json, os\n"
        "for _ in range(2):\n"
        "    with open(os.environ['OZ_USAGE_FILE'], 'a') as usage:\n"
        "        usage.write(json.dumps({'inference_cost': 1.25}) + '\\n')\n"
        "print('done')\n"
    )

    result = server.oz(
        "--output-format",
        "json",
        "agent",
        "run",
        "-p",
        "work",
        api_key=server.owner_key,
        env={"OZ_HARNESS": "command", "OZ_HARNESS_COMMAND": f"{sys.executable} {script}"},
        cwd=tmp_path,
    )

    assert result.returncode == 0, failure(result)
    run = json.loads(result.stdout)
    assert run["request_usage"]["inference_cost"] == 2.5
    assert sum(pool["credits"] for pool in run["billing"]["pools"]) == 2.5

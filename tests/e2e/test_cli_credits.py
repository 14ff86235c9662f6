"""`oz credits` and the operator's `ozd credits grant` against a real server."""

from __future__ import annotations

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

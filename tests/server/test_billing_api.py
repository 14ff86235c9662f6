"""`/billing` and usage reports over HTTP."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Api


def start_local_run(api: Api, key: str | None = None) -> str:
    response = api.client.post(
        "/api/v1/agent/runs",
        json={"prompt": "work", "execution_location": "LOCAL", "source": "LOCAL"},
        headers=api.headers(key),
    )
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def report(api: Api, run_id: str, report_id: str, credits: float) -> dict[str, Any]:
    response = api.client.post(
        f"/api/v1/agent/runs/{run_id}/usage",
        json={"report_id": report_id, "inference_cost": credits},
        headers=api.headers(),
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def test_balances_show_the_included_pool(api: Api) -> None:
    response = api.client.get("/api/v1/billing/balances", headers=api.headers())

    document = response.json()
    assert response.status_code == 200
    assert document["available_credits"] == 1500.0
    assert [pool["pool"] for pool in document["pools"]] == ["included"]
    assert document["pools"][0]["plan"] == "build"


def test_usage_report_is_charged_once_and_listed(api: Api) -> None:
    run_id = start_local_run(api)

    first = report(api, run_id, "tick-1", 12.5)
    again = report(api, run_id, "tick-1", 12.5)
    ledger = api.client.get("/api/v1/billing/ledger", headers=api.headers()).json()
    run = api.client.get(f"/api/v1/agent/runs/{run_id}", headers=api.headers()).json()

    assert first["charged_credits"] == 12.5
    assert again["repeated"] is True
    assert [entry["credits"] for entry in ledger["entries"]] == [-12.5]
    assert ledger["entries"][0]["run_id"] == run_id
    assert run["request_usage"]["inference_cost"] == 12.5
    assert run["billing"]["pools"][0]["credits"] == 12.5
    assert run["billing"]["pools"][0]["pool"] == "included"


def test_run_out_of_credits_ends_failed(api: Api) -> None:
    run_id = start_local_run(api)

    outcome = report(api, run_id, "big", 2000)
    run = api.client.get(f"/api/v1/agent/runs/{run_id}", headers=api.headers()).json()

    assert outcome["charged_credits"] == 1500.0
    assert outcome["shortfall_credits"] == 500.0
    assert run["state"] == "FAILED"
    assert run["status_message"]["error_code"] == "insufficient_credits"
    refused = api.client.post("/api/v1/agent/runs", json={"prompt": "more"}, headers=api.headers())
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/insufficient-credits/")


def test_agent_key_sees_who_pays_not_the_pools(api: Api) -> None:
    _, agent_key = api.world.make_key(agent_uid=api.world.default_agent_uid)

    document = api.client.get("/api/v1/billing/balances", headers=api.headers(agent_key)).json()

    assert document["billed"] == {"type": "user", "uid": api.world.owner.uid}
    assert document["pools"] == []
    assert document["available_credits"] == 1500.0


def test_usage_report_rejects_negative_costs(api: Api) -> None:
    run_id = start_local_run(api)

    response = api.client.post(
        f"/api/v1/agent/runs/{run_id}/usage",
        json={"report_id": "x", "inference_cost": -1},
        headers=api.headers(),
    )

    assert response.status_code == 400
    assert response.json()["field"] == "inference_cost"


def test_ledger_limit_is_checked(api: Api) -> None:
    response = api.client.get("/api/v1/billing/ledger?limit=0", headers=api.headers())

    assert response.status_code == 400
    assert response.json()["field"] == "limit"

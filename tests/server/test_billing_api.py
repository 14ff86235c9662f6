"""`/billing` and usage reports over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

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


def test_admin_reads_and_changes_settings(api: Api) -> None:
    before = api.client.get("/api/v1/billing/settings", headers=api.headers()).json()

    changed = api.client.put(
        "/api/v1/billing/settings",
        json={"auto_reload": True, "reload_pack_credits": 1000, "monthly_cap_usd": 50},
        headers=api.headers(),
    )

    assert before["auto_reload"] is False
    assert before["monthly_cap_usd"] == 200.0
    assert before["reload_pack_credits"] == 400
    assert changed.status_code == 200, changed.text
    assert changed.json()["auto_reload"] is True
    assert changed.json()["reload_pack_usd"] == 20.0
    assert changed.json()["monthly_cap_usd"] == 50.0


def test_settings_reject_a_pack_at_the_threshold(api: Api) -> None:
    response = api.client.put(
        "/api/v1/billing/settings",
        json={"reload_pack_credits": 400, "reload_threshold_credits": 500},
        headers=api.headers(),
    )

    assert response.status_code == 400
    assert response.json()["field"] == "reload_pack_credits"


def test_members_cannot_read_settings_or_purchases(api: Api) -> None:
    member = api.world.add_user("member@example.com")
    _, member_key = api.world.make_key(member)

    settings = api.client.get("/api/v1/billing/settings", headers=api.headers(member_key))
    purchases = api.client.get("/api/v1/billing/purchases", headers=api.headers(member_key))

    assert settings.status_code == 403
    assert purchases.status_code == 403


def test_self_hosted_provider_declines_reloads(api: Api) -> None:
    from oz.billing.payments import SelfHostedProvider
    from oz.billing.reload import Reloader

    state = api.client.app.state.oz  # type: ignore[attr-defined]
    state.reloader = Reloader(api.world.database, SelfHostedProvider(), state.settings.catalog)
    api.client.put("/api/v1/billing/settings", json={"auto_reload": True}, headers=api.headers())
    run_id = start_local_run(api)
    report(api, run_id, "all", 1500)

    refused = api.client.post("/api/v1/agent/runs", json={"prompt": "x"}, headers=api.headers())
    purchases = api.client.get("/api/v1/billing/purchases", headers=api.headers()).json()
    settings = api.client.get("/api/v1/billing/settings", headers=api.headers()).json()

    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/insufficient-credits/")
    assert [row["status"] for row in purchases["purchases"]] == ["declined"]
    assert "ozd credits grant" in purchases["purchases"][0]["message"]
    assert len(settings["notices"]) == 1


def test_buying_with_the_self_hosted_provider_is_declined(api: Api) -> None:
    response = api.client.post(
        "/api/v1/billing/purchases", json={"credits": 400}, headers=api.headers()
    )

    assert response.status_code == 403
    assert "ozd credits grant" in response.json()["detail"]


def test_agent_keys_cannot_buy(api: Api) -> None:
    _, agent_key = api.world.make_key(agent_uid=api.world.default_agent_uid)

    response = api.client.post(
        "/api/v1/billing/purchases", json={"credits": 400}, headers=api.headers(agent_key)
    )

    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-authorized/")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("usage", {"report_id": "x", "inference_cost": 1e308}, "inference_cost"),
        ("usage", {"report_id": "x", "compute_cost": "Infinity"}, "compute_cost"),
        (
            "report",
            {"state": "SUCCEEDED", "request_usage": {"inference_cost": 1e16}},
            "request_usage.inference_cost",
        ),
    ],
)
def test_huge_usage_is_a_named_400(api: Api, path: str, body: dict[str, Any], field: str) -> None:
    run_id = start_local_run(api)

    response = api.client.post(
        f"/api/v1/agent/runs/{run_id}/{path}", json=body, headers=api.headers()
    )

    assert response.status_code == 400
    assert response.json()["field"] == field


def test_usage_after_the_run_ended_is_rejected(api: Api) -> None:
    run_id = start_local_run(api)
    api.client.post(
        f"/api/v1/agent/runs/{run_id}/report", json={"state": "SUCCEEDED"}, headers=api.headers()
    )

    response = api.client.post(
        f"/api/v1/agent/runs/{run_id}/usage",
        json={"report_id": "late", "inference_cost": 3},
        headers=api.headers(),
    )

    assert response.status_code == 400
    assert "already ended" in response.json()["detail"]


def test_reused_report_id_with_other_usage_is_rejected(api: Api) -> None:
    run_id = start_local_run(api)
    report(api, run_id, "r1", 12.75)

    response = api.client.post(
        f"/api/v1/agent/runs/{run_id}/usage",
        json={"report_id": "r1", "inference_cost": 99},
        headers=api.headers(),
    )

    assert response.status_code == 400
    assert response.json()["field"] == "report_id"
    assert "12.75" in response.json()["detail"]


def test_infinite_spend_cap_is_a_named_400(api: Api) -> None:
    response = api.client.put(
        "/api/v1/billing/settings", json={"monthly_cap_usd": "Infinity"}, headers=api.headers()
    )

    assert response.status_code == 400
    assert response.json()["field"] == "monthly_cap_usd"

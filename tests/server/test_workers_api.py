"""`/api/v1/workers`: claims, heartbeats, usage and reports of self-hosted workers."""

from __future__ import annotations

from tests.server.conftest import Api
from tests.server.test_runs_api import start_run


def agent_key(api: Api) -> str:
    _, key = api.world.make_key(agent_uid=api.world.default_agent_uid)
    return key


def test_claim_returns_run_without_caching(api: Api) -> None:
    run_id = start_run(api)

    response = api.client.post("/api/v1/workers/box/claim", headers=api.headers(agent_key(api)))

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["run"] == {"run_id": run_id, "prompt": "Run the tests"}
    assert response.json()["github"]["identity"] == {"type": "none"}


def test_claim_with_nothing_queued_is_204(api: Api) -> None:
    response = api.client.post("/api/v1/workers/box/claim", headers=api.headers(agent_key(api)))

    assert response.status_code == 204
    assert response.headers["cache-control"] == "no-store"


def test_claim_with_personal_key_is_403(api: Api) -> None:
    response = api.client.post("/api/v1/workers/box/claim", headers=api.headers())

    assert response.status_code == 403
    assert "agent key" in response.json()["detail"]


def test_claim_with_warp_id_is_400(api: Api) -> None:
    response = api.client.post(
        "/api/v1/workers/warp-box/claim", headers=api.headers(agent_key(api))
    )

    assert response.status_code == 400
    assert response.json()["field"] == "worker_id"


def test_report_twice_keeps_first_end(api: Api) -> None:
    run_id = start_run(api)
    key = agent_key(api)
    api.client.post("/api/v1/workers/box/claim", headers=api.headers(key))
    path = f"/api/v1/workers/box/runs/{run_id}/report"

    first = api.client.post(path, headers=api.headers(key), json={"state": "SUCCEEDED"})
    second = api.client.post(path, headers=api.headers(key), json={"state": "ERROR"})

    assert first.json() == {"run_id": run_id, "state": "SUCCEEDED", "recorded": True}
    assert second.json() == {"run_id": run_id, "state": "SUCCEEDED", "recorded": False}


def test_usage_retry_is_charged_once(api: Api) -> None:
    run_id = start_run(api)
    key = agent_key(api)
    api.client.post("/api/v1/workers/box/claim", headers=api.headers(key))
    path = f"/api/v1/workers/box/runs/{run_id}/usage"
    body = {"report_id": "usage-1", "inference_cost": 1.5}

    first = api.client.post(path, headers=api.headers(key), json=body)
    second = api.client.post(path, headers=api.headers(key), json=body)

    assert first.json()["repeated"] is False
    assert second.json()["repeated"] is True
    run = api.client.get(f"/api/v1/agent/runs/{run_id}", headers=api.headers()).json()
    assert run["request_usage"]["inference_cost"] == 1.5


def test_heartbeat_by_other_worker_is_403(api: Api) -> None:
    run_id = start_run(api)
    key = agent_key(api)
    api.client.post("/api/v1/workers/box/claim", headers=api.headers(key))

    response = api.client.post(
        f"/api/v1/workers/other/runs/{run_id}/heartbeat", headers=api.headers(key)
    )

    assert response.status_code == 403

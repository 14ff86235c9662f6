"""`/api/v1/agent/runs`: start, read, list, cancel and report runs, attributed to a caller."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Clock
from tests.server.conftest import Api

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
# More pages than any listing here needs, so a cursor that never ends fails the test.
MAX_PAGES = 10


def start_run(api: Api, key: str | None = None, **body: Any) -> str:
    response = api.client.post(
        "/api/v1/agent/runs", headers=api.headers(key), json={"prompt": "Run the tests", **body}
    )
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


def get_run(api: Api, run_id: str, key: str | None = None) -> dict[str, Any]:
    response = api.client.get(f"/api/v1/agent/runs/{run_id}", headers=api.headers(key))
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def list_run_ids(api: Api, **params: Any) -> list[str]:
    response = api.client.get("/api/v1/agent/runs", headers=api.headers(), params=params)
    assert response.status_code == 200, response.text
    return [run["run_id"] for run in response.json()["runs"]]


def walk_pages(api: Api, **params: Any) -> tuple[list[list[str]], dict[str, Any]]:
    """Follow `next_cursor` from the first page and return each page's run ids and the last
    page_info."""
    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.client.get("/api/v1/agent/runs", headers=api.headers(), params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([run["run_id"] for run in page["runs"]])
        cursor = page["page_info"]["next_cursor"]
        if not page["page_info"]["has_next_page"]:
            return pages, page["page_info"]
    pytest.fail(f"the listing did not end within {MAX_PAGES} pages: {pages}")


@pytest.mark.parametrize("path", ["/api/v1/agent/runs", "/api/v1/agent/run"])
def test_start_run_queued(api: Api, path: str) -> None:
    response = api.client.post(path, headers=api.headers(), json={"prompt": "Run the tests"})

    body = response.json()
    assert response.status_code == 200
    assert body["run_id"] == body["task_id"]
    assert body["state"] == "QUEUED"
    assert body["at_capacity"] is False


def test_get_run_returns_run_item(api: Api) -> None:
    key_view, key = api.world.make_key(name="runner")
    run_id = start_run(
        api, key, prompt="Fix the flaky test\nIt fails on Mondays.", config={"name": "nightly"}
    )

    run = get_run(api, run_id, key)

    assert run["run_id"] == run_id
    assert run["task_id"] == run_id
    assert run["title"] == "Fix the flaky test"
    assert run["state"] == "QUEUED"
    assert run["prompt"] == "Fix the flaky test\nIt fails on Mondays."
    assert RFC3339_UTC.match(run["created_at"])
    assert RFC3339_UTC.match(run["updated_at"])
    assert run["started_at"] is None
    assert run["ended_at"] is None
    assert run["creator"] == {
        "type": "user",
        "uid": api.world.owner.uid,
        "display_name": "Owner",
        "email": "owner@example.com",
    }
    assert run["scope"] == {"type": "User", "uid": api.world.owner.uid}
    assert run["source"] == "API"
    assert run["execution_location"] == "REMOTE"
    assert run["api_key_uid"] == key_view.uid
    assert run["agent_config"] == {"name": "nightly"}
    assert run["is_run_type_cancellable"] is True


def test_get_run_created_at_frozen_time(api: Api, frozen_clock: Clock) -> None:
    run_id = start_run(api)

    run = get_run(api, run_id)

    assert run["created_at"] == "2030-01-15T12:00:00Z"
    assert run["updated_at"] == "2030-01-15T12:00:00Z"


def test_run_by_agent_key_attributed_to_agent(api: Api) -> None:
    agent_uid = api.world.add_agent("Nightly builder")
    key_view, key = api.world.make_key(agent_uid=agent_uid, name="nightly")

    run = get_run(api, start_run(api, key), key)

    assert run["creator"] == {
        "type": "service_account",
        "uid": agent_uid,
        "display_name": "Nightly builder",
        "email": None,
    }
    assert run["scope"] == {"type": "Team", "uid": api.world.team_uid}
    assert run["api_key_uid"] == key_view.uid


def test_run_by_user_key_as_agent_identity(api: Api) -> None:
    agent_uid = api.world.add_agent("Nightly builder")
    key_view, key = api.world.make_key(name="personal")

    run = get_run(api, start_run(api, key, agent_identity_uid=agent_uid), key)

    assert run["creator"]["type"] == "service_account"
    assert run["creator"]["uid"] == agent_uid
    assert run["creator"]["display_name"] == "Nightly builder"
    assert run["scope"] == {"type": "Team", "uid": api.world.team_uid}
    assert run["api_key_uid"] == key_view.uid


def test_run_by_agent_key_as_other_identity_forbidden(api: Api) -> None:
    other_agent = api.world.add_agent("Other")
    _, key = api.world.make_key(agent_uid=api.world.default_agent_uid, name="default")

    response = api.client.post(
        "/api/v1/agent/runs",
        headers=api.headers(key),
        json={"prompt": "Run the tests", "agent_identity_uid": other_agent},
    )

    assert response.status_code == 403
    assert response.json()["field"] == "agent_identity_uid"


def test_other_team_run_not_found(api: Api) -> None:
    other_owner, _ = api.world.add_team("other@example.com")
    _, other_key = api.world.make_key(other_owner, name="theirs")
    theirs = start_run(api, other_key)

    fetched = api.client.get(f"/api/v1/agent/runs/{theirs}", headers=api.headers())
    cancelled = api.client.post(f"/api/v1/agent/runs/{theirs}/cancel", headers=api.headers())

    assert fetched.status_code == 404
    assert fetched.json()["type"].endswith("/resource-not-found/")
    assert cancelled.status_code == 404
    assert theirs not in list_run_ids(api)
    assert get_run(api, theirs, other_key)["state"] == "QUEUED"


@pytest.mark.parametrize(
    "order",
    [
        pytest.param({}, id="updated_at-desc"),
        pytest.param({"sort_by": "created_at", "sort_order": "asc"}, id="created_at-asc"),
        pytest.param({"sort_by": "title", "sort_order": "asc"}, id="title-asc"),
    ],
)
def test_list_pages_walk_every_run_once(api: Api, order: dict[str, str]) -> None:
    run_ids = [start_run(api, prompt=f"Task {number}") for number in range(5)]

    pages, last_page_info = walk_pages(api, limit=2, **order)

    walked = [run_id for page in pages for run_id in page]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(walked) == sorted(run_ids)
    assert last_page_info == {"has_next_page": False, "next_cursor": None}


def test_list_pages_with_equal_timestamps(api: Api, frozen_clock: Clock) -> None:
    run_ids = [start_run(api, prompt=f"Task {number}") for number in range(5)]

    pages, last_page_info = walk_pages(api, limit=2)

    walked = [run_id for page in pages for run_id in page]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(walked) == sorted(run_ids)
    assert last_page_info["has_next_page"] is False


def test_list_title_order(api: Api) -> None:
    by_title = {title: start_run(api, title=title) for title in ("beta", "alpha", "gamma")}

    listed = list_run_ids(api, sort_by="title", sort_order="asc")

    assert listed == [by_title["alpha"], by_title["beta"], by_title["gamma"]]


def test_list_filters_by_state(api: Api) -> None:
    queued = start_run(api)
    cancelled = start_run(api)
    local = start_run(api, execution_location="LOCAL")
    api.client.post(f"/api/v1/agent/runs/{cancelled}/cancel", headers=api.headers())

    only_cancelled = list_run_ids(api, state="CANCELLED")
    queued_or_cancelled = list_run_ids(api, state=["QUEUED", "CANCELLED"])
    everything = list_run_ids(api)

    assert only_cancelled == [cancelled]
    assert set(queued_or_cancelled) == {queued, cancelled}
    assert set(everything) == {queued, cancelled, local}


def test_cancel_queued_run(api: Api) -> None:
    run_id = start_run(api)

    response = api.client.post(f"/api/v1/agent/runs/{run_id}/cancel", headers=api.headers())

    run = get_run(api, run_id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == run_id
    assert run["state"] == "CANCELLED"
    assert run["status_message"] == {"message": f"Cancelled by user:{api.world.owner.uid}"}
    assert RFC3339_UTC.match(run["ended_at"])


def test_cancel_twice_rejected(api: Api) -> None:
    run_id = start_run(api)
    api.client.post(f"/api/v1/agent/runs/{run_id}/cancel", headers=api.headers())

    response = api.client.post(f"/api/v1/agent/runs/{run_id}/cancel", headers=api.headers())

    assert response.status_code == 400
    assert response.json()["type"].endswith("/invalid-request/")
    assert response.json()["detail"] == f"run {run_id} already ended in state CANCELLED"


def test_cancel_local_run_not_supported(api: Api) -> None:
    run_id = start_run(api, execution_location="LOCAL")

    response = api.client.post(f"/api/v1/agent/runs/{run_id}/cancel", headers=api.headers())

    assert response.status_code == 422
    assert response.json()["type"].endswith("/operation-not-supported/")
    assert get_run(api, run_id)["state"] == "INPROGRESS"


def test_report_local_run_succeeded(api: Api) -> None:
    run_id = start_run(api, execution_location="LOCAL")

    response = api.client.post(
        f"/api/v1/agent/runs/{run_id}/report",
        headers=api.headers(),
        json={
            "state": "SUCCEEDED",
            "output": "All 42 tests pass.",
            "request_usage": {"inference_cost": 0.25, "compute_cost": 0.5},
        },
    )

    run = get_run(api, run_id)
    assert response.status_code == 200
    assert response.json() == run
    assert run["state"] == "SUCCEEDED"
    assert run["output"] == "All 42 tests pass."
    assert run["request_usage"] == {"inference_cost": 0.25, "compute_cost": 0.5}
    assert run["execution_location"] == "LOCAL"
    assert run["is_run_type_cancellable"] is False
    assert RFC3339_UTC.match(run["ended_at"])
    assert run["run_time"].startswith("PT")


def test_report_by_other_key_forbidden(api: Api) -> None:
    run_id = start_run(api, execution_location="LOCAL")
    _, other_key = api.world.make_key(name="second key of the same user")

    response = api.client.post(
        f"/api/v1/agent/runs/{run_id}/report",
        headers=api.headers(other_key),
        json={"state": "SUCCEEDED", "output": "not mine"},
    )

    run = get_run(api, run_id)
    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-authorized/")
    assert run["state"] == "INPROGRESS"
    assert run["output"] is None


def test_report_twice_rejected(api: Api) -> None:
    run_id = start_run(api, execution_location="LOCAL")
    api.client.post(
        f"/api/v1/agent/runs/{run_id}/report", headers=api.headers(), json={"state": "FAILED"}
    )

    response = api.client.post(
        f"/api/v1/agent/runs/{run_id}/report", headers=api.headers(), json={"state": "SUCCEEDED"}
    )

    assert response.status_code == 400
    assert get_run(api, run_id)["state"] == "FAILED"


def test_report_retry_returns_the_recorded_run(api: Api) -> None:
    run_id = start_run(api, execution_location="LOCAL")
    body = {"state": "SUCCEEDED", "request_usage": {"inference_cost": 2.5}}
    first = api.client.post(f"/api/v1/agent/runs/{run_id}/report", headers=api.headers(), json=body)

    retry = api.client.post(f"/api/v1/agent/runs/{run_id}/report", headers=api.headers(), json=body)

    assert first.status_code == 200
    assert retry.status_code == 200
    assert retry.json()["request_usage"]["inference_cost"] == 2.5
    assert retry.json()["billing"]["pools"][0]["credits"] == 2.5

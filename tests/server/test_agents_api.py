"""`/api/v1/agent/identities`: a team's cloud agents, as the Oz SDK reads them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Clock
from tests.server.conftest import Api

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
EMPTY_MEMORY = {"attached_stores": [], "auto_memory": {"enabled": False}}


def create_agent(api: Api, **body: Any) -> dict[str, Any]:
    response = api.client.post("/api/v1/agent/identities", headers=api.headers(), json=body)
    assert response.status_code == 201, response.text
    agent: dict[str, Any] = response.json()
    return agent


def test_create_returns_sdk_fields(api: Api) -> None:
    response = api.client.post(
        "/api/v1/agent/identities", headers=api.headers(), json={"name": "Builder"}
    )

    agent = response.json()
    assert response.status_code == 201
    assert agent["uid"]
    assert agent["name"] == "Builder"
    assert agent["available"] is True
    assert RFC3339_UTC.match(agent["created_at"])
    assert RFC3339_UTC.match(agent["updated_at"])
    assert agent["default_runner_uid"] == ""
    assert agent["skills"] == []
    assert agent["secrets"] == []
    assert agent["memory"] == EMPTY_MEMORY
    assert agent["is_default"] is False
    assert agent["team_uid"] == api.world.team_uid


def test_create_stores_oz_settings(api: Api) -> None:
    created = create_agent(
        api,
        name="Reviewer",
        description="Reviews pull requests",
        default_runner_uid="runner-7",
        skills=["review"],
        secrets=[{"name": "GITHUB_TOKEN"}],
        base_model="claude",
        harness="ignored by oz",
    )

    fetched = api.client.get(f"/api/v1/agent/identities/{created['uid']}", headers=api.headers())

    assert fetched.status_code == 200
    assert fetched.json() == created
    assert created["description"] == "Reviews pull requests"
    assert created["default_runner_uid"] == "runner-7"
    assert created["skills"] == ["review"]
    assert created["secrets"] == [{"name": "GITHUB_TOKEN"}]
    assert created["base_model"] == "claude"
    assert "harness" not in created


def test_list_puts_default_agent_first(api: Api) -> None:
    create_agent(api, name="Aardvark")
    create_agent(api, name="Builder")

    response = api.client.get("/api/v1/agent/identities", headers=api.headers())

    agents = response.json()["agents"]
    assert response.status_code == 200
    assert set(response.json()) == {"agents"}
    assert [agent["name"] for agent in agents] == [
        "Default Service Account",
        "Aardvark",
        "Builder",
    ]
    assert agents[0]["is_default"] is True
    assert agents[0]["uid"] == api.world.default_agent_uid


def test_list_hides_other_team_agents(api: Api) -> None:
    other_owner, _ = api.world.add_team("other@example.com")
    api.world.add_agent("Their agent", creator=other_owner)

    response = api.client.get("/api/v1/agent/identities", headers=api.headers())

    assert [agent["name"] for agent in response.json()["agents"]] == ["Default Service Account"]


def test_delete_default_agent_rejected(api: Api) -> None:
    response = api.client.delete(
        f"/api/v1/agent/identities/{api.world.default_agent_uid}", headers=api.headers()
    )

    still_there = api.client.get(
        f"/api/v1/agent/identities/{api.world.default_agent_uid}", headers=api.headers()
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/invalid-request/")
    assert "default cloud agent" in response.json()["detail"]
    assert still_there.status_code == 200


def test_delete_agent_revokes_its_keys(api: Api) -> None:
    doomed = api.world.add_agent("Doomed")
    survivor = api.world.add_agent("Survivor")
    _, used_key = api.world.make_key(agent_uid=doomed, name="used")
    _, unused_key = api.world.make_key(agent_uid=doomed, name="unused")
    _, survivor_key = api.world.make_key(agent_uid=survivor, name="survivor")
    assert api.client.get("/api/v1/me", headers=api.headers(used_key)).status_code == 200

    response = api.client.delete(f"/api/v1/agent/identities/{doomed}", headers=api.headers())

    assert response.status_code == 204
    assert response.content == b""
    for key in (used_key, unused_key):
        after = api.client.get("/api/v1/me", headers=api.headers(key))
        assert after.status_code == 401
    assert api.client.get("/api/v1/me", headers=api.headers(survivor_key)).status_code == 200
    assert api.client.get("/api/v1/me", headers=api.headers()).status_code == 200


def test_delete_agent_hides_agent_and_keys(api: Api) -> None:
    doomed = api.world.add_agent("Doomed")
    key_view, _ = api.world.make_key(agent_uid=doomed, name="bound")

    api.client.delete(f"/api/v1/agent/identities/{doomed}", headers=api.headers())

    fetched = api.client.get(f"/api/v1/agent/identities/{doomed}", headers=api.headers())
    listed = api.client.get("/api/v1/agent/identities", headers=api.headers()).json()["agents"]
    keys = api.client.get("/api/v1/api-keys", headers=api.headers()).json()["api_keys"]
    assert fetched.status_code == 404
    assert doomed not in {agent["uid"] for agent in listed}
    assert key_view.uid not in {key["uid"] for key in keys}


@pytest.mark.parametrize(
    ("method", "body"),
    [
        pytest.param("GET", None, id="get"),
        pytest.param("PUT", {"name": "Mine now"}, id="put"),
        pytest.param("DELETE", None, id="delete"),
    ],
)
def test_other_team_agent_not_found(api: Api, method: str, body: dict[str, str] | None) -> None:
    other_owner, _ = api.world.add_team("other@example.com")
    theirs = api.world.add_agent("Their agent", creator=other_owner)
    _, other_key = api.world.make_key(other_owner, name="theirs")

    response = api.client.request(
        method, f"/api/v1/agent/identities/{theirs}", headers=api.headers(), json=body
    )

    unchanged = api.client.get(f"/api/v1/agent/identities/{theirs}", headers=api.headers(other_key))
    assert response.status_code == 404
    assert response.json()["type"].endswith("/resource-not-found/")
    assert unchanged.status_code == 200
    assert unchanged.json()["name"] == "Their agent"


def test_update_renames_agent(api: Api, frozen_clock: Clock) -> None:
    created = create_agent(api, name="Builder", description="Builds things")
    frozen_clock.advance(minutes=5)

    response = api.client.put(
        f"/api/v1/agent/identities/{created['uid']}",
        headers=api.headers(),
        json={"name": "  Release builder  "},
    )

    fetched = api.client.get(f"/api/v1/agent/identities/{created['uid']}", headers=api.headers())
    assert response.status_code == 200
    assert response.json()["name"] == "Release builder"
    assert response.json()["description"] == "Builds things"
    assert response.json()["created_at"] == "2030-01-15T12:00:00Z"
    assert response.json()["updated_at"] == "2030-01-15T12:05:00Z"
    assert fetched.json() == response.json()


def test_update_merges_settings(api: Api) -> None:
    created = create_agent(api, name="Builder", skills=["build"], base_model="small")

    response = api.client.put(
        f"/api/v1/agent/identities/{created['uid']}",
        headers=api.headers(),
        json={"base_model": "large"},
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Builder"
    assert response.json()["skills"] == ["build"]
    assert response.json()["base_model"] == "large"

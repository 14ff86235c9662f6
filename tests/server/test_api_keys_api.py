"""`/api/v1/api-keys`: users create, list and delete keys, but agent keys may not."""

from __future__ import annotations

import re
from typing import Any

import pytest

from oz import keys
from tests.conftest import Clock
from tests.server.conftest import Api
from tests.support.secrets import remember

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
KEY_ROW_FIELDS = {
    "uid",
    "name",
    "type",
    "key_suffix",
    "scope",
    "created_at",
    "last_used_at",
    "expires_at",
}


def create_key(api: Api, key: str | None = None, **body: Any) -> dict[str, Any]:
    """Create a key through the API and return the response body."""
    response = api.client.post(
        "/api/v1/api-keys", headers=api.headers(key), json={"expires_in": "never", **body}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    remember(created["raw_api_key"])
    return created


def listed_keys(api: Api, key: str | None = None, **params: str) -> list[dict[str, Any]]:
    response = api.client.get("/api/v1/api-keys", headers=api.headers(key), params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["api_keys"]
    return rows


def test_create_returns_raw_key_and_row(api: Api) -> None:
    response = api.client.post(
        "/api/v1/api-keys", headers=api.headers(), json={"name": "ci", "expires_in": "never"}
    )

    body = response.json()
    raw = remember(body["raw_api_key"])
    row = body["api_key"]
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert set(body) == {"raw_api_key", "api_key"}
    assert raw.startswith("wk-")
    assert len(raw) == 40
    assert set(row) == KEY_ROW_FIELDS
    assert row["name"] == "ci"
    assert row["type"] == "personal"
    assert row["key_suffix"] == raw[-4:]
    assert row["scope"] == {
        "type": "personal",
        "uid": api.world.owner.uid,
        "name": "owner@example.com",
    }
    assert RFC3339_UTC.match(row["created_at"])
    assert row["last_used_at"] is None
    assert row["expires_at"] is None


def test_create_agent_key_scoped_to_agent(api: Api) -> None:
    created = create_key(api, name="deploy", type="agent", agent_uid=api.world.default_agent_uid)

    me = api.client.get("/api/v1/me", headers=api.headers(created["raw_api_key"]))

    assert created["api_key"]["type"] == "agent"
    assert created["api_key"]["scope"] == {
        "type": "agent",
        "uid": api.world.default_agent_uid,
        "name": "Default Service Account",
    }
    assert me.status_code == 200
    assert me.json()["type"] == "service_account"
    assert me.json()["uid"] == api.world.default_agent_uid


def test_create_key_authenticates(api: Api) -> None:
    created = create_key(api, name="laptop")

    response = api.client.get("/api/v1/me", headers=api.headers(created["raw_api_key"]))

    assert response.status_code == 200
    assert response.json()["email"] == "owner@example.com"
    assert response.json()["api_key_uid"] == created["api_key"]["uid"]


def test_create_key_expiry_from_duration(api: Api, frozen_clock: Clock) -> None:
    created = create_key(api, name="month", expires_in="30d")

    assert created["api_key"]["created_at"] == "2030-01-15T12:00:00Z"
    assert created["api_key"]["expires_at"] == "2030-02-14T12:00:00Z"


def test_create_key_expiry_from_time(api: Api, frozen_clock: Clock) -> None:
    response = api.client.post(
        "/api/v1/api-keys",
        headers=api.headers(),
        json={"name": "until June", "expires_at": "2030-06-01T09:30:00+02:00"},
    )

    remember(response.json()["raw_api_key"])
    assert response.status_code == 201
    assert response.json()["api_key"]["expires_at"] == "2030-06-01T07:30:00Z"


def test_create_never_expiring_key(api: Api) -> None:
    created = create_key(api, name="forever", expires_in="never")

    rows = {row["uid"]: row for row in listed_keys(api)}

    assert created["api_key"]["expires_at"] is None
    assert rows[created["api_key"]["uid"]]["expires_at"] is None


def test_list_never_contains_raw_key_or_digest(api: Api) -> None:
    created = create_key(api, name="secret-bearing")
    raw = created["raw_api_key"]
    owner_raw = api.owner_key
    digests = [keys.digest(keys.parse(value), api.world.secret) for value in (raw, owner_raw)]

    response = api.client.get("/api/v1/api-keys", headers=api.headers())

    assert response.status_code == 200
    assert len(response.json()["api_keys"]) == 2
    assert raw not in response.text
    assert raw[3:] not in response.text
    assert owner_raw[3:] not in response.text
    for digest in digests:
        assert digest not in response.text


def test_list_shows_same_name_twice(api: Api) -> None:
    first = create_key(api, name="ci")
    second = create_key(api, name="ci")

    rows = listed_keys(api)

    ci_uids = {row["uid"] for row in rows if row["name"] == "ci"}
    assert ci_uids == {first["api_key"]["uid"], second["api_key"]["uid"]}


def test_list_sort_by_name(api: Api) -> None:
    for name in ("charlie", "alpha", "Bravo"):
        create_key(api, name=name)

    rows = listed_keys(api, sort_by="name")

    assert [row["name"] for row in rows] == ["alpha", "Bravo", "charlie", "test key"]


def test_list_member_visibility(api: Api) -> None:
    member = api.world.add_user("member@example.com")
    colleague = api.world.add_user("colleague@example.com")
    member_view, member_raw = api.world.make_key(member, name="member personal")
    colleague_view, _ = api.world.make_key(colleague, name="colleague personal")
    agent_view, _ = api.world.make_key(
        colleague, agent_uid=api.world.default_agent_uid, name="team agent"
    )

    rows = listed_keys(api, member_raw)

    assert {row["uid"] for row in rows} == {member_view.uid, agent_view.uid}
    assert colleague_view.uid not in {row["uid"] for row in rows}


def test_list_hides_other_team_agent_keys(api: Api) -> None:
    other_owner, _ = api.world.add_team("other@example.com")
    other_agent = api.world.add_agent("Their agent", creator=other_owner)
    other_view, _ = api.world.make_key(other_owner, agent_uid=other_agent, name="theirs")

    rows = listed_keys(api)

    assert other_view.uid not in {row["uid"] for row in rows}


def test_delete_revokes_cached_key(api: Api) -> None:
    created = create_key(api, name="to revoke")
    raw = created["raw_api_key"]
    uid = created["api_key"]["uid"]
    assert api.client.get("/api/v1/me", headers=api.headers(raw)).status_code == 200

    deleted = api.client.delete(f"/api/v1/api-keys/{uid}", headers=api.headers())
    after = api.client.get("/api/v1/me", headers=api.headers(raw))

    assert deleted.status_code == 200
    assert deleted.json() == {"key_uid": uid, "expired": True}
    assert after.status_code == 401
    assert (
        after.json()["detail"] == "the API key is not valid: it is unknown, or it was deleted"
        " (`oz api-key expire` deletes a key)"
    )
    assert uid not in {row["uid"] for row in listed_keys(api)}


def test_delete_unknown_key_not_found(api: Api) -> None:
    response = api.client.delete("/api/v1/api-keys/no-such-key", headers=api.headers())

    assert response.status_code == 404
    assert response.json()["type"].endswith("/resource-not-found/")


def test_delete_other_member_personal_key_not_found(api: Api) -> None:
    member = api.world.add_user("member@example.com")
    member_view, member_raw = api.world.make_key(member, name="member personal")

    response = api.client.delete(f"/api/v1/api-keys/{member_view.uid}", headers=api.headers())

    assert response.status_code == 404
    assert api.client.get("/api/v1/me", headers=api.headers(member_raw)).status_code == 200


def test_delete_twice_not_found(api: Api) -> None:
    created = create_key(api, name="once")
    uid = created["api_key"]["uid"]
    api.client.delete(f"/api/v1/api-keys/{uid}", headers=api.headers())

    response = api.client.delete(f"/api/v1/api-keys/{uid}", headers=api.headers())

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", "/api/v1/api-keys", None, id="list-keys"),
        pytest.param(
            "POST", "/api/v1/api-keys", {"name": "x", "expires_in": "never"}, id="create-key"
        ),
        pytest.param("DELETE", "/api/v1/api-keys/{owner_key_uid}", None, id="delete-key"),
        pytest.param("POST", "/api/v1/agent/identities", {"name": "x"}, id="create-agent"),
        pytest.param(
            "PUT", "/api/v1/agent/identities/{agent_uid}", {"name": "x"}, id="update-agent"
        ),
        pytest.param("DELETE", "/api/v1/agent/identities/{agent_uid}", None, id="delete-agent"),
    ],
)
def test_agent_key_not_authorized(
    api: Api, method: str, path: str, body: dict[str, str] | None
) -> None:
    agent_uid = api.world.add_agent("Builder")
    _, agent_raw = api.world.make_key(agent_uid=api.world.default_agent_uid, name="agent")
    owner_key_uid = api.client.get("/api/v1/me", headers=api.headers()).json()["api_key_uid"]
    url = path.format(owner_key_uid=owner_key_uid, agent_uid=agent_uid)

    response = api.client.request(method, url, headers=api.headers(agent_raw), json=body)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-authorized/")
    assert api.client.get("/api/v1/me", headers=api.headers()).status_code == 200
    agent = api.client.get(f"/api/v1/agent/identities/{agent_uid}", headers=api.headers())
    assert agent.json()["name"] == "Builder"

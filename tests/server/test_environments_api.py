"""Environments: created by any member, changed or deleted by their creator or an admin."""

from __future__ import annotations

from tests.server.conftest import Api
from tests.support.secrets import remember

ENVIRONMENTS = "/api/v1/agent/environments"


def create(api: Api, key: str | None = None, **body: object) -> dict[str, object]:
    response = api.client.post(
        ENVIRONMENTS, json={"name": "widgets", **body}, headers=api.headers(key)
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def test_create_get_list_update_delete(api: Api) -> None:
    created = create(api, repos=["acme/widgets.git"], setup_commands=["make deps"])
    uid = created["uid"]

    shown = api.client.get(f"{ENVIRONMENTS}/{uid}", headers=api.headers()).json()
    updated = api.client.put(
        f"{ENVIRONMENTS}/{uid}",
        json={"setup_commands": ["make", "make test"]},
        headers=api.headers(),
    ).json()
    listed = api.client.get(ENVIRONMENTS, headers=api.headers()).json()
    deleted = api.client.delete(f"{ENVIRONMENTS}/{uid}", headers=api.headers())

    assert shown["repos"] == ["acme/widgets"]
    assert updated["setup_commands"] == ["make", "make test"]
    assert updated["repos"] == ["acme/widgets"]
    assert [environment["uid"] for environment in listed["environments"]] == [uid]
    assert deleted.status_code == 204
    assert api.client.get(f"{ENVIRONMENTS}/{uid}", headers=api.headers()).status_code == 404


def test_members_change_only_their_own(api: Api) -> None:
    member = api.world.add_user("member@example.com")
    _, member_key = api.world.make_key(member)
    remember(member_key)
    owners = create(api, name="owners")
    members = create(api, member_key, name="members")

    refused = api.client.delete(f"{ENVIRONMENTS}/{owners['uid']}", headers=api.headers(member_key))
    own = api.client.delete(f"{ENVIRONMENTS}/{members['uid']}", headers=api.headers(member_key))

    assert refused.status_code == 403
    assert own.status_code == 204


def test_admins_change_any(api: Api) -> None:
    member = api.world.add_user("member@example.com")
    _, member_key = api.world.make_key(member)
    remember(member_key)
    members = create(api, member_key, name="members")

    renamed = api.client.put(
        f"{ENVIRONMENTS}/{members['uid']}", json={"name": "renamed"}, headers=api.headers()
    )

    assert renamed.status_code == 200
    assert renamed.json()["name"] == "renamed"


def test_agent_default_environment_applies_to_its_runs(api: Api) -> None:
    created = create(api, name="agent env")
    agent = api.client.post(
        "/api/v1/agent/identities",
        json={"name": "Builder", "environment_id": "no-such-environment"},
        headers=api.headers(),
    ).json()
    _, agent_key = api.world.make_key(agent_uid=agent["uid"])

    refused = api.client.post(
        "/api/v1/agent/runs", json={"prompt": "build"}, headers=api.headers(agent_key)
    )
    api.client.put(
        f"/api/v1/agent/identities/{agent['uid']}",
        json={"environment_id": created["uid"]},
        headers=api.headers(),
    )
    accepted = api.client.post(
        "/api/v1/agent/runs", json={"prompt": "build"}, headers=api.headers(agent_key)
    )

    assert refused.status_code == 400
    assert refused.json()["field"] == "environment_id"
    assert "cloud agent's environment_id" in refused.json()["detail"]
    assert accepted.status_code == 200, accepted.text

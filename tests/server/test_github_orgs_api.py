"""Team GitHub authorization: admins enable organizations that have the App installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oz.github.app import GitHubApp
from tests.server.conftest import Api, use_github
from tests.support.github import APP_ID, APP_PRIVATE_KEY, FakeGitHub, key_pair, running_github
from tests.support.secrets import remember

ORGS = "/api/v1/github/orgs"


@pytest.fixture
def github(api: Api) -> Iterator[FakeGitHub]:
    with running_github(FakeGitHub(installations={777: "acme"})) as fake:
        use_github(api, fake.url, github_app=GitHubApp(APP_ID, APP_PRIVATE_KEY))
        yield fake


def test_enabling_looks_up_the_installation(api: Api, github: FakeGitHub) -> None:
    enabled = api.client.put(f"{ORGS}/Acme", json={}, headers=api.headers())
    listed = api.client.get(ORGS, headers=api.headers())

    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["org"] == "acme"
    assert enabled.json()["installation_id"] == 777
    assert listed.json()["app_configured"] is True
    assert [org["org"] for org in listed.json()["orgs"]] == ["acme"]


def test_enabling_twice_keeps_one_row(api: Api, github: FakeGitHub) -> None:
    api.client.put(f"{ORGS}/acme", json={}, headers=api.headers())
    again = api.client.put(f"{ORGS}/acme", json={"installation_id": 777}, headers=api.headers())

    assert again.status_code == 200, again.text
    assert len(api.client.get(ORGS, headers=api.headers()).json()["orgs"]) == 1


def test_org_without_app_rejected(api: Api, github: FakeGitHub) -> None:
    response = api.client.put(f"{ORGS}/elsewhere", json={}, headers=api.headers())

    assert response.status_code == 400
    assert response.json()["field"] == "org"
    assert "must install it" in response.json()["detail"]


def test_wrong_installation_id_is_refused(api: Api, github: FakeGitHub) -> None:
    response = api.client.put(f"{ORGS}/acme", json={"installation_id": 5}, headers=api.headers())

    assert response.status_code == 400
    assert response.json()["field"] == "installation_id"
    assert "(777)" in response.json()["detail"]


def test_app_wrong_key_needs_external_authentication(api: Api, github: FakeGitHub) -> None:
    other_key, _ = key_pair()
    use_github(api, github.url, github_app=GitHubApp(APP_ID, other_key))

    response = api.client.put(f"{ORGS}/acme", json={}, headers=api.headers())

    assert response.status_code == 401
    assert response.json()["provider"] == "github"
    assert "OZ_GITHUB_APP_ID" in response.json()["detail"]


def test_members_may_list_but_not_enable(api: Api, github: FakeGitHub) -> None:
    member = api.world.add_user("member@example.com")
    _, member_key = api.world.make_key(member)
    remember(member_key)

    listed = api.client.get(ORGS, headers=api.headers(member_key))
    enabled = api.client.put(f"{ORGS}/acme", json={}, headers=api.headers(member_key))

    assert listed.status_code == 200
    assert enabled.status_code == 403


def test_agent_keys_cannot_enable(api: Api, github: FakeGitHub) -> None:
    _, agent_key = api.world.make_key(agent_uid=api.world.default_agent_uid)

    response = api.client.put(f"{ORGS}/acme", json={}, headers=api.headers(agent_key))

    assert response.status_code == 403


def test_disabling_removes_the_org(api: Api, github: FakeGitHub) -> None:
    api.client.put(f"{ORGS}/acme", json={}, headers=api.headers())

    deleted = api.client.delete(f"{ORGS}/ACME", headers=api.headers())

    assert deleted.status_code == 204
    assert api.client.get(ORGS, headers=api.headers()).json()["orgs"] == []

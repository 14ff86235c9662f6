"""Connecting a GitHub account with a pasted token, against a local GitHub API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from oz.db.models import GitHubAccount
from tests.server.conftest import Api, use_github
from tests.support.github import FakeGitHub, running_github
from tests.support.secrets import remember

TOKEN = "ghp_localTestToken000000000000000000000"


@pytest.fixture
def github(api: Api) -> Iterator[FakeGitHub]:
    with running_github(FakeGitHub()) as fake:
        fake.add_user(TOKEN, "octocat", 583231)
        remember(TOKEN)  # the suite's final check proves no log contains it
        use_github(api, fake.url)
        yield fake


def test_connect_stores_the_account_sealed(api: Api, github: FakeGitHub) -> None:
    response = api.client.put(
        "/api/v1/github/account", json={"token": TOKEN}, headers=api.headers()
    )

    assert response.status_code == 200, response.text
    assert response.json()["login"] == "octocat"
    assert response.json()["connected"] is True
    assert TOKEN not in response.text
    assert github.seen_authorizations == [f"Bearer {TOKEN}"]
    with api.world.database.read() as session:
        account = session.scalar(select(GitHubAccount))
    assert account is not None
    assert TOKEN not in account.token_sealed


def test_get_never_returns_the_token(api: Api, github: FakeGitHub) -> None:
    api.client.put("/api/v1/github/account", json={"token": TOKEN}, headers=api.headers())

    shown = api.client.get("/api/v1/github/account", headers=api.headers())

    assert shown.json()["login"] == "octocat"
    assert TOKEN not in shown.text
    assert "token" not in shown.json()


def test_rejected_token_is_a_400_naming_the_field(api: Api, github: FakeGitHub) -> None:
    response = api.client.put(
        "/api/v1/github/account", json={"token": "ghp_revoked"}, headers=api.headers()
    )

    assert response.status_code == 400
    assert response.json()["field"] == "token"
    assert "revoked" in response.json()["detail"]
    assert api.client.get("/api/v1/github/account", headers=api.headers()).json() == {
        "connected": False
    }


def test_unreachable_github_is_a_retryable_error(api: Api) -> None:
    use_github(api, "http://127.0.0.1:9")

    response = api.client.put(
        "/api/v1/github/account", json={"token": TOKEN}, headers=api.headers()
    )

    assert response.status_code == 503
    assert response.json()["retryable"] is True
    assert "unreachable" in response.json()["detail"]


def test_agent_keys_cannot_connect(api: Api, github: FakeGitHub) -> None:
    _, agent_key = api.world.make_key(agent_uid=api.world.default_agent_uid)

    response = api.client.put(
        "/api/v1/github/account", json={"token": TOKEN}, headers=api.headers(agent_key)
    )

    assert response.status_code == 403


def test_disconnect_removes_the_account(api: Api, github: FakeGitHub) -> None:
    api.client.put("/api/v1/github/account", json={"token": TOKEN}, headers=api.headers())

    deleted = api.client.delete("/api/v1/github/account", headers=api.headers())
    again = api.client.delete("/api/v1/github/account", headers=api.headers())

    assert deleted.status_code == 204
    assert again.status_code == 404

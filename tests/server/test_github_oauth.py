"""Connecting GitHub through the OAuth web flow, with a local GitHub that approves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oz.github.oauth import GitHubOAuthApp, issue_state
from tests.conftest import Clock
from tests.server.conftest import Api, use_github
from tests.support.github import FakeGitHub, running_github
from tests.support.secrets import remember

TOKEN = remember("ghp_oauthTestToken00000000000000000000")
CLIENT = ("Iv1.oauthtest", remember("oauth-test-client-secret-0000000000000"))
AUTHORIZATION = "/api/v1/github/account/authorization"
CONFIRMATION = "/api/v1/github/account/confirmation"


@pytest.fixture
def github(api: Api) -> Iterator[FakeGitHub]:
    with running_github(FakeGitHub(oauth_client=CLIENT)) as fake:
        fake.add_user(TOKEN, "octocat", 583231)
        fake.approving_token = TOKEN
        use_github(api, fake.url, github_oauth=GitHubOAuthApp(*CLIENT))
        yield fake


def approve(auth_url: str) -> str:
    """Follow the authorization URL as a browser would; return the callback path."""
    answer = httpx.get(auth_url, follow_redirects=False, timeout=10)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    return f"{location.path}?{location.query}"


def shown_code(page: httpx.Response) -> str:
    """Return the code a callback page shows for the terminal."""
    found = re.search(r'id="code">([A-Z-]+)<', page.text)
    assert found is not None, page.text
    return found.group(1)


def approved_code(api: Api) -> str:
    started = api.client.post(AUTHORIZATION, headers=api.headers())
    assert started.status_code == 200, started.text
    return shown_code(api.client.get(approve(started.json()["auth_url"])))


def test_approval_waits_for_code(api: Api, github: FakeGitHub) -> None:
    started = api.client.post(AUTHORIZATION, headers=api.headers())
    callback = api.client.get(approve(started.json()["auth_url"]))
    waiting = api.client.get("/api/v1/github/account", headers=api.headers())
    confirmed = api.client.post(
        CONFIRMATION, json={"code": shown_code(callback)}, headers=api.headers()
    )
    account = api.client.get("/api/v1/github/account", headers=api.headers())

    assert started.status_code == 200, started.text
    query = parse_qs(urlsplit(started.json()["auth_url"]).query)
    assert query["redirect_uri"] == ["http://testserver/github/oauth/callback"]
    assert query["client_id"] == [CLIENT[0]]
    assert callback.status_code == 200
    assert "Finish connecting GitHub" in callback.text
    assert "octocat" in callback.text
    assert "close this page" in callback.text
    assert TOKEN not in callback.text
    assert callback.headers["cache-control"] == "no-store"
    assert waiting.json() == {"connected": False}
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["login"] == "octocat"
    assert account.json()["login"] == "octocat"


def test_code_works_once(api: Api, github: FakeGitHub) -> None:
    code = approved_code(api)
    api.client.post(CONFIRMATION, json={"code": code}, headers=api.headers())

    again = api.client.post(CONFIRMATION, json={"code": code}, headers=api.headers())

    assert again.status_code == 404
    assert "run `oz github connect` again" in again.json()["detail"]


def test_code_typed_loosely_is_accepted(api: Api, github: FakeGitHub) -> None:
    code = approved_code(api)
    typed = " ".join(code.lower().split("-"))

    confirmed = api.client.post(CONFIRMATION, json={"code": typed}, headers=api.headers())

    assert confirmed.status_code == 200, confirmed.text


def test_code_of_another_user_is_rejected(api: Api, github: FakeGitHub) -> None:
    """Only the user who started connecting can enter the code, even when it is passed on."""
    code = approved_code(api)
    member = api.world.add_user("member@example.com")
    _, member_key = api.world.make_key(member)

    rejected = api.client.post(CONFIRMATION, json={"code": code}, headers=api.headers(member_key))
    member_account = api.client.get("/api/v1/github/account", headers=api.headers(member_key))
    confirmed = api.client.post(CONFIRMATION, json={"code": code}, headers=api.headers())

    assert rejected.status_code == 404
    assert member_account.json() == {"connected": False}
    assert confirmed.status_code == 200, confirmed.text


def test_expired_code_is_rejected(api: Api, github: FakeGitHub, frozen_clock: Clock) -> None:
    code = approved_code(api)
    frozen_clock.advance(minutes=11)

    rejected = api.client.post(CONFIRMATION, json={"code": code}, headers=api.headers())

    assert rejected.status_code == 404
    assert "older than ten minutes" in rejected.json()["detail"]


@pytest.mark.parametrize("code", ["", "BCDF", "BCDF-GHJK-LMNP-QRST", "x" * 41])
def test_malformed_code_names_field(api: Api, code: str) -> None:
    response = api.client.post(CONFIRMATION, json={"code": code}, headers=api.headers())

    assert response.status_code == 400
    assert response.json()["field"] == "code"


def test_agent_key_cannot_confirm(api: Api, github: FakeGitHub) -> None:
    code = approved_code(api)
    agent_uid = api.world.add_agent("Release bot")
    _, agent_key = api.world.make_key(agent_uid=agent_uid)

    rejected = api.client.post(CONFIRMATION, json={"code": code}, headers=api.headers(agent_key))

    assert rejected.status_code == 403


def test_forged_state_is_refused(api: Api, github: FakeGitHub) -> None:
    callback = api.client.get("/github/oauth/callback?code=code0&state=forged")

    assert callback.status_code == 400
    assert "not one this server issued" in callback.text
    account = api.client.get("/api/v1/github/account", headers=api.headers())
    assert account.json() == {"connected": False}


def test_expired_state_is_refused(api: Api, github: FakeGitHub) -> None:
    state = issue_state(
        api.world.secret, api.world.owner.uid, datetime.now(UTC) - timedelta(hours=1)
    )

    callback = api.client.get(f"/github/oauth/callback?code=code0&state={state}")

    assert callback.status_code == 400
    assert "ten minutes" in callback.text


def test_reused_code_is_refused(api: Api, github: FakeGitHub) -> None:
    started = api.client.post(AUTHORIZATION, headers=api.headers())
    path = approve(started.json()["auth_url"])
    api.client.get(path)

    again = api.client.get(path)

    assert again.status_code == 502
    assert "bad_verification_code" in again.text


def test_denied_authorization_says_so(api: Api, github: FakeGitHub) -> None:
    callback = api.client.get(
        "/github/oauth/callback?error=access_denied&error_description=The+user+denied"
    )

    assert callback.status_code == 400
    assert "The user denied" in callback.text


def test_authorization_without_oauth_app_names_token(api: Api) -> None:
    response = api.client.post(AUTHORIZATION, headers=api.headers())

    assert response.status_code == 403
    assert "--token-stdin" in response.json()["detail"]


def test_run_needing_github_links_to_the_oauth_flow(api: Api, github: FakeGitHub) -> None:
    created = api.client.post(
        "/api/v1/agent/environments",
        json={"name": "widgets", "repos": ["acme/widgets"]},
        headers=api.headers(),
    )
    refused = api.client.post(
        "/api/v1/agent/runs",
        json={"prompt": "fix", "config": {"environment_id": created.json()["uid"]}},
        headers=api.headers(),
    )

    assert refused.status_code == 401
    assert refused.json()["provider"] == "github"
    assert refused.json()["auth_url"].startswith(f"{github.url}/login/oauth/authorize?")

"""Settings > GitHub: connecting through OAuth bound to the browser, or with a token."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from oz.github.context import github_context
from oz.github.oauth import GitHubOAuthApp
from tests.support.github import FakeGitHub, running_github
from tests.support.secrets import remember
from tests.web.conftest import Web, hidden_fields

TOKEN = remember("ghp_webPageTestToken0000000000000000000")
CLIENT = ("Iv1.webpage", remember("web-page-client-secret-000000000000000"))


@pytest.fixture
def github(web: Web) -> Iterator[FakeGitHub]:
    with running_github(FakeGitHub(oauth_client=CLIENT)) as fake:
        fake.add_user(TOKEN, "octocat", 583231)
        fake.approving_token = TOKEN
        state = web.client.app.state.oz  # type: ignore[attr-defined]
        state.settings = dataclasses.replace(
            state.settings,
            github_url=fake.url,
            github_api_url=fake.url,
            github_oauth=GitHubOAuthApp(*CLIENT),
        )
        state.github = github_context(state.settings, state.secret)
        yield fake


def approve_on_github(web: Web) -> str:
    """Start connecting from the page and let GitHub approve; return the callback path."""
    started = web.client.get("/settings/github/connect", follow_redirects=False)
    assert started.status_code == 303, started.text
    approved = httpx.get(started.headers["location"], follow_redirects=False, timeout=10)
    location = urlsplit(approved.headers["location"])
    return f"{location.path}?{location.query}"


def test_oauth_connects_the_signed_in_browser(web: Web, github: FakeGitHub) -> None:
    web.sign_in()

    finished = web.client.get(approve_on_github(web), follow_redirects=False)
    page = web.client.get("/settings/github")

    assert finished.status_code == 303
    assert finished.headers["location"] == "/settings/github?notice=connected"
    assert "Connected as <strong>octocat</strong>" in page.text
    assert TOKEN not in page.text


def test_callback_in_another_browser_is_refused(web: Web, github: FakeGitHub) -> None:
    web.sign_in()
    callback = approve_on_github(web)

    with TestClient(web.client.app) as other_browser:
        refused = other_browser.get(callback)

    assert refused.status_code == 400
    assert "not the one that started" in refused.text
    assert "No GitHub account is connected" in web.client.get("/settings/github").text


def test_pasted_token_connects_and_bad_one_is_named(web: Web, github: FakeGitHub) -> None:
    web.sign_in()

    bad = web.submit("/settings/github", "/settings/github/token", token="ghp_wrong")
    good = web.submit("/settings/github", "/settings/github/token", token=TOKEN)
    page = web.client.get("/settings/github")

    assert bad.status_code == 400
    assert 'id="token-error"' in bad.text
    assert "rejected the token" in bad.text
    assert good.status_code == 303
    assert "Connected as <strong>octocat</strong>" in page.text


def test_disconnect_and_csrf(web: Web, github: FakeGitHub) -> None:
    web.sign_in()
    web.submit("/settings/github", "/settings/github/token", token=TOKEN)

    forged = web.client.post("/settings/github/disconnect", data={"csrf_token": "forged"})
    page = web.client.get("/settings/github")
    disconnected = web.client.post(
        "/settings/github/disconnect", data=hidden_fields(page.text), follow_redirects=True
    )

    assert forged.status_code == 403
    assert "GitHub is disconnected" in disconnected.text
    assert "No GitHub account is connected" in disconnected.text


def test_without_oauth_only_the_token_form_shows(web: Web) -> None:
    web.sign_in()

    page = web.client.get("/settings/github")
    connect = web.client.get("/settings/github/connect")

    assert "Connect with GitHub" not in page.text
    assert "Paste a token" in page.text
    assert connect.status_code == 400
    assert "paste a token below" in connect.text

"""GitHub App JWTs, installations and installation tokens, against a local GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from oz.github.app import GitHubApp, bot_account, create_installation_token, find_installation
from oz.github.client import GitHubClient, GitHubError, GitHubNotFound, GitHubTokenRejected
from tests.support.github import (
    APP_ID,
    APP_PRIVATE_KEY,
    BOT_USER_ID,
    FakeGitHub,
    key_pair,
    running_github,
)

NOW = datetime.now(UTC)
APP = GitHubApp(APP_ID, APP_PRIVATE_KEY)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with running_github(FakeGitHub(installations={777: "acme"})) as running:
        yield running


def client(github: FakeGitHub) -> GitHubClient:
    return GitHubClient(github.url)


def test_installation_token_is_minted(github: FakeGitHub) -> None:
    token = create_installation_token(client(github), APP, 777, NOW)

    assert github.minted == {token.token: "acme"}
    assert token.token not in repr(token)


def test_expired_app_jwt_is_refused(github: FakeGitHub) -> None:
    with pytest.raises(GitHubTokenRejected, match="too far in the past"):
        create_installation_token(client(github), APP, 777, NOW - timedelta(hours=1))


def test_jwt_signed_by_another_key_is_refused(github: FakeGitHub) -> None:
    other_private, _ = key_pair()

    with pytest.raises(GitHubTokenRejected, match="could not be decoded"):
        create_installation_token(client(github), GitHubApp(APP_ID, other_private), 777, NOW)


def test_unknown_installation_says_the_app_was_uninstalled(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match=r"installation 999 .* was uninstalled"):
        create_installation_token(client(github), APP, 999, NOW)


def test_installation_is_found_by_organization(github: FakeGitHub) -> None:
    assert find_installation(client(github), APP, "acme", NOW) == 777
    with pytest.raises(GitHubNotFound):
        find_installation(client(github), APP, "elsewhere", NOW)


def test_bot_account_carries_the_noreply_email(github: FakeGitHub) -> None:
    bot = bot_account(client(github), APP, NOW)

    assert bot.login == "oz-test-app[bot]"
    assert bot.email == f"{BOT_USER_ID}+oz-test-app[bot]@users.noreply.github.com"


def test_app_key_is_hidden_from_repr() -> None:
    assert "PRIVATE KEY" not in repr(APP)

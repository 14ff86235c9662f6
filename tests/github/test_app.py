"""GitHub App JWTs and installation tokens, against a local GitHub API server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from oz.github.app import GitHubApp, create_installation_token
from oz.github.client import GitHubError
from tests.support.github import FakeGitHub, running_github

NOW = datetime.now(UTC)


def key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE_KEY, PUBLIC_KEY = key_pair()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(app_id="12345", app_public_key=PUBLIC_KEY, installations={777})
    with running_github(fake) as running:
        yield running


def test_installation_token_is_minted(github: FakeGitHub) -> None:
    token = create_installation_token(github.url, GitHubApp("12345", PRIVATE_KEY), 777, NOW)

    assert token.token == github.minted[0]
    assert token.token not in repr(token)


def test_expired_app_jwt_is_refused(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match="HTTP 401"):
        create_installation_token(
            github.url, GitHubApp("12345", PRIVATE_KEY), 777, NOW - timedelta(hours=1)
        )


def test_jwt_signed_by_another_key_is_refused(github: FakeGitHub) -> None:
    other_private, _ = key_pair()

    with pytest.raises(GitHubError, match="could not be decoded"):
        create_installation_token(github.url, GitHubApp("12345", other_private), 777, NOW)


def test_unknown_installation_is_refused(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError, match="installation 999: HTTP 404"):
        create_installation_token(github.url, GitHubApp("12345", PRIVATE_KEY), 999, NOW)


def test_app_key_is_hidden_from_repr() -> None:
    assert "PRIVATE KEY" not in repr(GitHubApp("12345", PRIVATE_KEY))

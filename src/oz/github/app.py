"""GitHub App authentication: the app's JWT and installation access tokens.

An App authenticates as itself with a JWT signed RS256 by its private key: `iss` is the
App id, `iat` is backdated 60 s for clock drift and `exp` is at most 10 minutes ahead.
It exchanges that JWT for an installation access token of one organization with
`POST /app/installations/{id}/access_tokens`. Installation tokens expire after an hour
and are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import jwt

from oz.github.client import API_VERSION, TIMEOUT_SECONDS, GitHubError

JWT_LIFETIME = timedelta(minutes=9)
CLOCK_DRIFT = timedelta(seconds=60)


@dataclass(frozen=True)
class GitHubApp:
    """A deployment's GitHub App: its id and private key (PEM). `repr` hides the key."""

    app_id: str
    private_key: str = field(repr=False)

    def jwt(self, now: datetime) -> str:
        claims = {
            "iat": int((now - CLOCK_DRIFT).timestamp()),
            "exp": int((now + JWT_LIFETIME).timestamp()),
            "iss": self.app_id,
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256")


@dataclass(frozen=True)
class InstallationToken:
    token: str = field(repr=False)
    expires_at: str


def create_installation_token(
    base_url: str, app: GitHubApp, installation_id: int, now: datetime
) -> InstallationToken:
    """Mint a short-lived installation access token for one installation of the App."""
    headers = {
        "Authorization": f"Bearer {app.jwt(now)}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    url = f"{base_url.rstrip('/')}/app/installations/{installation_id}/access_tokens"
    try:
        response = httpx.post(url, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise GitHubError(f"GitHub at {base_url} is unreachable: {exc}") from None
    if response.status_code != 201:
        try:
            message = response.json().get("message")
        except ValueError:
            message = None
        raise GitHubError(
            f"GitHub rejected an installation token request for installation {installation_id}:"
            f" HTTP {response.status_code} {message or ''}".rstrip()
        )
    body = response.json()
    return InstallationToken(str(body["token"]), str(body["expires_at"]))

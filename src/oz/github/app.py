"""GitHub App authentication: the app's JWT, its installations and installation tokens.

An App authenticates as itself with a JWT signed RS256 by its private key: `iss` is the
App id, `iat` is backdated 60 s for clock drift and `exp` is at most 10 minutes ahead.
It exchanges that JWT for an installation access token of one organization with
`POST /app/installations/{id}/access_tokens`. Installation tokens expire after an hour
and are never stored.

Commits made with an installation token are attributed to the App's bot account,
`<slug>[bot]`, whose noreply email carries the bot's user id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

import jwt

from oz.github.client import GitHubClient, GitHubError, GitHubNotFound

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


@dataclass(frozen=True)
class BotAccount:
    """The App's bot user, which commits made with its tokens are attributed to."""

    login: str
    user_id: int

    @property
    def email(self) -> str:
        return f"{self.user_id}+{self.login}@users.noreply.github.com"


def create_installation_token(
    client: GitHubClient, app: GitHubApp, installation_id: int, now: datetime
) -> InstallationToken:
    """Mint a short-lived installation access token for one installation of the App."""
    try:
        body = client.request(
            "POST",
            f"/app/installations/{installation_id}/access_tokens",
            app.jwt(now),
            expect=201,
        )
    except GitHubNotFound:
        raise GitHubError(
            f"installation {installation_id} of GitHub App {app.app_id} does not exist: the"
            " App was uninstalled; install it again and re-enable the organization"
        ) from None
    return InstallationToken(str(body["token"]), str(body["expires_at"]))


def find_installation(client: GitHubClient, app: GitHubApp, org: str, now: datetime) -> int:
    """Return the id of the App's installation on `org`, or raise GitHubNotFound."""
    body = client.request("GET", f"/orgs/{quote(org, safe='')}/installation", app.jwt(now))
    return int(body["id"])


def bot_account(client: GitHubClient, app: GitHubApp, now: datetime) -> BotAccount:
    """Look up the App's slug (`GET /app`), then its bot user (`GET /users/<slug>[bot]`)."""
    slug = str(client.request("GET", "/app", app.jwt(now))["slug"])
    bot = client.get_user_by_login(f"{slug}[bot]", None)
    return BotAccount(bot.login, bot.id)

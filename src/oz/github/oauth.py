"""Connect a GitHub account through GitHub's OAuth web flow.

1. The signed-in user asks for an authorization URL; it carries a `state` that names the
   user, expires after ten minutes, and is signed (HS256) with a key derived from the
   server secret.
2. GitHub sends the browser back to `/github/oauth/callback` with a `code` and the state.
3. The server checks the state and exchanges the code for a user token at
   `POST {github}/login/oauth/access_token`; the token is then checked and sealed like a
   pasted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx
import jwt

from oz.github.client import TIMEOUT_SECONDS, GitHubError
from oz.github.sealing import derive_key

STATE_LIFETIME = timedelta(minutes=10)
STATE_AUDIENCE = "oz-github-oauth"
CALLBACK_PATH = "/github/oauth/callback"
# `repo` lets runs clone and push private repositories; `user:email` reads the commit email.
SCOPES = "repo user:email"


@dataclass(frozen=True)
class GitHubOAuthApp:
    """The OAuth client users authorize; `repr` hides the secret."""

    client_id: str
    client_secret: str = field(repr=False)


class StateError(ValueError):
    """The callback's state is missing, expired, or was not issued by this server."""


def _state_key(secret: bytes) -> bytes:
    return derive_key(secret, b"oz github oauth state v1")


def issue_state(secret: bytes, user_uid: str, now: datetime, session_uid: str | None = None) -> str:
    """Issue a state for the user; a web page binds it to its browser session too."""
    claims: dict[str, object] = {
        "sub": user_uid,
        "aud": STATE_AUDIENCE,
        "exp": now + STATE_LIFETIME,
    }
    if session_uid is not None:
        claims["sid"] = session_uid
    return jwt.encode(claims, _state_key(secret), algorithm="HS256")


def read_state(secret: bytes, state: str) -> tuple[str, str | None]:
    """Return the uid of the user a state was issued to, and its browser session if any."""
    try:
        claims = jwt.decode(
            state, _state_key(secret), algorithms=["HS256"], audience=STATE_AUDIENCE
        )
    except jwt.ExpiredSignatureError:
        raise StateError("the GitHub sign-in took longer than ten minutes: start again") from None
    except jwt.PyJWTError:
        raise StateError("the GitHub sign-in state is not one this server issued") from None
    session_uid = claims.get("sid")
    return str(claims["sub"]), str(session_uid) if session_uid is not None else None


def authorize_url(github_url: str, oauth: GitHubOAuthApp, redirect_uri: str, state: str) -> str:
    query = urlencode(
        {
            "client_id": oauth.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "allow_signup": "false",
        }
    )
    return f"{github_url}/login/oauth/authorize?{query}"


def exchange_code(github_url: str, oauth: GitHubOAuthApp, code: str, redirect_uri: str) -> str:
    """Exchange an authorization code for the user's token."""
    try:
        response = httpx.post(
            f"{github_url}/login/oauth/access_token",
            data={
                "client_id": oauth.client_id,
                "client_secret": oauth.client_secret,
                "code": code,
                "redirect_uri": redirect_uri,
            },
            headers={"Accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise GitHubError(f"GitHub at {github_url} is unreachable: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    token = body.get("access_token") if isinstance(body, dict) else None
    if response.status_code != 200 or not token:
        reason = body.get("error_description") or body.get("error") if body else None
        raise GitHubError(
            f"GitHub did not exchange the authorization code: {reason or response.status_code}"
        )
    return str(token)

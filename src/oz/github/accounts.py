"""A user's connected GitHub account: checked with GitHub, stored with its token sealed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from oz.clock import isoformat, utcnow
from oz.db.models import GitHubAccount
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound, UpstreamUnavailable
from oz.github.client import GitHubClient, GitHubError, GitHubTokenRejected, GitHubUser
from oz.github.sealing import seal
from oz.principal import Principal

TOKEN_MAX_LENGTH = 400


def require_human(principal: Principal) -> None:
    if not principal.is_human:
        raise NotAuthorized("only a user may connect a GitHub account; agent keys may not")


def check_token(client: GitHubClient, principal: Principal, token: str) -> GitHubUser:
    """Ask GitHub whose token this is; raise naming the `token` field when it is refused."""
    require_human(principal)
    value = token.strip()
    if not value or len(value) > TOKEN_MAX_LENGTH or any(char.isspace() for char in value):
        raise InvalidRequest(
            f"token must be one GitHub token of 1 to {TOKEN_MAX_LENGTH} characters",
            field="token",
        )
    try:
        return client.get_user(value)
    except GitHubTokenRejected:
        raise InvalidRequest(
            "GitHub rejected the token: it is wrong, expired or revoked; create a new token"
            " on GitHub",
            field="token",
        ) from None
    except GitHubError as exc:
        raise UpstreamUnavailable(str(exc)) from None


def store_account(
    session: Session, secret: bytes, user_uid: str, user: GitHubUser, token: str
) -> GitHubAccount:
    """Store a checked token, sealed, as the user's connected account."""
    account = session.get(GitHubAccount, user_uid) or GitHubAccount(user_uid=user_uid)
    account.github_id = user.id
    account.login = user.login
    account.name = user.name
    account.email = user.email
    account.token_sealed = seal(secret, token.strip(), user_uid)
    account.connected_at = utcnow()
    session.add(account)
    session.flush()
    return account


def disconnect(session: Session, principal: Principal) -> None:
    require_human(principal)
    account = session.get(GitHubAccount, principal.uid)
    if account is None:
        raise ResourceNotFound("no GitHub account is connected")
    session.delete(account)


def account_view(account: GitHubAccount | None) -> dict[str, Any]:
    """Describe the connection without the token."""
    if account is None:
        return {"connected": False}
    return {
        "connected": True,
        "login": account.login,
        "github_id": account.github_id,
        "name": account.name,
        "email": account.email,
        "connected_at": isoformat(account.connected_at),
    }

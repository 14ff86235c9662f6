"""Connect a user's GitHub account with a pasted token; the token is sealed at rest."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from oz.clock import isoformat, utcnow
from oz.db.models import GitHubAccount
from oz.errors import (
    ExternalAuthenticationRequired,
    InvalidRequest,
    NotAuthorized,
    ResourceNotFound,
)
from oz.github.client import GitHubClient, GitHubError, GitHubTokenRejected
from oz.github.sealing import seal
from oz.principal import Principal

TOKEN_MAX_LENGTH = 400


def _require_human(principal: Principal) -> None:
    if not principal.is_human:
        raise NotAuthorized("only a user may connect a GitHub account; agent keys may not")


def connect_token(
    session: Session, secret: bytes, client: GitHubClient, principal: Principal, token: str
) -> GitHubAccount:
    """Check a pasted token with GitHub and store it, sealed, as the user's account."""
    _require_human(principal)
    value = token.strip()
    if not value or len(value) > TOKEN_MAX_LENGTH or any(char.isspace() for char in value):
        raise InvalidRequest(
            f"token must be one GitHub token of 1 to {TOKEN_MAX_LENGTH} characters",
            field="token",
        )
    try:
        user = client.get_user(value)
    except GitHubTokenRejected as exc:
        raise InvalidRequest(f"{exc}: create a new token on GitHub", field="token") from None
    except GitHubError as exc:
        raise ExternalAuthenticationRequired(str(exc), provider="github") from None

    account = session.get(GitHubAccount, principal.uid) or GitHubAccount(user_uid=principal.uid)
    account.github_id = user.id
    account.login = user.login
    account.name = user.name
    account.email = user.email
    account.token_sealed = seal(secret, value, principal.uid)
    account.connected_at = utcnow()
    session.add(account)
    session.flush()
    return account


def disconnect(session: Session, principal: Principal) -> None:
    _require_human(principal)
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

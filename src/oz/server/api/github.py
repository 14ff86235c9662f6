"""`/github/account`: connect, show and disconnect the caller's GitHub account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from oz.db.models import GitHubAccount
from oz.github.accounts import account_view, connect_token, disconnect
from oz.github.client import GitHubClient
from oz.server.deps import CurrentPrincipal, State

router = APIRouter(tags=["github"])


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(description="a GitHub personal access token; stored sealed, never returned")


@router.get("/github/account", summary="Your connected GitHub account, without its token")
def get_account(principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.read() as session:
        return account_view(session.get(GitHubAccount, principal.uid))


@router.put("/github/account", summary="Connect a GitHub account with a pasted token")
def put_account(body: TokenBody, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    client = GitHubClient(state.settings.github_api_url)
    with state.database.transaction() as session:
        return account_view(connect_token(session, state.secret, client, principal, body.token))


@router.delete("/github/account", status_code=204, summary="Disconnect your GitHub account")
def delete_account(principal: CurrentPrincipal, state: State) -> Response:
    with state.database.transaction() as session:
        disconnect(session, principal)
    return Response(status_code=204)

"""`/github/...`: the caller's connected account, and the team's enabled organizations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from oz.clock import utcnow
from oz.db.models import GitHubAccount, GitHubOrg
from oz.errors import FeatureNotAvailable
from oz.github.accounts import (
    account_view,
    check_token,
    disconnect,
    require_human,
    store_account,
)
from oz.github.enabling import enable_team_org
from oz.github.oauth import CALLBACK_PATH, authorize_url, issue_state
from oz.github.orgs import disable_org, enabled_orgs, normalize_org, org_view
from oz.github.pending import confirm_pending
from oz.identity.teams import require_admin, require_team
from oz.server.deps import CurrentPrincipal, Links, State

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
    user = check_token(state.github.client, principal, body.token)
    with state.database.transaction() as session:
        account = store_account(session, state.secret, principal.uid, user, body.token)
        return account_view(account)


@router.delete("/github/account", status_code=204, summary="Disconnect your GitHub account")
def delete_account(principal: CurrentPrincipal, state: State) -> Response:
    with state.database.transaction() as session:
        disconnect(session, principal)
    return Response(status_code=204)


@router.post(
    "/github/account/authorization",
    summary="Start connecting a GitHub account in the browser (OAuth)",
)
def start_authorization(principal: CurrentPrincipal, state: State, links: Links) -> dict[str, Any]:
    require_human(principal)
    oauth = state.settings.github_oauth
    if oauth is None or links.public_url is None:
        raise FeatureNotAvailable(
            "this server has no GitHub OAuth app (OZ_GITHUB_CLIENT_ID and"
            " OZ_GITHUB_CLIENT_SECRET): paste a token with `oz github connect --token-stdin`"
        )
    state_token = issue_state(state.secret, principal.uid, utcnow())
    url = authorize_url(links.github_url, oauth, links.public_url + CALLBACK_PATH, state_token)
    return {"auth_url": url, "expires_in": 600}


class CodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        max_length=40,
        description="the code the GitHub callback page showed, such as BCDF-GHJK-LMNP",
    )


@router.post(
    "/github/account/confirmation",
    summary="Finish connecting a GitHub account with the code the callback page showed",
)
def confirm_authorization(
    body: CodeBody, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    with state.database.transaction() as session:
        account = confirm_pending(session, state.secret, principal, body.code, utcnow())
        return account_view(account)


class OrgBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str | None = Field(None, description="team uid; defaults to your first team")
    installation_id: int | None = Field(
        None, ge=1, description="the App's installation on the org; looked up when omitted"
    )


@router.get("/github/orgs", summary="GitHub organizations enabled for a team's agents")
def list_orgs(principal: CurrentPrincipal, state: State, team: str | None = None) -> dict[str, Any]:
    with state.database.read() as session:
        team_uid = require_team(session, principal, team)
        rows = [session.get(GitHubOrg, (team_uid, org)) for org in enabled_orgs(session, team_uid)]
        return {
            "team_uid": team_uid,
            "app_configured": state.github.app is not None,
            "orgs": [org_view(row) for row in rows if row is not None],
        }


@router.put("/github/orgs/{org}", summary="Enable a GitHub organization for a team (admins)")
def put_org(org: str, body: OrgBody, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    normalize_org(org)  # a malformed org is reported before anything else
    with state.database.read() as session:
        team_uid = require_team(session, principal, body.team)
    row = enable_team_org(
        state.database, state.github, principal, team_uid, org, body.installation_id
    )
    return org_view(row)


@router.delete(
    "/github/orgs/{org}", status_code=204, summary="Disable a GitHub organization (admins)"
)
def delete_org(
    org: str, principal: CurrentPrincipal, state: State, team: str | None = None
) -> Response:
    login = normalize_org(org)
    with state.database.transaction() as session:
        team_uid = require_team(session, principal, team)
        require_admin(session, principal, team_uid, "disable GitHub organizations")
        disable_org(session, team_uid, login)
    return Response(status_code=204)

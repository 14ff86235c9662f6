"""`GET /me`: who the credential acts as."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from oz.db.engine import Database
from oz.identity.teams import team_refs_of
from oz.principal import TeamRef
from oz.server.deps import CurrentPrincipal, server_state

router = APIRouter(tags=["identity"])


@router.get("/me", summary="Describe the authenticated principal")
async def whoami(principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    # An API key's principal carries its teams from the verifier's lookup, so a request
    # with a cached key needs neither the database nor the thread pool. Only an `oz login`
    # session, always a user's, comes without them.
    teams = principal.teams
    if teams is None:
        database = server_state(request).database
        teams = await run_in_threadpool(_read_teams, database, principal.uid)
    return {
        "uid": principal.uid,
        "type": principal.type,
        "display_name": principal.display_name,
        "email": principal.email,
        "team_uids": [team.uid for team in teams],
        "team_names": [team.name for team in teams],
        "api_key_uid": principal.key_uid,
    }


def _read_teams(database: Database, user_uid: str) -> tuple[TeamRef, ...]:
    with database.read() as session:
        return team_refs_of(session, user_uid)

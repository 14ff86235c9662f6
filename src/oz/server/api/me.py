"""`GET /me`: who the credential acts as."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from oz.db.models import Team
from oz.identity.teams import teams_of
from oz.server.deps import CurrentPrincipal, State

router = APIRouter(tags=["identity"])


@router.get("/me", summary="Describe the authenticated principal")
def whoami(principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.read() as session:
        if principal.type == "service_account":
            assert principal.team_uid is not None
            team = session.get(Team, principal.team_uid)
            teams = [team] if team else []
        else:
            teams = teams_of(session, principal.uid)
        return {
            "uid": principal.uid,
            "type": principal.type,
            "display_name": principal.display_name,
            "email": principal.email,
            "team_uids": [team.uid for team in teams],
            "team_names": [team.name for team in teams],
            "api_key_uid": principal.key_uid,
        }

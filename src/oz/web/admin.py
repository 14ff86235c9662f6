"""The Admin Panel's team: which team a page acts on, and who may open it.

Every Admin Panel page names its team with `?team=UID` (a hidden `team` field in POST
forms), or acts on the first team the user owns or administers. A member, or a user of
no such team, gets a 403 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Response
from fastapi.responses import RedirectResponse

from oz.auth.sessions import SignedIn
from oz.identity.memberships import administered_teams
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web.deps import SignedInForm, SignedInUser, csrf_token_of

FORBIDDEN_TITLE = "Admin Panel not available"
FORBIDDEN_MESSAGE = (
    "Only the team's owner or admins may open the Admin Panel. Ask one of them if you need"
    " a change to the team's members, cloud agents, GitHub organizations or billing."
)


class AdminRequired(Exception):
    """The signed-in user is not the owner or an admin of the requested team."""


@dataclass(frozen=True)
class AdminTeam:
    """The signed-in user, the team an Admin Panel page acts on, and its other teams."""

    found: SignedIn
    team_uid: str
    team_name: str
    role: str
    teams: list[tuple[str, str, str]]

    @property
    def query(self) -> str:
        return f"?team={self.team_uid}"


def _admin_team(state: ServerState, found: SignedIn, team: str | None) -> AdminTeam:
    with state.database.read() as session:
        teams = administered_teams(session, found.user.uid)
    chosen = next((row for row in teams if row[0] == team), None) if team else None
    if team is None and teams:
        chosen = teams[0]
    if chosen is None:
        raise AdminRequired()
    uid, name, role = chosen
    return AdminTeam(found, uid, name, role, teams)


def admin_page(state: State, found: SignedInUser, team: str | None = None) -> AdminTeam:
    return _admin_team(state, found, team or None)


def admin_form(state: State, found: SignedInForm, team: Annotated[str, Form()] = "") -> AdminTeam:
    return _admin_team(state, found, team or None)


def admin_context(state: ServerState, admin: AdminTeam, tab: str, **values: Any) -> dict[str, Any]:
    """Return the template context every Admin Panel page shares, plus `values`."""
    return {
        "user": admin.found.user,
        "csrf_token": csrf_token_of(state, admin.found),
        "section": "admin",
        "tab": tab,
        "admin": admin,
        "errors": {},
        "values": {},
        **values,
    }


AdminPage = Annotated[AdminTeam, Depends(admin_page)]
AdminForm = Annotated[AdminTeam, Depends(admin_form)]


def admin_redirect(admin: AdminTeam, tab: str, notice: str) -> Response:
    """Send the browser back to an Admin Panel page of the same team, with a notice."""
    query = urlencode({"team": admin.team_uid, "notice": notice})
    return RedirectResponse(f"/admin/{tab}?{query}", status_code=303)

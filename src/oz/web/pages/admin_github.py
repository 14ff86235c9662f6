"""Admin Panel > Platform > Enabled GitHub Orgs: the organizations the team's agents act on."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy import select

from oz.db.models import GitHubOrg, User
from oz.errors import OzError
from oz.github.enabling import enable_team_org
from oz.github.orgs import disable_org, normalize_org
from oz.identity.teams import require_admin
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web.admin import AdminForm, AdminPage, AdminTeam, admin_context, admin_redirect
from oz.web.rendering import render

router = APIRouter(prefix="/admin/github")
logger = logging.getLogger("oz.web")

NOTICES = {
    "enabled": "The organization was enabled. Agent runs of this team now use the GitHub"
    " App's installation tokens for its repositories.",
    "disabled": "The organization was disabled. Agent runs no longer get installation tokens"
    " for it.",
}


def _orgs(state: ServerState, team_uid: str) -> list[tuple[GitHubOrg, str | None]]:
    """Return the team's enabled organizations with the email of who enabled each."""
    with state.database.read() as session:
        rows = session.execute(
            select(GitHubOrg, User.email)
            .outerjoin(User, User.uid == GitHubOrg.enabled_by)
            .where(GitHubOrg.team_uid == team_uid)
            .order_by(GitHubOrg.org)
        )
        return [(org, email) for org, email in rows]


def _github_page(
    request: Request,
    state: ServerState,
    admin: AdminTeam,
    *,
    notice: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = admin_context(
        state,
        admin,
        "github",
        orgs=_orgs(state, admin.team_uid),
        app_configured=state.github.app is not None,
        notice=NOTICES.get(notice or ""),
        values=values or {},
        errors=errors or {},
    )
    return render(request, "admin_github.html", context, status_code)


def _redirect(admin: AdminTeam, notice: str) -> Response:
    return admin_redirect(admin, "github", notice)


@router.get("")
def github_page(
    request: Request, state: State, admin: AdminPage, notice: str | None = None
) -> Response:
    return _github_page(request, state, admin, notice=notice)


@router.post("")
def enable(
    request: Request, state: State, admin: AdminForm, org: Annotated[str, Form()] = ""
) -> Response:
    try:
        row = enable_team_org(
            state.database, state.github, admin.found.principal, admin.team_uid, org
        )
    except OzError as exc:
        logger.info(
            "GitHub org enable rejected", extra={"team_uid": admin.team_uid, "code": exc.code}
        )
        field = "org" if exc.extras.get("field") == "org" else "form"
        return _github_page(
            request,
            state,
            admin,
            values={"org": org},
            errors={field: str(exc.detail)},
            status_code=exc.status,
        )

    logger.info("GitHub org enabled", extra={"team_uid": admin.team_uid, "org": row.org})
    return _redirect(admin, "enabled")


@router.post("/{org}/disable")
def disable(request: Request, state: State, admin: AdminForm, org: str) -> Response:
    try:
        login = normalize_org(org)
        with state.database.transaction() as session:
            require_admin(
                session, admin.found.principal, admin.team_uid, "disable GitHub organizations"
            )
            disable_org(session, admin.team_uid, login)
    except OzError as exc:
        logger.info(
            "GitHub org disable rejected", extra={"team_uid": admin.team_uid, "code": exc.code}
        )
        return _github_page(
            request, state, admin, errors={"form": str(exc.detail)}, status_code=exc.status
        )

    logger.info("GitHub org disabled", extra={"team_uid": admin.team_uid, "org": login})
    return _redirect(admin, "disabled")

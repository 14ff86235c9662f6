"""Admin Panel > Cloud agents: list, create, rename and delete the team's cloud agents."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from sqlalchemy import func, select

from oz.db.models import ApiKey, CloudAgent
from oz.errors import OzError, ResourceNotFound
from oz.identity import agents
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web.admin import AdminForm, AdminPage, AdminTeam, admin_context, admin_redirect
from oz.web.rendering import render

router = APIRouter(prefix="/admin/agents")
logger = logging.getLogger("oz.web")

NOTICES = {
    "created": "The cloud agent was created. Generate agent keys for it in Settings > API keys.",
    "renamed": "The cloud agent was renamed.",
    "deleted": "The cloud agent and its API keys were deleted. Requests with those keys are"
    " now refused.",
}


def _redirect(admin: AdminTeam, notice: str) -> Response:
    return admin_redirect(admin, "agents", notice)


def _key_counts(state: ServerState, team_uid: str) -> dict[str, int]:
    with state.database.read() as session:
        rows = session.execute(
            select(ApiKey.agent_uid, func.count(ApiKey.uid))
            .join(CloudAgent, CloudAgent.uid == ApiKey.agent_uid)
            .where(CloudAgent.team_uid == team_uid, ApiKey.deleted_at.is_(None))
            .group_by(ApiKey.agent_uid)
        )
        return {str(agent_uid): int(count) for agent_uid, count in rows}


def _agents_page(
    request: Request,
    state: ServerState,
    admin: AdminTeam,
    *,
    notice: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with state.database.read() as session:
        listed = [
            agent
            for agent in agents.list_agents(session, admin.found.principal)
            if agent.team_uid == admin.team_uid
        ]
    context = admin_context(
        state,
        admin,
        "agents",
        agents=listed,
        key_counts=_key_counts(state, admin.team_uid),
        notice=NOTICES.get(notice or ""),
        values=values or {},
        errors=errors or {},
    )
    return render(request, "admin_agents.html", context, status_code)


def _failed(
    request: Request,
    state: ServerState,
    admin: AdminTeam,
    exc: OzError,
    field: str,
    values: dict[str, str] | None = None,
) -> Response:
    logger.info("cloud agent change rejected", extra={"team_uid": admin.team_uid, "code": exc.code})
    errors = {field if exc.extras.get("field") == "name" else "form": str(exc.detail)}
    return _agents_page(request, state, admin, values=values, errors=errors, status_code=exc.status)


@router.get("")
def agents_page(
    request: Request, state: State, admin: AdminPage, notice: str | None = None
) -> Response:
    return _agents_page(request, state, admin, notice=notice)


@router.post("")
def create(
    request: Request, state: State, admin: AdminForm, name: Annotated[str, Form()] = ""
) -> Response:
    try:
        with state.database.transaction() as session:
            agent = agents.create_agent(
                session, admin.found.principal, name, team_uid=admin.team_uid
            )
            uid = agent.uid
    except OzError as exc:
        return _failed(request, state, admin, exc, "name", {"name": name})

    logger.info("cloud agent created", extra={"team_uid": admin.team_uid, "agent_uid": uid})
    return _redirect(admin, "created")


def _team_agent(state: ServerState, admin: AdminTeam, uid: str) -> CloudAgent:
    with state.database.read() as session:
        agent = agents.get_agent(session, admin.found.principal, uid)
        if agent.team_uid != admin.team_uid:
            raise ResourceNotFound(f"cloud agent {uid!r} not found")
        session.expunge(agent)
        return agent


@router.post("/{uid}/rename")
def rename(
    request: Request,
    state: State,
    admin: AdminForm,
    uid: str,
    name: Annotated[str, Form()] = "",
) -> Response:
    try:
        _team_agent(state, admin, uid)
        with state.database.transaction() as session:
            agents.update_agent(session, admin.found.principal, uid, name=name)
    except OzError as exc:
        return _failed(request, state, admin, exc, f"name-{uid}")

    logger.info("cloud agent renamed", extra={"team_uid": admin.team_uid, "agent_uid": uid})
    return _redirect(admin, "renamed")


@router.get("/{uid}/delete")
def delete_page(request: Request, state: State, admin: AdminPage, uid: str) -> Response:
    try:
        agent = _team_agent(state, admin, uid)
    except OzError as exc:
        return _failed(request, state, admin, exc, "form")
    if agent.is_default:
        message = f"{agent.name!r} is the team's default cloud agent and cannot be deleted"
        return _agents_page(request, state, admin, errors={"form": message}, status_code=400)

    keys = _key_counts(state, admin.team_uid).get(uid, 0)
    context = admin_context(
        state,
        admin,
        "agents",
        title=f"Delete cloud agent “{agent.name}”?",
        paragraphs=["Runs already recorded for this agent stay in the team's history."],
        warning=f"Its {keys} API key(s) are deleted too and stop working at once, for every"
        " program that uses them. This cannot be undone.",
        action=f"/admin/agents/{uid}/delete",
        cancel=f"/admin/agents{admin.query}",
        button="Delete cloud agent",
        button_class="button-danger",
    )
    return render(request, "admin_confirm.html", context)


@router.post("/{uid}/delete")
def delete(request: Request, state: State, admin: AdminForm, uid: str) -> Response:
    try:
        _team_agent(state, admin, uid)
        with state.database.transaction() as session:
            agents.delete_agent(session, admin.found.principal, uid)
    except OzError as exc:
        return _failed(request, state, admin, exc, "form")

    logger.info("cloud agent deleted", extra={"team_uid": admin.team_uid, "agent_uid": uid})
    return _redirect(admin, "deleted")

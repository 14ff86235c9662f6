"""`/agent/identities`: a team's cloud agents (service accounts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from oz.clock import isoformat
from oz.db.models import CloudAgent
from oz.identity import agents
from oz.server.deps import CurrentPrincipal, State

router = APIRouter(tags=["cloud agents"])

# Fields of the Oz agent object that oz stores and returns but does not act on yet.
STORED_SETTINGS = (
    "agent_type",
    "base_model",
    "credential_strategy",
    "default_runner_uid",
    "environment_id",
    "memory",
    "prompt",
    "secrets",
    "skills",
    "worker_host",
)


OPTIONAL_SETTINGS = (
    "agent_type",
    "base_model",
    "credential_strategy",
    "environment_id",
    "prompt",
    "worker_host",
)


class SecretRef(BaseModel):
    name: str


class AgentBody(BaseModel):
    # Other fields of the Oz agent object (harness, mcp_servers, ...) are accepted and
    # ignored, so clients written for the hosted service work unchanged.
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(None, description="1 to 100 characters after trimming")
    description: str | None = None
    team: str | None = Field(None, description="team uid; defaults to your first team")
    agent_type: str | None = None
    base_model: str | None = None
    credential_strategy: str | None = None
    default_runner_uid: str | None = None
    environment_id: str | None = None
    memory: dict[str, Any] | None = None
    prompt: str | None = None
    secrets: list[SecretRef] | None = None
    skills: list[str] | None = None
    worker_host: str | None = None


def _settings_of(body: AgentBody) -> dict[str, Any]:
    return body.model_dump(include=set(STORED_SETTINGS), exclude_none=True)


def agent_view(agent: CloudAgent) -> dict[str, Any]:
    settings = agent.settings or {}
    return {
        "uid": agent.uid,
        "name": agent.name,
        "description": agent.description,
        "available": agent.deleted_at is None,
        "is_default": agent.is_default,
        "team_uid": agent.team_uid,
        "created_at": isoformat(agent.created_at),
        "updated_at": isoformat(agent.updated_at),
        "default_runner_uid": settings.get("default_runner_uid", ""),
        "skills": settings.get("skills", []),
        "secrets": settings.get("secrets", []),
        "memory": settings.get(
            "memory", {"attached_stores": [], "auto_memory": {"enabled": False}}
        ),
        **{key: settings[key] for key in OPTIONAL_SETTINGS if key in settings},
    }


@router.post("/agent/identities", status_code=201, summary="Create a cloud agent")
def create_agent(body: AgentBody, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.transaction() as session:
        agent = agents.create_agent(
            session, principal, body.name or "", body.description, team_uid=body.team
        )
        agent.settings = _settings_of(body)
        return agent_view(agent)


@router.get("/agent/identities", summary="List your teams' cloud agents")
def list_agents(principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.read() as session:
        return {"agents": [agent_view(agent) for agent in agents.list_agents(session, principal)]}


@router.get("/agent/identities/{uid}", summary="Get a cloud agent")
def get_agent(uid: str, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.read() as session:
        return agent_view(agents.get_agent(session, principal, uid))


@router.put("/agent/identities/{uid}", summary="Update a cloud agent")
def update_agent(
    uid: str, body: AgentBody, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    with state.database.transaction() as session:
        agent = agents.update_agent(session, principal, uid, body.name, body.description)
        changes = _settings_of(body)
        if changes:
            agent.settings = {**(agent.settings or {}), **changes}
        return agent_view(agent)


@router.delete(
    "/agent/identities/{uid}",
    status_code=204,
    summary="Delete a cloud agent and every API key bound to it",
)
def delete_agent(uid: str, principal: CurrentPrincipal, state: State) -> Response:
    with state.database.transaction() as session:
        agents.delete_agent(session, principal, uid)
    return Response(status_code=204)

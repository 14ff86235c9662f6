"""`/agent/environments`: repositories and setup commands that cloud runs start from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from oz.runs import environments
from oz.runs.environments import EnvironmentChange, environment_view
from oz.server.deps import CurrentPrincipal, State

router = APIRouter(tags=["environments"])


class EnvironmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="1 to 100 characters, unique in the team")
    description: str | None = None
    repos: list[str] | None = Field(None, description="repositories to clone, as owner/repo")
    setup_commands: list[str] | None = Field(
        None, description="shell commands run in order in the working directory"
    )
    team: str | None = Field(None, description="team uid; defaults to your first team")

    def change(self) -> EnvironmentChange:
        return EnvironmentChange(self.name, self.description, self.repos, self.setup_commands)


@router.post("/agent/environments", status_code=201, summary="Create an environment")
def create_environment(
    body: EnvironmentBody, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    with state.database.transaction() as session:
        environment = environments.create_environment(session, principal, body.team, body.change())
        return environment_view(environment)


@router.get("/agent/environments", summary="List your teams' environments")
def list_environments(principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.read() as session:
        found = environments.list_environments(session, principal)
        return {"environments": [environment_view(environment) for environment in found]}


@router.get("/agent/environments/{uid}", summary="Get an environment")
def get_environment(uid: str, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.read() as session:
        return environment_view(environments.get_environment(session, principal, uid))


@router.put("/agent/environments/{uid}", summary="Change an environment")
def update_environment(
    uid: str, body: EnvironmentBody, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    with state.database.transaction() as session:
        environment = environments.update_environment(session, principal, uid, body.change())
        return environment_view(environment)


@router.delete("/agent/environments/{uid}", status_code=204, summary="Delete an environment")
def delete_environment(uid: str, principal: CurrentPrincipal, state: State) -> Response:
    with state.database.transaction() as session:
        environments.delete_environment(session, principal, uid)
    return Response(status_code=204)

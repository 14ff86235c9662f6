"""Create, read, list and cancel runs, attributed to the principal that started them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from oz.billing.charges import admit
from oz.billing.plans import PlanCatalog
from oz.clock import utcnow
from oz.db.models import CloudAgent, Run
from oz.errors import (
    Conflict,
    InvalidRequest,
    NotAuthorized,
    OperationNotSupported,
    ResourceNotFound,
)
from oz.github.identity import GitHubLinks, plan_identity
from oz.identity.agents import get_agent
from oz.identity.teams import require_team, team_uids_of
from oz.principal import Principal
from oz.runs import states
from oz.runs.environments import environment_id_of, run_environment

PROMPT_MAX_LENGTH = 100_000
TITLE_MAX_LENGTH = 200
CONFIG_STRING_FIELDS = ("name", "environment_id", "model_id", "base_prompt", "worker_host")
WORKER_HOST_RESERVED_PREFIX = "warp"


@dataclass(frozen=True)
class RunRequest:
    """A caller's request for a run; `config` is the Oz agent config object."""

    prompt: str
    config: dict[str, Any]
    title: str | None = None
    team_uid: str | None = None
    agent_identity_uid: str | None = None
    source: str = "API"
    execution_location: str = states.REMOTE


def _title_from(prompt: str) -> str:
    first_line = prompt.strip().splitlines()[0] if prompt.strip() else "Run"
    if len(first_line) <= TITLE_MAX_LENGTH:
        return first_line
    return first_line[: TITLE_MAX_LENGTH - 1] + "…"


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    for field in CONFIG_STRING_FIELDS:
        value = config.get(field)
        if value is not None and not isinstance(value, str):
            raise InvalidRequest(f"config.{field} must be a string", field=f"config.{field}")
    host = config.get("worker_host")
    if host is not None and host.strip().lower().startswith(WORKER_HOST_RESERVED_PREFIX):
        raise InvalidRequest(
            f"config.worker_host {host!r} must not start with 'warp': that prefix names"
            " hosted workers; use the id of your self-hosted worker",
            field="config.worker_host",
        )
    return config


def create_run(
    session: Session,
    principal: Principal,
    request: RunRequest,
    catalog: PlanCatalog,
    github_links: GitHubLinks | None = None,
) -> Run:
    """Admit and record a new run: QUEUED for a worker, or INPROGRESS when run locally.

    Admission checks the team's plan and that the run's waterfall has 20 credits. A cloud
    run whose environment clones repositories needs a GitHub identity that reaches them.
    """
    prompt = request.prompt
    if not prompt.strip():
        raise InvalidRequest("prompt is required and must not be blank", field="prompt")
    if len(prompt) > PROMPT_MAX_LENGTH:
        raise InvalidRequest(
            f"prompt must be at most {PROMPT_MAX_LENGTH} characters", field="prompt"
        )
    if request.title is not None and not 1 <= len(request.title.strip()) <= TITLE_MAX_LENGTH:
        raise InvalidRequest(
            f"title must be 1 to {TITLE_MAX_LENGTH} characters after trimming", field="title"
        )
    if request.source not in states.SOURCES:
        raise InvalidRequest(f"source must be one of {', '.join(states.SOURCES)}", field="source")
    config = validate_config(dict(request.config))

    creator = _resolve_creator(session, principal, request)
    now = utcnow()
    local = request.execution_location == states.LOCAL
    agent_uid = creator.uid if creator.type == "service_account" else None
    environment = run_environment(
        session, creator.team_uid, environment_id_of(session, config, agent_uid), at_start=False
    )
    # A local run acts with the caller's own GitHub setup; the server gives it nothing.
    github_identity = {"type": "none"}
    if not local:
        github = plan_identity(
            session,
            creator_type=creator.type,
            user_uid=creator.uid if creator.type == "user" else None,
            team_uid=creator.team_uid,
            repos=environment.repos,
            links=github_links,
            now=now,
        )
        github_identity = github.record()
    admit(
        session,
        catalog,
        now,
        team_uid=creator.team_uid,
        creator_type=creator.type,
        creator_uid=creator.uid,
        remote=not local,
    )
    run = Run(
        uid=str(uuid.uuid4()),
        team_uid=creator.team_uid,
        title=(request.title or _title_from(prompt)).strip(),
        prompt=prompt,
        state=states.INPROGRESS if local else states.QUEUED,
        source=request.source,
        execution_location=request.execution_location,
        creator_type=creator.type,
        creator_name=creator.display_name,
        creator_user_uid=creator.uid if creator.type == "user" else None,
        creator_agent_uid=creator.uid if creator.type == "service_account" else None,
        api_key_uid=principal.key_uid,
        scope_type="User" if creator.type == "user" else "Team",
        scope_uid=creator.uid if creator.type == "user" else creator.team_uid,
        agent_config=config,
        worker_host=config.get("worker_host"),
        claimed_by=f"local:{principal.key_uid}" if local else None,
        created_at=now,
        updated_at=now,
        started_at=now if local else None,
        github_identity=github_identity,
    )
    session.add(run)
    session.flush()
    return run


@dataclass(frozen=True)
class _Creator:
    type: str
    uid: str
    display_name: str
    team_uid: str


def _resolve_creator(session: Session, principal: Principal, request: RunRequest) -> _Creator:
    """Return who the run executes as: the user, or a cloud agent of a team."""
    identity = request.agent_identity_uid
    if principal.type == "service_account":
        assert principal.team_uid is not None
        if identity is not None and identity != principal.uid:
            raise NotAuthorized(
                "an agent key runs as its own cloud agent: leave agent_identity_uid unset",
                field="agent_identity_uid",
            )
        if request.team_uid is not None and request.team_uid != principal.team_uid:
            raise ResourceNotFound(f"team {request.team_uid!r} not found", field="team")
        return _Creator(
            "service_account", principal.uid, principal.display_name, principal.team_uid
        )

    if identity is not None:
        agent: CloudAgent = get_agent(session, principal, identity, "agent_identity_uid")
        return _Creator("service_account", agent.uid, agent.name, agent.team_uid)
    team_uid = require_team(session, principal, request.team_uid)
    return _Creator("user", principal.uid, principal.display_name, team_uid)


def get_run(session: Session, principal: Principal, uid: str) -> Run:
    run = session.get(Run, uid)
    if run is None or run.team_uid not in team_uids_of(session, principal):
        raise ResourceNotFound(f"run {uid!r} not found")
    return run


def cancel_run(session: Session, principal: Principal, uid: str) -> Run:
    """Cancel a queued or running cloud run; its worker stops the harness."""
    run = get_run(session, principal, uid)
    if run.execution_location == states.LOCAL:
        raise OperationNotSupported(
            "local runs are stopped where they run: press Ctrl-C in that terminal"
        )
    if run.state in states.TERMINAL_STATES:
        raise InvalidRequest(f"run {uid} already ended in state {run.state}")
    if run.state == states.PENDING:
        raise Conflict(f"run {uid} is PENDING: retry once it is queued")

    finish_run(run, states.CANCELLED, {"message": f"Cancelled by {principal.label}"})
    session.flush()
    return run


def finish_run(
    run: Run, state: str, status_message: dict[str, Any] | None, now: datetime | None = None
) -> None:
    moment = now or utcnow()
    run.state = state
    run.status_message = status_message
    run.updated_at = moment
    run.ended_at = moment

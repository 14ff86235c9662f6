"""Cloud environments: the repositories a run clones and the setup commands it runs first.

Any member of a team may create environments and run with them; the member who created
one, or a team admin, may change or delete it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oz.clock import isoformat, utcnow
from oz.db.models import CloudAgent, Environment
from oz.errors import EnvironmentSetupFailed, InvalidRequest, NotAuthorized, ResourceNotFound
from oz.github.orgs import normalize_repository
from oz.identity.teams import require_team, role_in, team_uids_of
from oz.principal import Principal

NAME_MAX_LENGTH = 100
MAX_REPOS = 20
MAX_COMMANDS = 50
COMMAND_MAX_LENGTH = 2000


@dataclass(frozen=True)
class EnvironmentChange:
    """Fields to set; None leaves a field as it is."""

    name: str | None = None
    description: str | None = None
    repos: list[str] | None = None
    setup_commands: list[str] | None = None


def _name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise InvalidRequest(
            f"name must be 1 to {NAME_MAX_LENGTH} characters after trimming", field="name"
        )
    return name


def _repos(values: list[str]) -> list[str]:
    if len(values) > MAX_REPOS:
        raise InvalidRequest(f"repos may list at most {MAX_REPOS} repositories", field="repos")
    repos: list[str] = []
    for index, value in enumerate(values):
        repo = normalize_repository(value, f"repos[{index}]")
        if repo.lower() in (known.lower() for known in repos):
            raise InvalidRequest(f"repos lists {repo} twice", field=f"repos[{index}]")
        if repo.split("/", 1)[1].lower() in (known.split("/", 1)[1].lower() for known in repos):
            raise InvalidRequest(
                f"repos[{index}] {repo} has the name of another repository in the list, and"
                " each is cloned into a directory of its name",
                field=f"repos[{index}]",
            )
        repos.append(repo)
    return repos


def _commands(values: list[str]) -> list[str]:
    if len(values) > MAX_COMMANDS:
        raise InvalidRequest(
            f"setup_commands may list at most {MAX_COMMANDS} commands", field="setup_commands"
        )
    for index, command in enumerate(values):
        if not command.strip() or len(command) > COMMAND_MAX_LENGTH or "\x00" in command:
            raise InvalidRequest(
                f"setup_commands[{index}] must be a shell command of 1 to"
                f" {COMMAND_MAX_LENGTH} characters",
                field=f"setup_commands[{index}]",
            )
    return list(values)


def create_environment(
    session: Session,
    principal: Principal,
    team: str | None,
    change: EnvironmentChange,
) -> Environment:
    if change.name is None:
        raise InvalidRequest("name is required", field="name")
    team_uid = require_team(session, principal, team)
    environment = Environment(
        team_uid=team_uid,
        name=_name(change.name),
        description=change.description,
        repos=_repos(change.repos or []),
        setup_commands=_commands(change.setup_commands or []),
        created_by=principal.uid,
    )
    _save(session, environment)
    return environment


def get_environment(session: Session, principal: Principal, uid: str) -> Environment:
    environment = session.get(Environment, uid)
    if environment is None or environment.team_uid not in team_uids_of(session, principal):
        raise ResourceNotFound(f"environment {uid!r} not found")
    return environment


def list_environments(session: Session, principal: Principal) -> list[Environment]:
    return list(
        session.scalars(
            select(Environment)
            .where(Environment.team_uid.in_(team_uids_of(session, principal)))
            .order_by(Environment.name)
        )
    )


def update_environment(
    session: Session, principal: Principal, uid: str, change: EnvironmentChange
) -> Environment:
    environment = get_environment(session, principal, uid)
    _require_manager(session, principal, environment, "change")
    if change.name is not None:
        environment.name = _name(change.name)
    if change.description is not None:
        environment.description = change.description or None
    if change.repos is not None:
        environment.repos = _repos(change.repos)
    if change.setup_commands is not None:
        environment.setup_commands = _commands(change.setup_commands)
    environment.updated_at = utcnow()
    _save(session, environment)
    return environment


def delete_environment(session: Session, principal: Principal, uid: str) -> None:
    environment = get_environment(session, principal, uid)
    _require_manager(session, principal, environment, "delete")
    session.delete(environment)


def _require_manager(
    session: Session, principal: Principal, environment: Environment, action: str
) -> None:
    if principal.uid == environment.created_by:
        return
    role = role_in(session, environment.team_uid, principal.uid) if principal.is_human else None
    if role not in ("owner", "admin"):
        raise NotAuthorized(
            f"only the member who created environment {environment.name!r} or a team admin"
            f" may {action} it"
        )


def _save(session: Session, environment: Environment) -> None:
    try:
        with session.begin_nested():
            session.add(environment)
            session.flush()
    except IntegrityError:
        raise InvalidRequest(
            f"the team already has an environment named {environment.name!r}: pick another name",
            field="name",
        ) from None


def environment_view(environment: Environment) -> dict[str, Any]:
    return {
        "uid": environment.uid,
        "name": environment.name,
        "description": environment.description,
        "repos": list(environment.repos),
        "setup_commands": list(environment.setup_commands),
        "team_uid": environment.team_uid,
        "created_by": environment.created_by,
        "created_at": isoformat(environment.created_at),
        "updated_at": isoformat(environment.updated_at),
    }


@dataclass(frozen=True)
class RunEnvironment:
    """The repositories and setup commands a run prepares before its harness starts."""

    uid: str | None = None
    repos: tuple[str, ...] = ()
    setup_commands: tuple[str, ...] = ()


def environment_id_of(
    session: Session, config: dict[str, Any], agent_uid: str | None
) -> tuple[str | None, str]:
    """Return a run's environment id and where it was named.

    That is `config.environment_id`, else the cloud agent's default `environment_id`.
    """
    environment_id = config.get("environment_id")
    if environment_id is None and agent_uid is not None:
        agent = session.get(CloudAgent, agent_uid)
        default = agent.settings.get("environment_id") if agent is not None else None
        if isinstance(default, str) and default:
            return default, "the cloud agent's environment_id"
    return environment_id, "config.environment_id"


def run_environment(
    session: Session, team_uid: str, named: tuple[str | None, str], *, at_start: bool
) -> RunEnvironment:
    """Load a run's environment; a missing one is a bad request, or at start a setup failure."""
    environment_id, source = named
    if environment_id is None:
        return RunEnvironment()
    environment = session.get(Environment, environment_id)
    if environment is None or environment.team_uid != team_uid:
        if at_start:
            raise EnvironmentSetupFailed(f"environment {environment_id!r} no longer exists")
        raise InvalidRequest(
            f"{source} {environment_id!r} is not an environment of the run's team: list"
            " them with `oz environment list`",
            field="config.environment_id" if source.startswith("config") else "environment_id",
        )
    return RunEnvironment(
        environment.uid, tuple(environment.repos), tuple(environment.setup_commands)
    )

"""Cloud agents: a team's service accounts, which agent keys act as."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oz.auth.revocations import announce_after_commit
from oz.clock import utcnow
from oz.db.models import ApiKey, CloudAgent
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.identity.teams import require_admin, require_team, team_uids_of
from oz.principal import Principal

NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 2000


def _require_human(principal: Principal, action: str) -> None:
    if not principal.is_human:
        raise NotAuthorized(f"only a user may {action} cloud agents; agent keys may not")


def clean_name(name: str) -> str:
    value = name.strip()
    if not 1 <= len(value) <= NAME_MAX_LENGTH:
        raise InvalidRequest(
            f"name must be 1 to {NAME_MAX_LENGTH} characters after trimming, got {len(value)}",
            field="name",
        )
    return value


def clean_description(description: str | None) -> str | None:
    if description is None:
        return None
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise InvalidRequest(
            f"description must be at most {DESCRIPTION_MAX_LENGTH} characters",
            field="description",
        )
    return description


def get_agent(
    session: Session, principal: Principal, uid: str, field: str | None = None
) -> CloudAgent:
    """Return a live cloud agent of one of the principal's teams.

    `field` names the request field that carried `uid`, for the error.
    """
    agent = session.get(CloudAgent, uid)
    if (
        agent is None
        or agent.deleted_at is not None
        or agent.team_uid not in team_uids_of(session, principal)
    ):
        extras = {"field": field} if field else {}
        raise ResourceNotFound(f"cloud agent {uid!r} not found", **extras)
    return agent


def list_agents(session: Session, principal: Principal) -> list[CloudAgent]:
    return list(
        session.scalars(
            select(CloudAgent)
            .where(
                CloudAgent.team_uid.in_(team_uids_of(session, principal)),
                CloudAgent.deleted_at.is_(None),
            )
            .order_by(CloudAgent.is_default.desc(), CloudAgent.created_at, CloudAgent.uid)
        )
    )


def create_agent(
    session: Session,
    principal: Principal,
    name: str,
    description: str | None = None,
    team_uid: str | None = None,
) -> CloudAgent:
    _require_human(principal, "create")
    agent = CloudAgent(
        team_uid=require_team(session, principal, team_uid),
        name=clean_name(name),
        description=clean_description(description),
    )
    session.add(agent)
    session.flush()
    return agent


def update_agent(
    session: Session,
    principal: Principal,
    uid: str,
    name: str | None = None,
    description: str | None = None,
) -> CloudAgent:
    _require_human(principal, "update")
    agent = get_agent(session, principal, uid)
    if name is not None:
        agent.name = clean_name(name)
    if description is not None:
        agent.description = clean_description(description)
    agent.updated_at = utcnow()
    session.flush()
    return agent


def delete_agent(session: Session, principal: Principal, uid: str) -> None:
    """Delete a cloud agent and every key bound to it, in the caller's transaction.

    Only the team's owner and admins may, since the keys that go with it may be other
    members'.
    """
    _require_human(principal, "delete")
    agent = get_agent(session, principal, uid)
    require_admin(session, principal, agent.team_uid, "delete cloud agents")
    if agent.is_default:
        raise InvalidRequest(
            f"{agent.name!r} is the team's default cloud agent and cannot be deleted"
        )

    now = utcnow()
    agent.deleted_at = now
    session.execute(
        update(ApiKey)
        .where(ApiKey.agent_uid == agent.uid, ApiKey.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    announce_after_commit(session)

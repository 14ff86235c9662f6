"""Team members and their roles: list, change a role, remove, transfer ownership.

A team has exactly one owner. The unique index `uq_memberships_team_owner` allows at
most one owner row per team, and the only way to change the owner is
`transfer_ownership`, which demotes the old owner before it promotes the new one in the
same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from oz.auth.revocations import announce_membership_change
from oz.db.models import ApiKey, CloudAgent, Membership, Team, User
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.identity.teams import require_admin, role_in
from oz.principal import Principal

ASSIGNABLE_ROLES = ("admin", "member")


@dataclass(frozen=True)
class Member:
    user_uid: str
    email: str
    display_name: str
    role: str
    joined_at: datetime


def _members_of(team_uid: str) -> Select[User, Membership]:
    """Select the team's members that are not deleted, with their memberships."""
    return (
        select(User, Membership)
        .join(Membership, Membership.user_uid == User.uid)
        .where(Membership.team_uid == team_uid, User.deleted_at.is_(None))
    )


def _member(user: User, membership: Membership) -> Member:
    return Member(user.uid, user.email, user.display_name, membership.role, membership.created_at)


def list_members(session: Session, principal: Principal, team_uid: str) -> list[Member]:
    """Return the team's members, owner first, then admins, then members by joining date."""
    require_admin(session, principal, team_uid, "list the team's members")
    rows = session.execute(_members_of(team_uid).order_by(Membership.created_at, User.email))
    members = [_member(user, membership) for user, membership in rows]
    rank = {"owner": 0, "admin": 1, "member": 2}
    return sorted(members, key=lambda member: rank.get(member.role, 3))


def get_member(session: Session, principal: Principal, team_uid: str, user_uid: str) -> Member:
    require_admin(session, principal, team_uid, "list the team's members")
    return member_of(session, team_uid, user_uid)


def member_of(session: Session, team_uid: str, user_uid: str) -> Member:
    """Return one member of the team. The caller checks its right to see the member first."""
    row = session.execute(
        _members_of(team_uid).where(Membership.user_uid == user_uid)
    ).one_or_none()
    if row is None:
        raise ResourceNotFound(f"user {user_uid!r} is not a member of this team", field="user_uid")
    return _member(*row)


def member_uid(session: Session, team_uid: str, user: str) -> str:
    """Return the user id of the member `user` names by email or id.

    An email that names no member is returned unchanged, so that the service still checks
    the caller's right to the action first and then reports the member as not found.
    """
    if "@" not in user:
        return user
    row = session.execute(_members_of(team_uid).where(User.email == user.strip().lower())).first()
    return row[0].uid if row else user


def _membership(session: Session, team_uid: str, user_uid: str) -> Membership:
    """Return the membership row locked for update, as it is after any concurrent change."""
    membership = session.get(
        Membership, (team_uid, user_uid), with_for_update=True, populate_existing=True
    )
    if membership is None:
        raise ResourceNotFound(f"user {user_uid!r} is not a member of this team", field="user_uid")
    return membership


def change_role(
    session: Session, principal: Principal, team_uid: str, user_uid: str, role: str
) -> Membership:
    """Make a member an admin or an admin a member; the owner's role changes only by transfer."""
    require_admin(session, principal, team_uid, "change roles")
    if role not in ASSIGNABLE_ROLES:
        raise InvalidRequest(
            f"role {role!r} is not valid: use admin or member; the owner transfers ownership",
            field="role",
        )

    membership = _membership(session, team_uid, user_uid)
    if membership.role == "owner":
        raise InvalidRequest(
            "the team's owner keeps the owner role until they transfer ownership to another member",
            field="role",
        )

    membership.role = role
    session.flush()
    return membership


def remove_member(session: Session, principal: Principal, team_uid: str, user_uid: str) -> None:
    """Remove a member from the team; the owner cannot be removed.

    The user keeps their account and their personal keys, which still act in their other
    teams. Their access to this team ends with the membership, because a user's teams are
    read from the memberships on every request. Agent keys they created act as the
    team's cloud agents and keep working.
    """
    require_admin(session, principal, team_uid, "remove members")
    membership = _membership(session, team_uid, user_uid)
    if membership.role == "owner":
        raise InvalidRequest(
            "the team's owner cannot be removed: the owner must transfer ownership first",
            field="user_uid",
        )

    session.delete(membership)
    session.flush()
    announce_membership_change(session)


def transfer_ownership(
    session: Session, principal: Principal, team_uid: str, new_owner_uid: str
) -> None:
    """Make another member the team's owner; the old owner becomes an admin.

    Only the owner may. Billing of agent keys follows the owner, so it moves too.
    """
    if not principal.is_human or role_in(session, team_uid, principal.uid) != "owner":
        raise NotAuthorized("only the team's owner may transfer ownership")

    # Lock the owner's row first and check again, so that of two concurrent transfers
    # the second sees that the caller is no longer the owner.
    old_owner = _membership(session, team_uid, principal.uid)
    if old_owner.role != "owner":
        raise NotAuthorized("only the team's owner may transfer ownership")
    if new_owner_uid == principal.uid:
        raise InvalidRequest("you already own this team: choose another member", field="user_uid")

    new_owner = _membership(session, team_uid, new_owner_uid)
    # Demote first: the unique index on owner rows rejects two owners at any moment.
    old_owner.role = "admin"
    session.flush()
    new_owner.role = "owner"
    session.flush()


def agent_keys_created_by(session: Session, team_uid: str, user_uid: str) -> int:
    """Count the live agent keys a user created for the team's cloud agents."""
    count = session.scalar(
        select(func.count(ApiKey.uid))
        .join(CloudAgent, CloudAgent.uid == ApiKey.agent_uid)
        .where(
            CloudAgent.team_uid == team_uid,
            ApiKey.creator_uid == user_uid,
            ApiKey.kind == "agent",
            ApiKey.deleted_at.is_(None),
        )
    )
    return int(count or 0)


def administered_teams(session: Session, user_uid: str) -> list[tuple[str, str, str]]:
    """Return (team uid, team name, role) of the teams the user owns or administers."""
    rows = session.execute(
        select(Team.uid, Team.name, Membership.role)
        .join(Membership, Membership.team_uid == Team.uid)
        .where(Membership.user_uid == user_uid, Membership.role.in_(("owner", "admin")))
        .order_by(Membership.created_at, Team.uid)
    )
    return [(uid, name, role) for uid, name, role in rows]

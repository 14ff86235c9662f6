"""Users, teams and memberships."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oz.auth.revocations import announce_after_commit, announce_membership_change
from oz.clock import utcnow
from oz.db.models import ApiKey, CloudAgent, Membership, Team, User
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.principal import Principal, TeamRef

ROLES = ("owner", "admin", "member")
DEFAULT_AGENT_NAME = "Default Service Account"
EMAIL_LOCAL_MAX_LENGTH = 64
EMAIL_MAX_LENGTH = 254


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(
        select(User).where(User.email == normalize_email(email), User.deleted_at.is_(None))
    )


def normalize_email(email: str) -> str:
    """Return the address in lower case, or raise InvalidRequest naming the rule it breaks."""
    value = email.strip().lower()
    problem = _email_problem(value)
    if problem is not None:
        raise InvalidRequest(
            f"email {email[:EMAIL_MAX_LENGTH]!r} is not an email address: {problem};"
            " give one address, such as ada@example.com",
            field="email",
        )
    return value


def _email_problem(value: str) -> str | None:
    local, _, domain = value.partition("@")
    if value.count("@") != 1 or not local or not domain:
        return "it needs one @ with text on both sides"
    if any(char.isspace() for char in value):
        return "it contains a space"
    # The lengths RFC 5321 allows: 64 before the @, 254 in all.
    if len(local) > EMAIL_LOCAL_MAX_LENGTH:
        return f"the part before the @ is longer than {EMAIL_LOCAL_MAX_LENGTH} characters"
    if len(value) > EMAIL_MAX_LENGTH:
        return f"it is longer than {EMAIL_MAX_LENGTH} characters"
    if "" in local.split(".") or "" in domain.split("."):
        return "a dot must stand between two characters, not at an end or beside another dot"
    if any(label.startswith("-") or label.endswith("-") for label in domain.split(".")):
        return "a part of the domain starts or ends with a hyphen"
    return None


def create_user(session: Session, email: str, display_name: str | None = None) -> User:
    address = normalize_email(email)
    if session.scalar(select(User.uid).where(User.email == address)) is not None:
        raise InvalidRequest(
            f"a user with email {address!r} already exists: to add them to another team,"
            f" invite them with `oz team invitation create {address}`",
            field="email",
        )

    user = User(email=address, display_name=(display_name or address.split("@")[0]).strip())
    session.add(user)
    session.flush()
    return user


def create_team(session: Session, name: str, owner: User) -> Team:
    """Create a team owned by `owner`, with its default cloud agent."""
    team = Team(name=name.strip() or "Team")
    session.add(team)
    session.flush()
    session.add(Membership(team_uid=team.uid, user_uid=owner.uid, role="owner"))
    session.add(CloudAgent(team_uid=team.uid, name=DEFAULT_AGENT_NAME, is_default=True))
    session.flush()
    announce_membership_change(session)
    return team


def add_member(session: Session, team_uid: str, user: User, role: str) -> Membership:
    if role not in ("admin", "member"):
        raise InvalidRequest(
            f"role {role!r} is not valid: use admin or member; ownership is transferred",
            field="role",
        )
    membership = Membership(team_uid=team_uid, user_uid=user.uid, role=role)
    session.add(membership)
    session.flush()
    announce_membership_change(session)
    return membership


def teams_of(session: Session, user_uid: str) -> list[Team]:
    """Return the user's teams, oldest membership first."""
    return list(
        session.scalars(
            select(Team)
            .join(Membership, Membership.team_uid == Team.uid)
            .where(Membership.user_uid == user_uid)
            .order_by(Membership.created_at, Team.uid)
        )
    )


def team_refs_of(session: Session, user_uid: str) -> tuple[TeamRef, ...]:
    """Return the uid and name of each of the user's teams, oldest membership first."""
    return tuple(TeamRef(team.uid, team.name) for team in teams_of(session, user_uid))


def team_uids_of(session: Session, principal: Principal) -> list[str]:
    """Return the teams whose resources the principal may see."""
    if principal.type == "service_account":
        return [principal.team_uid] if principal.team_uid else []
    return [team.uid for team in teams_of(session, principal.uid)]


def require_team(session: Session, principal: Principal, team_uid: str | None) -> str:
    """Return `team_uid`, or the principal's first team, checking that it may act there."""
    allowed = team_uids_of(session, principal)
    if team_uid is None:
        if not allowed:
            raise NotAuthorized("the caller belongs to no team")
        return allowed[0]
    if team_uid not in allowed:
        raise ResourceNotFound(f"team {team_uid!r} not found", field="team")
    return team_uid


def role_in(session: Session, team_uid: str, user_uid: str) -> str | None:
    return session.scalar(
        select(Membership.role).where(
            Membership.team_uid == team_uid, Membership.user_uid == user_uid
        )
    )


def require_admin(session: Session, principal: Principal, team_uid: str, action: str) -> None:
    """Raise NotAuthorized unless the principal is the team's owner or an admin."""
    role = role_in(session, team_uid, principal.uid) if principal.is_human else None
    if role not in ("owner", "admin"):
        raise NotAuthorized(f"only the team's owner or admins may {action}; ask one of them")


def delete_user(session: Session, user_uid: str) -> None:
    """Delete a user and invalidate every personal key they created.

    A team owner must transfer ownership first. Agent keys they created stay valid:
    they act as their team's cloud agent, not as the user.
    """
    user = session.get(User, user_uid)
    if user is None or user.deleted_at is not None:
        raise ResourceNotFound(f"user {user_uid!r} not found")
    owned = session.scalar(
        select(Membership.team_uid).where(
            Membership.user_uid == user_uid, Membership.role == "owner"
        )
    )
    if owned is not None:
        raise InvalidRequest(
            f"user {user.email} owns team {owned}, and a team's owner cannot be deleted"
        )

    now = utcnow()
    user.deleted_at = now
    user.email = f"deleted-{user.uid}@invalid"
    session.execute(
        update(ApiKey)
        .where(ApiKey.creator_uid == user_uid, ApiKey.kind == "personal")
        .where(ApiKey.deleted_at.is_(None))
        .values(deleted_at=now)
    )
    session.query(Membership).filter(Membership.user_uid == user_uid).delete()
    announce_after_commit(session)

"""Invitations: one-time links that let a person join a team with a role.

The link carries a 256-bit random token. The database stores only its HMAC-SHA256 under
the server secret, so the link is shown once, to the admin who made it, to send to the
invitee. An invitation is bound to an email address, expires after seven days and can be
accepted once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from oz.auth.passwords import check_rules, set_password
from oz.clock import utcnow
from oz.db.models import Invitation, Team, User
from oz.errors import InvalidRequest, ResourceNotFound
from oz.identity.memberships import ASSIGNABLE_ROLES
from oz.identity.teams import add_member, create_user, normalize_email, require_admin, role_in
from oz.principal import Principal

LIFETIME = timedelta(days=7)
TOKEN_BYTES = 32
DISPLAY_NAME_MAX_LENGTH = 200


@dataclass(frozen=True)
class OpenInvitation:
    """A valid invitation and the team it is for."""

    uid: str
    team_uid: str
    team_name: str
    email: str
    role: str


def _digest(secret: bytes, token: str) -> str:
    return hmac.new(secret, b"oz invitation\0" + token.encode(), hashlib.sha256).hexdigest()


def create_invitation(
    session: Session, secret: bytes, principal: Principal, team_uid: str, email: str, role: str
) -> tuple[Invitation, str]:
    """Invite `email` to the team; return the invitation and its token, stored nowhere.

    A new invitation replaces a pending one for the same address.
    """
    require_admin(session, principal, team_uid, "invite members")
    address = normalize_email(email)
    if role not in ASSIGNABLE_ROLES:
        raise InvalidRequest(f"role {role!r} is not valid: use admin or member", field="role")
    existing = session.scalar(select(User).where(User.email == address, User.deleted_at.is_(None)))
    if existing is not None and role_in(session, team_uid, existing.uid) is not None:
        raise InvalidRequest(f"{address} is already a member of this team", field="email")

    session.execute(
        delete(Invitation).where(
            Invitation.team_uid == team_uid,
            Invitation.email == address,
            Invitation.accepted_at.is_(None),
        )
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    invitation = Invitation(
        team_uid=team_uid,
        email=address,
        role=role,
        token_digest=_digest(secret, token),
        invited_by=principal.uid,
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(invitation)
    session.flush()
    return invitation, token


def _pending_of(team_uid: str) -> Select[Invitation]:
    """Select the team's invitations that are neither accepted nor expired."""
    return select(Invitation).where(
        Invitation.team_uid == team_uid,
        Invitation.accepted_at.is_(None),
        Invitation.expires_at > utcnow(),
    )


def pending_invitations(session: Session, principal: Principal, team_uid: str) -> list[Invitation]:
    """Return the team's invitations that are neither accepted nor expired, newest first."""
    require_admin(session, principal, team_uid, "list invitations")
    return list(session.scalars(_pending_of(team_uid).order_by(Invitation.created_at.desc())))


def has_pending(session: Session, team_uid: str, email: str) -> bool:
    """Return whether `email` has an unexpired invitation that a new one would replace."""
    query = _pending_of(team_uid).where(Invitation.email == normalize_email(email))
    return session.scalars(query).first() is not None


def join_path(token: str) -> str:
    """Return the path of the join page for an invitation's token."""
    return "/join?" + urlencode({"token": token})


def revoke_invitation(session: Session, principal: Principal, team_uid: str, uid: str) -> None:
    require_admin(session, principal, team_uid, "revoke invitations")
    result = session.execute(
        delete(Invitation).where(
            Invitation.uid == uid,
            Invitation.team_uid == team_uid,
            Invitation.accepted_at.is_(None),
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ResourceNotFound(f"no pending invitation {uid!r} in this team")


def open_invitation(session: Session, secret: bytes, token: str) -> OpenInvitation:
    """Return the invitation of `token`, or raise when it is unknown, used or expired."""
    row = session.execute(
        select(Invitation, Team.name)
        .join(Team, Team.uid == Invitation.team_uid)
        .where(Invitation.token_digest == _digest(secret, token.strip()))
    ).one_or_none()
    if row is None:
        raise ResourceNotFound(
            "this invitation link is not valid: it was revoked, replaced by a newer invitation,"
            " or not copied whole: ask the team's admin for a new one"
        )

    invitation, team_name = row
    if invitation.accepted_at is not None:
        raise InvalidRequest(
            "this invitation was already used: sign in, or ask the team's admin for a new one"
        )
    if invitation.expires_at <= utcnow():
        raise InvalidRequest(
            "this invitation expired: ask the team's admin for a new one, which is valid"
            f" for {LIFETIME.days} days"
        )
    return OpenInvitation(
        invitation.uid, invitation.team_uid, team_name, invitation.email, invitation.role
    )


def _consume(session: Session, invitation: OpenInvitation, user_uid: str) -> None:
    """Mark the invitation accepted; one conditional UPDATE, so only one accept wins."""
    result = session.execute(
        update(Invitation)
        .where(Invitation.uid == invitation.uid, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow(), accepted_by=user_uid)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidRequest("this invitation was already used: sign in to use oz")


def accept_invitation(session: Session, secret: bytes, token: str, user: User) -> OpenInvitation:
    """Add a signed-in user to the invitation's team; the user must have its email."""
    invitation = open_invitation(session, secret, token)
    if user.email != invitation.email:
        raise InvalidRequest(
            f"this invitation is for {invitation.email}, and you are signed in as"
            f" {user.email}: sign out, then open the link again"
        )
    if role_in(session, invitation.team_uid, user.uid) is not None:
        raise InvalidRequest(f"you are already a member of {invitation.team_name}")

    _consume(session, invitation, user.uid)
    add_member(session, invitation.team_uid, user, invitation.role)
    return invitation


def accept_as_new_user(
    session: Session, secret: bytes, token: str, display_name: str, password: str
) -> tuple[OpenInvitation, User]:
    """Create the invitee's account with a password and add it to the team."""
    invitation = open_invitation(session, secret, token)
    if len(display_name.strip()) > DISPLAY_NAME_MAX_LENGTH:
        raise InvalidRequest(
            f"the name must be at most {DISPLAY_NAME_MAX_LENGTH} characters", field="display_name"
        )
    taken = session.scalar(select(User.uid).where(User.email == invitation.email))
    if taken is not None:
        raise InvalidRequest(
            f"an account with the email {invitation.email} exists: sign in to accept the"
            " invitation",
            field="email",
        )

    check_rules(password)
    user = create_user(session, invitation.email, display_name.strip() or None)
    set_password(session, user.uid, password)
    _consume(session, invitation, user.uid)
    add_member(session, invitation.team_uid, user, invitation.role)
    return invitation, user

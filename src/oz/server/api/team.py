"""`/team/...`: members, roles, ownership and invitations, as in the Admin Panel.

The rules (who may do what, one owner) are in `oz.identity.memberships` and
`oz.identity.invitations`, shared with the Admin Panel's pages.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from oz.clock import isoformat
from oz.db.models import Invitation
from oz.identity import invitations, memberships
from oz.identity.memberships import Member
from oz.identity.teams import require_team
from oz.server.deps import CurrentPrincipal, State, public_url

router = APIRouter(tags=["team"])
logger = logging.getLogger("oz.team")

TEAM_FIELD = Field(None, description="team uid; defaults to your first team")


def member_view(member: Member) -> dict[str, Any]:
    return {
        "user_uid": member.user_uid,
        "email": member.email,
        "display_name": member.display_name,
        "role": member.role,
        "joined_at": isoformat(member.joined_at),
    }


def invitation_view(invitation: Invitation) -> dict[str, Any]:
    return {
        "uid": invitation.uid,
        "email": invitation.email,
        "role": invitation.role,
        "invited_by": invitation.invited_by,
        "created_at": isoformat(invitation.created_at),
        "expires_at": isoformat(invitation.expires_at),
    }


@router.get("/team/members", summary="A team's members and roles (owner and admins)")
def list_members(
    principal: CurrentPrincipal, state: State, team: str | None = None
) -> dict[str, Any]:
    with state.database.read() as session:
        team_uid = require_team(session, principal, team)
        members = memberships.list_members(session, principal, team_uid)
        return {"team_uid": team_uid, "members": [member_view(member) for member in members]}


class RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str | None = TEAM_FIELD
    role: str = Field(description="admin or member; the owner changes only by transfer")


@router.put(
    "/team/members/{user}",
    summary="Change the role of a member, named by user id or email (owner and admins)",
)
def put_member(
    user: str, body: RoleBody, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    with state.database.transaction() as session:
        team_uid = require_team(session, principal, body.team)
        user_uid = memberships.member_uid(session, team_uid, user)
        memberships.change_role(session, principal, team_uid, user_uid, body.role)
        # No second permission check: an admin who made themselves a member may not list.
        member = memberships.member_of(session, team_uid, user_uid)
    logger.info("role changed", extra={"team_uid": team_uid, "user_uid": user_uid})
    return member_view(member)


@router.delete(
    "/team/members/{user}",
    status_code=204,
    summary="Remove a member, named by user id or email, from the team (owner and admins)",
)
def delete_member(
    user: str, principal: CurrentPrincipal, state: State, team: str | None = None
) -> Response:
    with state.database.transaction() as session:
        team_uid = require_team(session, principal, team)
        user_uid = memberships.member_uid(session, team_uid, user)
        memberships.remove_member(session, principal, team_uid, user_uid)
    logger.info("member removed", extra={"team_uid": team_uid, "user_uid": user_uid})
    return Response(status_code=204)


class OwnerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str | None = TEAM_FIELD
    user_uid: str = Field(description="the member who becomes the owner: user id or email")


@router.put("/team/owner", summary="Transfer ownership to another member (the owner only)")
def put_owner(body: OwnerBody, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.transaction() as session:
        team_uid = require_team(session, principal, body.team)
        owner_uid = memberships.member_uid(session, team_uid, body.user_uid)
        memberships.transfer_ownership(session, principal, team_uid, owner_uid)
    logger.info("ownership transferred", extra={"team_uid": team_uid, "user_uid": owner_uid})
    return {"team_uid": team_uid, "owner_uid": owner_uid}


@router.get("/team/invitations", summary="A team's pending invitations (owner and admins)")
def list_invitations(
    principal: CurrentPrincipal, state: State, team: str | None = None
) -> dict[str, Any]:
    with state.database.read() as session:
        team_uid = require_team(session, principal, team)
        pending = invitations.pending_invitations(session, principal, team_uid)
        return {"team_uid": team_uid, "invitations": [invitation_view(row) for row in pending]}


class InvitationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str | None = TEAM_FIELD
    email: str = Field(max_length=320, description="the address the invitee signs up with")
    role: str = Field("member", description="admin or member")


@router.post(
    "/team/invitations",
    status_code=201,
    summary="Invite someone by a one-time link, shown once (owner and admins)",
)
def post_invitation(
    body: InvitationBody,
    principal: CurrentPrincipal,
    state: State,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    with state.database.transaction() as session:
        team_uid = require_team(session, principal, body.team)
        replaced = invitations.has_pending(session, team_uid, body.email)
        invitation, token = invitations.create_invitation(
            session, state.secret, principal, team_uid, body.email, body.role
        )
        view = invitation_view(invitation)
    logger.info("invitation created", extra={"team_uid": team_uid, "role": body.role})
    response.headers["Cache-Control"] = "no-store"
    link = public_url(request) + invitations.join_path(token)
    return {**view, "team_uid": team_uid, "join_url": link, "replaced_pending": replaced}


@router.delete(
    "/team/invitations/{uid}",
    status_code=204,
    summary="Revoke a pending invitation; its link stops working (owner and admins)",
)
def delete_invitation(
    uid: str, principal: CurrentPrincipal, state: State, team: str | None = None
) -> Response:
    with state.database.transaction() as session:
        team_uid = require_team(session, principal, team)
        invitations.revoke_invitation(session, principal, team_uid, uid)
    logger.info("invitation revoked", extra={"team_uid": team_uid, "invitation_uid": uid})
    return Response(status_code=204)

"""Admin Panel > Members: invitations, roles, removal and ownership transfer.

The rules (who may do what, one owner) are in `oz.identity.memberships` and
`oz.identity.invitations`; these pages parse forms, call them and render.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from oz.auth import sessions
from oz.errors import NotAuthorized, OzError
from oz.identity import invitations, memberships
from oz.server.deps import State, public_url
from oz.server.state import ServerState
from oz.web.admin import AdminForm, AdminPage, AdminTeam, admin_context, admin_redirect
from oz.web.rendering import render

router = APIRouter(prefix="/admin")
logger = logging.getLogger("oz.web")

NOTICES = {
    "role-changed": "The role was changed.",
    "removed": "The member was removed from the team. Their personal keys no longer act in"
    " this team; agent keys they created keep working until an admin deletes them.",
    "transferred": "Ownership was transferred. You are now an admin of the team.",
    "revoked": "The invitation was revoked. Its link no longer works.",
    "form-used": "That invitation form was already submitted, so no new invitation was"
    " created, and the link shown before still works.",
}


def _redirect(admin: AdminTeam, notice: str) -> Response:
    return admin_redirect(admin, "members", notice)


def _members_page(
    request: Request,
    state: ServerState,
    admin: AdminTeam,
    *,
    notice: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    principal = admin.found.principal
    with state.database.transaction() as session:
        members = memberships.list_members(session, principal, admin.team_uid)
        pending = invitations.pending_invitations(session, principal, admin.team_uid)
        # A one-time token: reloading the page that shows a new link creates nothing.
        nonce = sessions.issue_form_nonce(session, admin.found.session_uid)
    context = admin_context(
        state,
        admin,
        "members",
        members=members,
        invitations=pending,
        lifetime_days=invitations.LIFETIME.days,
        form_nonce=nonce,
        notice=NOTICES.get(notice or ""),
        values=values or {},
        errors=errors or {},
    )
    return render(request, "admin_members.html", context, status_code)


def _failed(
    request: Request,
    state: ServerState,
    admin: AdminTeam,
    exc: OzError,
    values: dict[str, str] | None = None,
) -> Response:
    """Show the members page again with the service's error beside its field."""
    logger.info(
        "admin action rejected",
        extra={"team_uid": admin.team_uid, "user_uid": admin.found.user.uid, "code": exc.code},
    )
    field = str(exc.extras.get("field", "form"))
    errors = {field if field in ("email", "role") else "form": str(exc.detail)}
    return _members_page(
        request, state, admin, values=values, errors=errors, status_code=exc.status
    )


@router.get("")
def admin_home(admin: AdminPage) -> Response:
    return RedirectResponse(f"/admin/members{admin.query}", status_code=303)


@router.get("/members")
def members_page(
    request: Request, state: State, admin: AdminPage, notice: str | None = None
) -> Response:
    return _members_page(request, state, admin, notice=notice)


@router.post("/members/invite")
def invite(
    request: Request,
    state: State,
    admin: AdminForm,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "member",
    form_nonce: Annotated[str, Form()] = "",
) -> Response:
    values = {"email": email, "role": role}
    if not email.strip():
        errors = {"email": "enter the email address of the person to invite"}
        return _members_page(request, state, admin, values=values, errors=errors, status_code=400)
    try:
        with state.database.transaction() as session:
            if not sessions.consume_form_nonce(session, admin.found.session_uid, form_nonce):
                return _redirect(admin, "form-used")
            invitation, token = invitations.create_invitation(
                session, state.secret, admin.found.principal, admin.team_uid, email, role
            )
            address, expires_at = invitation.email, invitation.expires_at
    except OzError as exc:
        return _failed(request, state, admin, exc, values)

    logger.info("invitation created", extra={"team_uid": admin.team_uid, "role": role})
    context = admin_context(
        state,
        admin,
        "members",
        email=address,
        role=role,
        expires_at=expires_at,
        team_uid=admin.team_uid,
        link=public_url(request) + invitations.join_path(token),
    )
    return render(request, "admin_invited.html", context)


@router.post("/invitations/{uid}/revoke")
def revoke(request: Request, state: State, admin: AdminForm, uid: str) -> Response:
    try:
        with state.database.transaction() as session:
            invitations.revoke_invitation(session, admin.found.principal, admin.team_uid, uid)
    except OzError as exc:
        return _failed(request, state, admin, exc)
    return _redirect(admin, "revoked")


@router.post("/members/{user_uid}/role")
def change_role(
    request: Request,
    state: State,
    admin: AdminForm,
    user_uid: str,
    role: Annotated[str, Form()] = "",
) -> Response:
    try:
        with state.database.transaction() as session:
            memberships.change_role(session, admin.found.principal, admin.team_uid, user_uid, role)
    except OzError as exc:
        return _failed(request, state, admin, exc)

    logger.info("role changed", extra={"team_uid": admin.team_uid, "member_uid": user_uid})
    return _redirect(admin, "role-changed")


def _confirm(
    request: Request, state: ServerState, admin: AdminTeam, user_uid: str, action: str
) -> Response:
    with state.database.read() as session:
        try:
            member = memberships.get_member(
                session, admin.found.principal, admin.team_uid, user_uid
            )
        except OzError as exc:
            return _failed(request, state, admin, exc)
        agent_keys = memberships.agent_keys_created_by(session, admin.team_uid, user_uid)

    who = f"{member.display_name} ({member.email})"
    if action == "remove":
        values: dict[str, Any] = {
            "title": f"Remove {member.email} from {admin.team_name}?",
            "paragraphs": [
                f"{who} loses access to the team's cloud agents, runs and settings at once."
                " Their account and their personal keys stay, for their other teams."
            ],
            "warning": (
                f"They created {agent_keys} agent key(s) for this team's cloud agents. Agent"
                " keys act as the cloud agent, not as the person, so they keep working: delete"
                " them in Settings > API keys if they should stop."
                if agent_keys
                else None
            ),
            "button": "Remove member",
            "button_class": "button-danger",
        }
    else:
        values = {
            "title": f"Make {member.email} the owner of {admin.team_name}?",
            "paragraphs": [
                f"{who} becomes the team's owner, and you become an admin. Only the new owner"
                " can transfer ownership again.",
                "Agent keys bill the team's owner, so their usage goes to the new owner's"
                " credits from now on.",
            ],
            "warning": None,
            "button": "Transfer ownership",
            "button_class": "",
        }
    context = admin_context(
        state,
        admin,
        "members",
        action=f"/admin/members/{user_uid}/{action}",
        cancel=f"/admin/members{admin.query}",
        **values,
    )
    return render(request, "admin_confirm.html", context)


@router.get("/members/{user_uid}/remove")
def remove_page(request: Request, state: State, admin: AdminPage, user_uid: str) -> Response:
    return _confirm(request, state, admin, user_uid, "remove")


@router.post("/members/{user_uid}/remove")
def remove(request: Request, state: State, admin: AdminForm, user_uid: str) -> Response:
    try:
        with state.database.transaction() as session:
            memberships.remove_member(session, admin.found.principal, admin.team_uid, user_uid)
    except OzError as exc:
        return _failed(request, state, admin, exc)

    logger.info("member removed", extra={"team_uid": admin.team_uid, "member_uid": user_uid})
    return _redirect(admin, "removed")


@router.get("/members/{user_uid}/transfer")
def transfer_page(request: Request, state: State, admin: AdminPage, user_uid: str) -> Response:
    if admin.role != "owner":
        error = NotAuthorized("only the team's owner may transfer ownership")
        return _failed(request, state, admin, error)
    return _confirm(request, state, admin, user_uid, "transfer")


@router.post("/members/{user_uid}/transfer")
def transfer(request: Request, state: State, admin: AdminForm, user_uid: str) -> Response:
    try:
        with state.database.transaction() as session:
            memberships.transfer_ownership(session, admin.found.principal, admin.team_uid, user_uid)
    except OzError as exc:
        return _failed(request, state, admin, exc)

    logger.info(
        "ownership transferred", extra={"team_uid": admin.team_uid, "new_owner_uid": user_uid}
    )
    return _redirect(admin, "transferred")

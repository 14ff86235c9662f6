"""`/join?token=...`: accept an invitation to a team.

A person without an account sets a name and a password here and is signed in. A user
who already has an account signs in first, then accepts. The token stays out of the
access log, which records paths without their query strings.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from oz.auth import sessions
from oz.auth.passwords import MIN_LENGTH
from oz.db.models import User
from oz.errors import InvalidRequest, OzError
from oz.identity.invitations import (
    OpenInvitation,
    accept_as_new_user,
    accept_invitation,
    join_path,
    open_invitation,
)
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web import csrf
from oz.web.deps import (
    HOME,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SignedInForm,
    csrf_token_of,
    find_signed_in,
    set_cookie,
)
from oz.web.rendering import render

router = APIRouter()
logger = logging.getLogger("oz.web")


def _binding(request: Request) -> str:
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)


def _problem(request: Request, exc: OzError) -> Response:
    context = {
        "user": None,
        "title": "Invitation not accepted",
        "message": str(exc.detail),
        "back": ("/sign-in", "Sign in"),
    }
    return render(request, "error.html", context, exc.status)


def _page(
    request: Request,
    state: ServerState,
    token: str,
    invitation: OpenInvitation,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    found = find_signed_in(request, state)
    with state.database.read() as session:
        has_account = (
            session.scalar(
                select(User.uid).where(User.email == invitation.email, User.deleted_at.is_(None))
            )
            is not None
        )
    binding = _binding(request)
    context: dict[str, Any] = {
        "user": found.user if found else None,
        "csrf_token": csrf_token_of(state, found)
        if found
        else csrf.token_for(state.secret, "join:" + binding),
        "invitation": invitation,
        "token": token,
        "has_account": has_account,
        "sign_in_link": "/sign-in?" + urlencode({"next": join_path(token)}),
        "min_length": MIN_LENGTH,
        "values": values or {},
        "errors": errors or {},
    }
    response = render(request, "join.html", context, status_code)
    if found is None and request.cookies.get(SIGN_IN_COOKIE) != binding:
        set_cookie(response, request, SIGN_IN_COOKIE, binding, lifetime=None)
    return response


@router.get("/join")
def join_page(request: Request, state: State, token: str = "") -> Response:
    try:
        with state.database.read() as session:
            invitation = open_invitation(session, state.secret, token)
    except OzError as exc:
        return _problem(request, exc)
    return _page(request, state, token, invitation)


@router.post("/join")
def join_new_account(
    request: Request,
    state: State,
    token: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    binding = request.cookies.get(SIGN_IN_COOKIE)
    if binding is None or not csrf.is_valid(state.secret, "join:" + binding, csrf_token):
        raise csrf.CsrfRejected()
    try:
        with state.database.read() as session:
            invitation = open_invitation(session, state.secret, token)
    except OzError as exc:
        return _problem(request, exc)

    values = {"display_name": display_name}
    errors: dict[str, str] = {}
    if password != confirm_password:
        errors["confirm_password"] = "the two passwords differ: type the same password twice"
    if not errors:
        try:
            with state.database.transaction() as session:
                _, user = accept_as_new_user(session, state.secret, token, display_name, password)
                user_uid = user.uid
                lifetime = timedelta(hours=state.settings.web_session_hours)
                session_token = sessions.start(session, state.secret, user_uid, lifetime)
        except InvalidRequest as exc:
            field = str(exc.extras.get("field", "form"))
            errors[field if field in ("display_name", "password") else "form"] = str(exc.detail)
    if errors:
        return _page(
            request, state, token, invitation, values=values, errors=errors, status_code=400
        )

    logger.info(
        "invitation accepted", extra={"team_uid": invitation.team_uid, "user_uid": user_uid}
    )
    response = RedirectResponse(f"{HOME}?notice=joined", status_code=303)
    set_cookie(response, request, SESSION_COOKIE, session_token, lifetime)
    return response


@router.post("/join/accept")
def join_signed_in(
    request: Request, state: State, found: SignedInForm, token: Annotated[str, Form()] = ""
) -> Response:
    try:
        with state.database.transaction() as session:
            user = session.get(User, found.user.uid)
            assert user is not None
            invitation = accept_invitation(session, state.secret, token, user)
    except OzError as exc:
        return _problem(request, exc)

    logger.info(
        "invitation accepted", extra={"team_uid": invitation.team_uid, "user_uid": user.uid}
    )
    return RedirectResponse(f"{HOME}?notice=joined", status_code=303)

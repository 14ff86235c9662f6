"""`/settings/password`: change the signed-in user's password."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from oz.auth import sessions
from oz.auth.passwords import MIN_LENGTH
from oz.auth.sessions import SignedIn
from oz.auth.sign_in import change_password
from oz.errors import InvalidRequest, SignInLocked
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web.deps import SignedInForm, SignedInUser, csrf_token_of
from oz.web.rendering import render

router = APIRouter()
logger = logging.getLogger("oz.web")

CHANGED = "Your password was changed. Browsers signed in as you elsewhere were signed out."


def _page(
    request: Request,
    state: ServerState,
    found: SignedIn,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "user": found.user,
        "csrf_token": csrf_token_of(state, found),
        "errors": errors or {},
        "notice": notice,
        "min_length": MIN_LENGTH,
    }
    return render(request, "password.html", context, status_code)


@router.get("/settings/password")
def password_page(
    request: Request, state: State, found: SignedInUser, changed: str | None = None
) -> Response:
    return _page(request, state, found, notice=CHANGED if changed else None)


@router.post("/settings/password")
def change_password_form(
    request: Request,
    state: State,
    found: SignedInForm,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
) -> Response:
    errors: dict[str, str] = {}
    if not current_password:
        errors["current_password"] = "Enter your current password."
    if new_password != confirm_password:
        errors["confirm_password"] = "The two new passwords differ: type the same one twice."
    if errors:
        return _page(request, state, found, errors, status_code=400)

    try:
        change_password(state.database, found.user, current_password, new_password)
    except SignInLocked as exc:
        return _page(request, state, found, {"form": str(exc.detail)}, status_code=429)
    except InvalidRequest as exc:
        field = str(exc.extras.get("field", "form"))
        return _page(request, state, found, {field: str(exc.detail)}, status_code=400)

    with state.database.transaction() as session:
        sessions.end_others(session, found.user.uid, keep_uid=found.session_uid)
    logger.info("password changed", extra={"user_uid": found.user.uid})
    return RedirectResponse("/settings/password?changed=1", status_code=303)

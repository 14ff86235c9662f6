"""`/sign-in` and `/sign-out`: local accounts with an email and a password."""

from __future__ import annotations

import logging
import math
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from oz.auth import sessions
from oz.auth.sign_in import authenticate
from oz.clock import utcnow
from oz.errors import AuthenticationRequired, InvalidRequest, SignInLocked
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web import csrf
from oz.web.deps import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SignedInForm,
    clear_cookie,
    find_signed_in,
    safe_next,
    set_cookie,
)
from oz.web.rendering import render

router = APIRouter()
logger = logging.getLogger("oz.web")

SIGNED_OUT = "You are signed out."


def _form(
    request: Request,
    state: ServerState,
    *,
    binding: str,
    email: str = "",
    next_path: str | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "email": email,
        "next": next_path or "",
        "errors": errors or {},
        "notice": notice,
        "csrf_token": csrf.token_for(state.secret, "sign-in:" + binding),
    }
    response = render(request, "sign_in.html", context, status_code)
    if request.cookies.get(SIGN_IN_COOKIE) != binding:
        set_cookie(response, request, SIGN_IN_COOKIE, binding, lifetime=None)
    return response


@router.get("/sign-in")
def sign_in_page(
    request: Request,
    state: State,
    next_path: Annotated[str | None, Query(alias="next")] = None,
    signed_out: str | None = None,
) -> Response:
    if find_signed_in(request, state) is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    binding = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    notice = SIGNED_OUT if signed_out else None
    return _form(request, state, binding=binding, next_path=next_path, notice=notice)


@router.post("/sign-in")
def sign_in(
    request: Request,
    state: State,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    binding = request.cookies.get(SIGN_IN_COOKIE)
    if binding is None or not csrf.is_valid(state.secret, "sign-in:" + binding, csrf_token):
        raise csrf.CsrfRejected()

    def again(errors: dict[str, str], status_code: int) -> Response:
        assert binding is not None
        return _form(
            request,
            state,
            binding=binding,
            email=email,
            next_path=next_path,
            errors=errors,
            status_code=status_code,
        )

    if not email.strip():
        return again({"email": "Enter your email address."}, 400)
    if not password:
        return again({"password": "Enter your password."}, 400)
    client = request.client.host if request.client else None
    limit = state.settings.sign_in_client_failures
    try:
        user = authenticate(state.database, email, password, client, limit)
    except InvalidRequest:
        return again({"email": "Enter an email address, such as name@example.com."}, 400)
    except SignInLocked as exc:
        logger.warning(
            "sign-in locked",
            extra={
                "lock": exc.lock,
                "client": client,
                "locked_until": exc.locked_until.isoformat(),
            },
        )
        response = again({"form": str(exc.detail)}, 429)
        wait = (exc.locked_until - utcnow()).total_seconds()
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response
    except AuthenticationRequired as exc:
        logger.info("sign-in failed")
        return again({"form": str(exc.detail)}, 401)

    lifetime = timedelta(hours=state.settings.web_session_hours)
    with state.database.transaction() as session:
        token = sessions.start(session, state.secret, user.uid, lifetime)
    logger.info("signed in", extra={"user_uid": user.uid})
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, lifetime)
    clear_cookie(response, request, SIGN_IN_COOKIE)
    return response


@router.post("/sign-out")
def sign_out(request: Request, state: State, found: SignedInForm) -> Response:
    with state.database.transaction() as session:
        sessions.end(session, found.session_uid)
    logger.info("signed out", extra={"user_uid": found.user.uid})
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    clear_cookie(response, request, SESSION_COOKIE)
    return response

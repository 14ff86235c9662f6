"""`/device`: where a signed-in user approves an `oz login` with the code it shows."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from oz.auth import device
from oz.clock import utcnow
from oz.server.deps import State
from oz.web.deps import SignedInForm, SignedInUser, csrf_token_of
from oz.web.rendering import render

router = APIRouter()
logger = logging.getLogger("oz.web")

UNKNOWN_CODE = (
    "This code is unknown, expired or already used. Check it against your terminal, or run"
    " `oz login` again for a new one."
)


@router.get("/device")
def device_page(
    request: Request, state: State, found: SignedInUser, user_code: str = ""
) -> Response:
    context: dict[str, Any] = {
        "user": found.user,
        "csrf_token": csrf_token_of(state, found),
        "user_code": user_code,
        "errors": {},
        "authorization": None,
    }
    if user_code:
        with state.database.read() as session:
            authorization = device.find_pending(session, user_code, utcnow())
            if authorization is None:
                context["errors"] = {"user_code": UNKNOWN_CODE}
            else:
                context["authorization"] = {
                    "user_code": authorization.user_code,
                    "client_name": authorization.client_name,
                }
    return render(request, "device.html", context, 400 if context["errors"] else 200)


@router.post("/device")
def decide(
    request: Request,
    state: State,
    found: SignedInForm,
    user_code: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
) -> Response:
    approve = decision == "approve"
    with state.database.transaction() as session:
        decided = device.decide(session, user_code, found.user.uid, approve, utcnow())
    outcome = None
    if decided:
        outcome = "approved" if approve else "denied"
        logger.info("user %s %s an oz login", found.user.uid, outcome)
    context: dict[str, Any] = {
        "user": found.user,
        "csrf_token": csrf_token_of(state, found),
        "user_code": user_code,
        "errors": {} if decided else {"user_code": UNKNOWN_CODE},
        "authorization": None,
        "decided": outcome,
    }
    return render(request, "device.html", context, 200 if decided else 400)

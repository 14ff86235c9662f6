"""Settings > API keys: list, generate and delete the signed-in user's keys.

Keys come from the same service as the REST API and the CLI, so they are identical. The
page that shows a new key is the response to the form's POST, never a redirect, so the
raw key is in no URL. A one-time form token makes a resubmitted form (a reload of that
page) create nothing and show the list instead.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from oz.apikeys.service import (
    KeyView,
    create_key,
    deletable_key_uids,
    delete_key,
    list_keys,
)
from oz.auth import sessions
from oz.auth.sessions import SignedIn
from oz.errors import InvalidRequest, NotAuthorized, OzError, ResourceNotFound
from oz.identity.agents import list_agents
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web.deps import SignedInForm, SignedInUser, csrf_token_of
from oz.web.rendering import render

router = APIRouter(prefix="/settings/api-keys")
logger = logging.getLogger("oz.web")

LIST_PATH = "/settings/api-keys"
EXPIRATIONS = {"1d": "1 day", "30d": "30 days", "90d": "90 days", "never": "Never"}
DEFAULT_EXPIRATION = "30d"
KEY_TYPES = ("personal", "agent")
# The request fields that the key service names in its errors, and the form fields
# that carry them.
FORM_FIELDS = {
    "name": "name",
    "agent_uid": "agent_uid",
    "expires_in": "expiration",
    "expires_at": "expiration",
}
NOTICES = {
    "joined": "You joined the team. Its cloud agents are now listed for agent keys.",
    "deleted": "The API key was deleted. Any request that uses it is now refused.",
    "form-used": "That form was already submitted or replaced by a newer one, so no key"
    " was created. Generate a new token below if you still need one.",
}


def _key_rows(state: ServerState, found: SignedIn) -> list[KeyView]:
    with state.database.read() as session:
        views = list_keys(session, found.principal, "created-at")
    return list(reversed(views))  # newest first


@router.get("")
def list_page(
    request: Request, state: State, found: SignedInUser, notice: str | None = None
) -> Response:
    with state.database.read() as session:
        deletable = deletable_key_uids(session, found.principal)
    context: dict[str, Any] = {
        "user": found.user,
        "csrf_token": csrf_token_of(state, found),
        "keys": _key_rows(state, found),
        "deletable": deletable,
        "notice": NOTICES.get(notice or ""),
    }
    return render(request, "api_keys.html", context)


def _new_form(
    request: Request,
    state: ServerState,
    found: SignedIn,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with state.database.transaction() as session:
        agents = list_agents(session, found.principal)
        nonce = sessions.issue_form_nonce(session, found.session_uid)
    context: dict[str, Any] = {
        "user": found.user,
        "csrf_token": csrf_token_of(state, found),
        "form_nonce": nonce,
        "agents": agents,
        "expirations": EXPIRATIONS,
        "values": {"type": "personal", "expiration": DEFAULT_EXPIRATION, **(values or {})},
        "errors": errors or {},
    }
    return render(request, "api_key_new.html", context, status_code)


@router.get("/new")
def new_page(request: Request, state: State, found: SignedInUser) -> Response:
    return _new_form(request, state, found)


@router.post("")
def create(
    request: Request,
    state: State,
    found: SignedInForm,
    form_nonce: Annotated[str, Form()] = "",
    key_type: Annotated[str, Form(alias="type")] = "personal",
    agent_uid: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    expiration: Annotated[str, Form()] = "",
) -> Response:
    values = {"type": key_type, "agent_uid": agent_uid, "name": name, "expiration": expiration}
    errors: dict[str, str] = {}
    if key_type not in KEY_TYPES:
        errors["type"] = "choose Personal or Agent"
    if expiration not in EXPIRATIONS:
        errors["expiration"] = "choose an expiration: 1 day, 30 days, 90 days or never"
    if key_type == "agent" and not agent_uid:
        errors["agent_uid"] = "choose the cloud agent the key acts as"
    if errors:
        return _new_form(request, state, found, values=values, errors=errors, status_code=400)

    try:
        with state.database.transaction() as session:
            if not sessions.consume_form_nonce(session, found.session_uid, form_nonce):
                return RedirectResponse(f"{LIST_PATH}?notice=form-used", status_code=303)
            view, raw = create_key(
                session,
                state.secret,
                found.principal,
                name,
                key_type="agent" if key_type == "agent" else "personal",
                agent_uid=agent_uid if key_type == "agent" else None,
                expires_in=expiration,
            )
    except (InvalidRequest, ResourceNotFound) as exc:
        field = FORM_FIELDS.get(str(exc.extras.get("field")), "form")
        return _new_form(
            request, state, found, values=values, errors={field: str(exc.detail)}, status_code=400
        )

    logger.info("API key created", extra={"key_uid": view.uid, "user_uid": found.user.uid})
    context: dict[str, Any] = {
        "user": found.user,
        "csrf_token": csrf_token_of(state, found),
        "key": view,
        "raw_key": raw.value,
    }
    return render(request, "api_key_created.html", context)


def _find_key(state: ServerState, found: SignedIn, uid: str) -> KeyView | None:
    return next((view for view in _key_rows(state, found) if view.uid == uid), None)


def _problem(request: Request, found: SignedIn, error: OzError) -> Response:
    context = {"user": found.user, "title": error.title, "message": str(error.detail)}
    return render(request, "error.html", context, error.status)


@router.get("/{uid}/delete")
def delete_page(request: Request, state: State, found: SignedInUser, uid: str) -> Response:
    view = _find_key(state, found, uid)
    if view is None:
        return _problem(request, found, _not_found(uid))
    context: dict[str, Any] = {
        "user": found.user,
        "csrf_token": csrf_token_of(state, found),
        "key": view,
    }
    return render(request, "api_key_delete.html", context)


@router.post("/{uid}/delete")
def delete(request: Request, state: State, found: SignedInForm, uid: str) -> Response:
    try:
        with state.database.transaction() as session:
            delete_key(session, found.principal, uid)
    except ResourceNotFound:
        return _problem(request, found, _not_found(uid))
    except NotAuthorized as exc:
        logger.info("API key delete rejected", extra={"key_uid": uid, "user_uid": found.user.uid})
        return _problem(request, found, exc)

    logger.info("API key deleted", extra={"key_uid": uid, "user_uid": found.user.uid})
    return RedirectResponse(f"{LIST_PATH}?notice=deleted", status_code=303)


def _not_found(uid: str) -> ResourceNotFound:
    return ResourceNotFound(f"no API key {uid!r} is listed for you: it may be deleted already")

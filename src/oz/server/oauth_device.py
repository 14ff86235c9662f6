"""OAuth endpoints of `oz login`: device authorization (RFC 8628) and revocation (RFC 7009).

They speak OAuth's form bodies and JSON errors, not the REST API's problem+json.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from oz.auth import cli_sessions, device
from oz.clock import utcnow
from oz.server.deps import State, github_links

router = APIRouter(tags=["oz login"])
logger = logging.getLogger("oz.auth")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
DEVICE_PAGE = "/device"


def _error(code: str, description: str, status: int = 400) -> JSONResponse:
    body = {"error": code, "error_description": description}
    return JSONResponse(body, status_code=status, headers=NO_STORE)


@router.post("/oauth/device/code", summary="Start a device authorization (RFC 8628)")
def device_code(
    request: Request,
    state: State,
    client_id: Annotated[str, Form()] = "",
    client_name: Annotated[str, Form()] = "",
) -> JSONResponse:
    if client_id != device.CLIENT_ID:
        return _error("invalid_client", f"client_id must be {device.CLIENT_ID!r}", 401)
    with state.database.transaction() as session:
        authorization, code = device.start(session, state.secret, client_name, utcnow())
        user_code, interval = authorization.user_code, authorization.interval_seconds
    base = github_links(request).public_url
    body: dict[str, Any] = {
        "device_code": code,
        "user_code": user_code,
        "verification_uri": f"{base}{DEVICE_PAGE}",
        "verification_uri_complete": f"{base}{DEVICE_PAGE}?user_code={user_code}",
        "expires_in": int(device.LIFETIME.total_seconds()),
        "interval": interval,
    }
    return JSONResponse(body, headers=NO_STORE)


@router.post("/oauth/token", summary="Poll a device authorization for its token (RFC 8628)")
def token(
    state: State,
    grant_type: Annotated[str, Form()] = "",
    device_code: Annotated[str, Form()] = "",
    client_id: Annotated[str, Form()] = "",
) -> JSONResponse:
    if grant_type != device.GRANT_TYPE:
        return _error("unsupported_grant_type", f"grant_type must be {device.GRANT_TYPE}")
    if client_id != device.CLIENT_ID:
        return _error("invalid_client", f"client_id must be {device.CLIENT_ID!r}", 401)
    with state.database.transaction() as session:
        outcome = device.poll(session, state.secret, device_code, utcnow())
    if isinstance(outcome, device.DeviceGrantError):
        return _error(outcome.code, outcome.description)
    logger.info("a device authorization was granted a CLI session")
    body = {
        "access_token": outcome,
        "token_type": "Bearer",
        "expires_in": int(cli_sessions.LIFETIME.total_seconds()),
    }
    return JSONResponse(body, headers=NO_STORE)


@router.post("/oauth/revoke", summary="Revoke an oz login session (RFC 7009)")
def revoke(state: State, token: Annotated[str, Form()] = "") -> JSONResponse:
    # RFC 7009: the response to an unknown or already revoked token is 200 as well.
    if cli_sessions.is_session_token(token):
        with state.database.transaction() as session:
            cli_sessions.revoke(session, state.secret, token, utcnow())
    return JSONResponse({}, headers=NO_STORE)

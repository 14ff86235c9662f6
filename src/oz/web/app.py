"""Mount the web app on the server's FastAPI application."""

from __future__ import annotations

import inspect
import logging

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from oz.server.deps import server_state
from oz.web.admin import FORBIDDEN_MESSAGE, FORBIDDEN_TITLE, AdminRequired
from oz.web.csrf import CsrfRejected
from oz.web.deps import HOME, SignInRequired, csrf_token_of, find_signed_in, sign_in_url
from oz.web.headers import SecurityHeadersMiddleware
from oz.web.pages import (
    admin_agents,
    admin_billing,
    admin_github,
    admin_members,
    api_keys,
    device,
    github,
    join,
    password,
    sign_in,
)
from oz.web.rendering import STATIC_DIR, render

logger = logging.getLogger("oz.web")

# Paths that belong to the REST API rather than to the web app.
API_PATHS = ("/api/", "/healthz", "/oauth/")

CSRF_MESSAGE = (
    "The form was not accepted because its security token is missing or belongs to"
    " another session. This happens when a page stays open across a sign-out. Go back,"
    " reload the page and submit the form again."
)


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(sign_in_url(exc.next_path), status_code=303)


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    logger.warning("CSRF token rejected on %s %s", request.method, request.url.path)
    context = {"user": None, "title": "Form not accepted", "message": CSRF_MESSAGE}
    return render(request, "error.html", context, 403)


async def _admin_required(request: Request, exc: Exception) -> Response:
    logger.info("Admin Panel refused", extra={"path": request.url.path})
    state = server_state(request)
    found = find_signed_in(request, state)
    context = {
        "user": found.user if found else None,
        "csrf_token": csrf_token_of(state, found) if found else "",
        "title": FORBIDDEN_TITLE,
        "message": FORBIDDEN_MESSAGE,
    }
    return render(request, "error.html", context, 403)


def _http_error_text(request: Request, status_code: int) -> tuple[str, str]:
    if status_code == 404:
        return "Page not found", f"there is no page at {request.url.path}"
    if status_code == 405:
        return "Method not allowed", f"{request.method} is not allowed on {request.url.path}"
    return "Request failed", f"the request failed with HTTP status {status_code}"


def install(app: FastAPI) -> None:
    """Add the pages, the static files and the security headers of the web app.

    Call it after `oz.server.problems.install`: the REST API keeps its problem+json
    errors, and other paths get an HTML error page.
    """
    api_error = app.exception_handlers[HTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith(API_PATHS):
            response = api_error(request, exc)
            return await response if inspect.isawaitable(response) else response
        title, message = _http_error_text(request, exc.status_code)
        return render(
            request,
            "error.html",
            {"user": None, "title": title, "message": message},
            exc.status_code,
        )

    app.add_middleware(SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    pages = (sign_in, password, api_keys, github, device, join)
    admin_pages = (admin_members, admin_agents, admin_github, admin_billing)
    for module in pages + admin_pages:
        app.include_router(module.router, include_in_schema=False)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(AdminRequired, _admin_required)
    app.add_exception_handler(HTTPException, http_error)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse(HOME, status_code=303)

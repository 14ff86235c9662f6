"""`GET /github/oauth/callback`: where GitHub sends the browser back after authorization."""

from __future__ import annotations

import logging
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from oz.clock import utcnow
from oz.errors import OzError
from oz.github.accounts import check_token, store_account
from oz.github.client import GitHubError
from oz.github.oauth import CALLBACK_PATH, StateError, exchange_code, read_state
from oz.github.pending import create_pending
from oz.principal import Principal
from oz.server.deps import github_links, server_state
from oz.web.deps import find_signed_in

router = APIRouter(tags=["github"])
logger = logging.getLogger("oz.github")

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def _page(status: int, title: str, message: str, extra_html: str = "") -> HTMLResponse:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · oz</title></head>"
        f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p>{extra_html}</body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def _code_page(login: str, code: str) -> HTMLResponse:
    extra = (
        f'<h2 id="code">{escape(code)}</h2>'
        "<p>Paste it where <code>oz github connect</code> waits, or run"
        f" <code>oz github connect --code {escape(code)}</code>. It expires in ten"
        " minutes.</p>"
        "<p>If you did not run <code>oz github connect</code> yourself, close this page:"
        " nothing is connected until the code is entered.</p>"
    )
    return _page(
        200,
        "Finish connecting GitHub",
        f"GitHub approved the account {login}. To connect it to oz, enter this code in"
        " your terminal:",
        extra,
    )


@router.get(CALLBACK_PATH, include_in_schema=False)
def oauth_callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    server = server_state(request)
    oauth = server.settings.github_oauth
    if oauth is None:
        return _page(404, "GitHub sign-in is off", "This server has no GitHub OAuth app.")
    if error:
        return _page(400, "GitHub was not connected", error_description or error)
    if not code or not state:
        return _page(400, "GitHub was not connected", "The callback lacks a code or state.")
    try:
        user_uid, session_uid = read_state(server.secret, state)
    except StateError as exc:
        logger.warning("GitHub OAuth callback rejected: %s", exc)
        return _page(400, "GitHub was not connected", str(exc))
    if session_uid is not None:
        signed_in = find_signed_in(request, server)
        if signed_in is None or signed_in.session_uid != session_uid:
            logger.warning("GitHub OAuth callback for user %s came to another browser", user_uid)
            return _page(
                400,
                "GitHub was not connected",
                "This browser is not the one that started connecting GitHub: start again from"
                " Settings > GitHub while signed in.",
            )
    links = github_links(request)
    assert links.public_url is not None
    principal = Principal("user", user_uid, user_uid)
    try:
        token = exchange_code(links.github_url, oauth, code, links.public_url + CALLBACK_PATH)
        user = check_token(server.github.client, principal, token)
    except (GitHubError, OzError) as exc:
        logger.warning("GitHub OAuth callback for user %s failed: %s", user_uid, exc)
        return _page(502, "GitHub was not connected", str(exc))
    if session_uid is None:
        # Started from the terminal: nothing ties this browser to the user, so the user
        # must carry the code back to the terminal.
        with server.database.transaction() as session:
            code = create_pending(session, server.secret, user_uid, user, token, utcnow())
        logger.info(
            "GitHub account %s approved for user %s, waiting for its code", user.login, user_uid
        )
        return _code_page(user.login, code)
    with server.database.transaction() as session:
        store_account(session, server.secret, user_uid, user, token)
    return RedirectResponse("/settings/github?notice=connected", status_code=303)

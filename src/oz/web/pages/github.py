"""Settings > GitHub: connect the signed-in user's GitHub account, or disconnect it.

With an OAuth app, connecting goes through GitHub's OAuth flow, whose state is bound to
this browser session. A pasted token works on every server.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from oz.auth.sessions import SignedIn
from oz.clock import utcnow
from oz.db.models import GitHubAccount
from oz.errors import OzError, ResourceNotFound
from oz.github.accounts import account_view, check_token, disconnect, store_account
from oz.github.oauth import CALLBACK_PATH, authorize_url, issue_state
from oz.server.deps import State, github_links
from oz.server.state import ServerState
from oz.web.deps import SignedInForm, SignedInUser, csrf_token_of
from oz.web.rendering import render

router = APIRouter(prefix="/settings/github")
logger = logging.getLogger("oz.web")

PAGE = "/settings/github"
NOTICES = {
    "connected": "GitHub is connected. Runs you start act on GitHub as this account.",
    "disconnected": "GitHub is disconnected, and its token is deleted from this server.",
}


def _page(
    request: Request,
    state: ServerState,
    found: SignedIn,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with state.database.read() as session:
        account = account_view(session.get(GitHubAccount, found.user.uid))
    context: dict[str, Any] = {
        "user": found.user,
        "csrf_token": csrf_token_of(state, found),
        "account": account,
        "oauth": state.settings.github_oauth is not None,
        "github_url": state.settings.github_url,
        "notice": NOTICES.get(notice or ""),
        "errors": errors or {},
    }
    return render(request, "github.html", context, status_code)


@router.get("")
def github_page(
    request: Request, state: State, found: SignedInUser, notice: str | None = None
) -> Response:
    return _page(request, state, found, notice=notice)


# A link, not a form: the page's policy (`form-action 'self'`) would stop a form whose
# response redirects to GitHub. It changes nothing here, so it needs no CSRF token.
@router.get("/connect")
def connect(request: Request, state: State, found: SignedInUser) -> Response:
    oauth = state.settings.github_oauth
    if oauth is None:
        errors = {"form": "this server has no GitHub OAuth app: paste a token below"}
        return _page(request, state, found, errors=errors, status_code=400)
    links = github_links(request)
    assert links.public_url is not None
    oauth_state = issue_state(state.secret, found.user.uid, utcnow(), found.session_uid)
    url = authorize_url(links.github_url, oauth, links.public_url + CALLBACK_PATH, oauth_state)
    return RedirectResponse(url, status_code=303)


@router.post("/token")
def paste_token(
    request: Request, state: State, found: SignedInForm, token: Annotated[str, Form()] = ""
) -> Response:
    try:
        github_user = check_token(state.github.client, found.principal, token)
    except OzError as exc:
        errors = {"token": exc.detail or exc.title}
        return _page(request, state, found, errors=errors, status_code=400)
    with state.database.transaction() as session:
        store_account(session, state.secret, found.user.uid, github_user, token)
    logger.info("user %s connected GitHub account %s", found.user.uid, github_user.login)
    return RedirectResponse(f"{PAGE}?notice=connected", status_code=303)


@router.post("/disconnect")
def disconnect_account(request: Request, state: State, found: SignedInForm) -> Response:
    try:
        with state.database.transaction() as session:
            disconnect(session, found.principal)
    except ResourceNotFound:
        pass  # already disconnected, in another tab
    return RedirectResponse(f"{PAGE}?notice=disconnected", status_code=303)

"""Page dependencies: the signed-in user from the session cookie, CSRF checks, redirects."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Request, Response

from oz.auth import sessions
from oz.auth.sessions import SignedIn
from oz.identity.memberships import administered_teams
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web import csrf

SESSION_COOKIE = "oz_session"
# A random value that the sign-in form's CSRF token binds to, before any session exists.
SIGN_IN_COOKIE = "oz_sign_in"
HOME = "/settings/api-keys"


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler redirects to the sign-in page."""

    def __init__(self, next_path: str | None) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


def sign_in_url(next_path: str | None) -> str:
    if next_path is None or next_path == HOME:
        return "/sign-in"
    return "/sign-in?" + urlencode({"next": next_path})


def safe_next(path: str | None) -> str:
    """Return `path` if it is a path on this site, else the home page.

    An absolute URL, or `//host`, would send a user who just signed in to another site.
    """
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return HOME
    return path


def set_cookie(
    response: Response, request: Request, name: str, value: str, lifetime: timedelta | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(lifetime.total_seconds()) if lifetime is not None else None,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def find_signed_in(request: Request, state: State) -> SignedIn | None:
    with state.database.read() as session:
        found = sessions.resolve(session, state.secret, request.cookies.get(SESSION_COOKIE))
        if found is not None:
            # Read by the templates, which show the Admin Panel link to owners and admins.
            request.state.can_administer = bool(administered_teams(session, found.user.uid))
    if found is not None:
        request.state.principal = found.principal
    return found


def signed_in(request: Request, state: State) -> SignedIn:
    """Return the signed-in user, or redirect to the sign-in page and back."""
    found = find_signed_in(request, state)
    if found is None:
        path = request.url.path
        if request.url.query:
            path = f"{path}?{request.url.query}"
        raise SignInRequired(path if request.method == "GET" else None)
    return found


def signed_in_form(
    state: State,
    found: Annotated[SignedIn, Depends(signed_in)],
    csrf_token: Annotated[str, Form()] = "",
) -> SignedIn:
    """Return the signed-in user of a POST form whose CSRF token matches the session."""
    if not csrf.is_valid(state.secret, found.session_uid, csrf_token):
        raise csrf.CsrfRejected()
    return found


def csrf_token_of(state: ServerState, found: SignedIn) -> str:
    return csrf.token_for(state.secret, found.session_uid)


SignedInUser = Annotated[SignedIn, Depends(signed_in)]
SignedInForm = Annotated[SignedIn, Depends(signed_in_form)]

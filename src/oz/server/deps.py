"""Request dependencies: the server state and the authenticated principal.

Endpoints open their transactions themselves (`state.database.transaction()`), so a
write has committed, and revoked keys have left every cache, before the response is sent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request

from oz.github.identity import GitHubLinks
from oz.principal import Principal
from oz.server.state import ServerState


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.oz
    return state


def current_principal(request: Request) -> Principal:
    """Authenticate the `Authorization: Bearer` header, or raise 401."""
    principal = server_state(request).verifier.authenticate_header(
        request.headers.get("authorization")
    )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
State = Annotated[ServerState, Depends(server_state)]


def github_links(request: Request) -> GitHubLinks:
    """Connection links of this server; its address defaults to the request's."""
    links = server_state(request).github.links
    if links.public_url is None:
        links = replace(links, public_url=str(request.base_url).rstrip("/"))
    return links


Links = Annotated[GitHubLinks, Depends(github_links)]

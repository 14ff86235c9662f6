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


async def current_principal(request: Request) -> Principal:
    """Authenticate the `Authorization: Bearer` header, or raise 401.

    A key in the verifier's cache is accepted on the event loop; a lookup that needs the
    database runs in the thread pool.
    """
    principal = await server_state(request).verifier.authenticate(
        request.headers.get("authorization")
    )
    request.state.principal = principal
    return principal


# Dependencies that do no I/O are async: FastAPI runs a plain function dependency in its
# thread pool, a hand-off that costs more than the work.
async def _server_state(request: Request) -> ServerState:
    return server_state(request)


async def _github_links(request: Request) -> GitHubLinks:
    return github_links(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
State = Annotated[ServerState, Depends(_server_state)]


def public_url(request: Request) -> str:
    """Return the address people reach this server at: `OZ_PUBLIC_URL`, else the request's."""
    return (server_state(request).settings.public_url or str(request.base_url)).rstrip("/")


def github_links(request: Request) -> GitHubLinks:
    """Connection links of this server; its address defaults to the request's."""
    links = server_state(request).github.links
    if links.public_url is None:
        links = replace(links, public_url=public_url(request))
    return links


Links = Annotated[GitHubLinks, Depends(_github_links)]

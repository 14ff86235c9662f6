"""`/api-keys`: create, list and delete API keys (users only)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from oz.apikeys.service import SORT_KEYS, KeyView, create_key, delete_key, list_keys
from oz.clock import isoformat
from oz.server.deps import CurrentPrincipal, State

router = APIRouter(tags=["api keys"])


class CreateKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="1 to 100 characters after trimming; need not be unique")
    type: Literal["personal", "agent"] = "personal"
    agent_uid: str | None = Field(None, description="the cloud agent an agent key acts as")
    expires_in: str | None = Field(
        None, description="`never`, or a duration such as 1d, 30d, 90d, 12h or 90m"
    )
    expires_at: str | None = Field(None, description="an RFC 3339 time in the future")


def key_row(view: KeyView) -> dict[str, Any]:
    return {
        "uid": view.uid,
        "name": view.name,
        "type": view.type,
        "key_suffix": view.key_suffix,
        "scope": view.scope,
        "created_at": isoformat(view.created_at),
        "last_used_at": isoformat(view.last_used_at),
        "expires_at": isoformat(view.expires_at),
    }


@router.get("/api-keys", summary="List your personal keys and your teams' agent keys")
def list_api_keys(
    principal: CurrentPrincipal,
    state: State,
    sort_by: str = Query("created-at", description=" | ".join(SORT_KEYS)),
) -> dict[str, Any]:
    with state.database.read() as session:
        views = list_keys(session, principal, sort_by)
    return {"api_keys": [key_row(view) for view in views]}


@router.post(
    "/api-keys",
    status_code=201,
    summary="Create an API key; the raw key is in this response only",
)
def create_api_key(
    body: CreateKeyBody, principal: CurrentPrincipal, state: State, response: Response
) -> dict[str, Any]:
    with state.database.transaction() as session:
        view, raw = create_key(
            session,
            state.secret,
            principal,
            body.name,
            key_type=body.type,
            agent_uid=body.agent_uid,
            expires_in=body.expires_in,
            expires_at=body.expires_at,
        )
    response.headers["Cache-Control"] = "no-store"
    return {"raw_api_key": raw.value, "api_key": key_row(view)}


@router.delete("/api-keys/{uid}", summary="Delete (expire) an API key at once and for good")
def delete_api_key(uid: str, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.transaction() as session:
        delete_key(session, principal, uid)
    return {"key_uid": uid, "expired": True}

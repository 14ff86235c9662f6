"""Create, list and delete API keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from oz import keys
from oz.auth.revocations import announce_after_commit
from oz.clock import utcnow
from oz.db.models import ApiKey, CloudAgent, User
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.expiry import ExpiryError, resolve
from oz.identity.agents import get_agent
from oz.identity.teams import require_admin, role_in, team_uids_of
from oz.principal import Principal

NAME_MAX_LENGTH = 100
KeyType = Literal["personal", "agent"]
SORT_KEYS = ("name", "created-at", "last-used-at", "expires-at", "scope")


@dataclass(frozen=True)
class KeyView:
    """A key as listed: never the raw key nor its digest."""

    uid: str
    name: str
    type: KeyType
    key_suffix: str
    scope: dict[str, str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


def _require_human(principal: Principal) -> None:
    if not principal.is_human:
        raise NotAuthorized(
            "API keys are managed by users only: use a personal key or sign in, not an agent key"
        )


def clean_name(name: str) -> str:
    value = name.strip()
    if not 1 <= len(value) <= NAME_MAX_LENGTH:
        raise InvalidRequest(
            f"name must be 1 to {NAME_MAX_LENGTH} characters after trimming, got {len(value)}",
            field="name",
        )
    return value


def create_key(
    session: Session,
    secret: bytes,
    principal: Principal,
    name: str,
    *,
    key_type: KeyType = "personal",
    agent_uid: str | None = None,
    expires_in: str | None = None,
    expires_at: str | None = None,
) -> tuple[KeyView, keys.RawKey]:
    """Create a key and return it with the raw key, which is never retrievable again."""
    _require_human(principal)
    clean = clean_name(name)
    now = utcnow()
    try:
        expiry = resolve(expires_in, expires_at, now)
    except ExpiryError as exc:
        field = "expires_at" if expires_at is not None else "expires_in"
        raise InvalidRequest(str(exc), field=field) from exc

    if key_type == "agent":
        if not agent_uid:
            raise InvalidRequest(
                "agent_uid is required for an agent key: pick a cloud agent of your team",
                field="agent_uid",
            )
        agent_uid = get_agent(session, principal, agent_uid, "agent_uid").uid
    elif agent_uid is not None:
        raise InvalidRequest(
            "agent_uid applies to agent keys only: set type to agent", field="agent_uid"
        )

    raw = keys.generate()
    record = ApiKey(
        name=clean,
        kind=key_type,
        digest=keys.digest(raw, secret),
        suffix=raw.suffix,
        creator_uid=principal.uid,
        agent_uid=agent_uid,
        created_at=now,
        expires_at=expiry,
    )
    session.add(record)
    session.flush()
    return _view(session, record), raw


def _visible_keys(session: Session, principal: Principal) -> Select[ApiKey]:
    team_agents = select(CloudAgent.uid).where(
        CloudAgent.team_uid.in_(team_uids_of(session, principal))
    )
    return select(ApiKey).where(
        ApiKey.deleted_at.is_(None),
        or_(
            (ApiKey.kind == "personal") & (ApiKey.creator_uid == principal.uid),
            (ApiKey.kind == "agent") & ApiKey.agent_uid.in_(team_agents),
        ),
    )


def list_keys(session: Session, principal: Principal, sort_by: str = "created-at") -> list[KeyView]:
    """Return the user's personal keys and the agent keys of their teams."""
    _require_human(principal)
    if sort_by not in SORT_KEYS:
        raise InvalidRequest(
            f"sort_by must be one of {', '.join(SORT_KEYS)}, got {sort_by!r}", field="sort_by"
        )

    views = [_view(session, key) for key in session.scalars(_visible_keys(session, principal))]
    return sorted(views, key=_sort_key(sort_by))


def _sort_key(sort_by: str) -> Callable[[KeyView], Any]:
    far = datetime.max

    def when(value: datetime | None) -> tuple[int, datetime]:
        return (1, far) if value is None else (0, value.replace(tzinfo=None))

    return {
        "name": lambda view: (view.name.casefold(), view.uid),
        "created-at": lambda view: (view.created_at, view.uid),
        "last-used-at": lambda view: (when(view.last_used_at), view.uid),
        "expires-at": lambda view: (when(view.expires_at), view.uid),
        "scope": lambda view: (view.scope["type"], view.scope["name"].casefold(), view.uid),
    }[sort_by]


def delete_key(session: Session, principal: Principal, uid: str) -> None:
    """Delete a key at once and for good; caches drop it when the transaction commits.

    Users delete their own keys; the team's owner and admins also delete agent keys that
    other members created.
    """
    _require_human(principal)
    key = session.scalar(_visible_keys(session, principal).where(ApiKey.uid == uid))
    if key is None:
        raise ResourceNotFound(f"API key {uid!r} not found")
    if key.creator_uid != principal.uid:
        agent = session.get(CloudAgent, key.agent_uid)
        assert agent is not None
        require_admin(session, principal, agent.team_uid, "delete agent keys other members created")

    key.deleted_at = utcnow()
    announce_after_commit(session)


def deletable_key_uids(session: Session, principal: Principal) -> set[str]:
    """Return the uids of the visible keys that `principal` may delete (see `delete_key`)."""
    deletable = set()
    admin_of: dict[str, bool] = {}
    for key in session.scalars(_visible_keys(session, principal)):
        if key.creator_uid == principal.uid:
            deletable.add(key.uid)
            continue
        agent = session.get(CloudAgent, key.agent_uid) if key.agent_uid else None
        if agent is None:
            continue
        if agent.team_uid not in admin_of:
            role = role_in(session, agent.team_uid, principal.uid)
            admin_of[agent.team_uid] = role in ("owner", "admin")
        if admin_of[agent.team_uid]:
            deletable.add(key.uid)
    return deletable


def _view(session: Session, key: ApiKey) -> KeyView:
    if key.kind == "agent" and key.agent_uid is not None:
        agent = session.get(CloudAgent, key.agent_uid)
        scope = {
            "type": "agent",
            "uid": key.agent_uid,
            "name": agent.name if agent else key.agent_uid,
        }
    else:
        user = session.get(User, key.creator_uid)
        scope = {
            "type": "personal",
            "uid": key.creator_uid,
            "name": user.email if user else key.creator_uid,
        }
    return KeyView(
        uid=key.uid,
        name=key.name,
        type="agent" if key.kind == "agent" else "personal",
        key_suffix=key.suffix,
        scope=scope,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
    )

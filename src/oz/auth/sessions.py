"""Web sessions: a random token in the browser's cookie, its digest in the database.

A session turns into the same `Principal` as a personal key of its user, without a key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from oz.clock import utcnow
from oz.db.models import User, WebSession
from oz.principal import Principal

TOKEN_BYTES = 32


@dataclass(frozen=True)
class SignedIn:
    """A live session and the user it acts as."""

    session_uid: str
    user: User
    principal: Principal


def _digest(secret: bytes, token: str) -> str:
    return hmac.new(secret, b"oz web session\0" + token.encode(), hashlib.sha256).hexdigest()


def start(session: Session, secret: bytes, user_uid: str, lifetime: timedelta) -> str:
    """Create a session for the user and return its token, which is stored nowhere."""
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        WebSession(
            user_uid=user_uid,
            token_digest=_digest(secret, token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def resolve(session: Session, secret: bytes, token: str | None) -> SignedIn | None:
    """Return the live session of `token`, or None when it is unknown, expired or ended."""
    if not token:
        return None

    row = session.execute(
        select(WebSession, User)
        .join(User, User.uid == WebSession.user_uid)
        .where(WebSession.token_digest == _digest(secret, token))
    ).one_or_none()
    if row is None:
        return None

    record, user = row
    if record.expires_at <= utcnow() or user.deleted_at is not None:
        return None
    principal = Principal("user", user.uid, user.display_name, user.email)
    return SignedIn(record.uid, user, principal)


def end(session: Session, session_uid: str) -> None:
    session.execute(delete(WebSession).where(WebSession.uid == session_uid))


def end_others(session: Session, user_uid: str, keep_uid: str) -> None:
    """End every session of the user but `keep_uid`, as after a password change."""
    session.execute(
        delete(WebSession).where(WebSession.user_uid == user_uid, WebSession.uid != keep_uid)
    )


def issue_form_nonce(session: Session, session_uid: str) -> str:
    """Return a new one-time token for a form, replacing the session's previous one."""
    nonce = secrets.token_urlsafe(16)
    session.execute(
        update(WebSession).where(WebSession.uid == session_uid).values(form_nonce=nonce)
    )
    return nonce


def consume_form_nonce(session: Session, session_uid: str, nonce: str) -> bool:
    """Use up the session's form token; return False when `nonce` is not the current one.

    One conditional UPDATE, so two submissions of the same form cannot both succeed.
    """
    if not nonce:
        return False
    result = session.execute(
        update(WebSession)
        .where(WebSession.uid == session_uid, WebSession.form_nonce == nonce)
        .values(form_nonce=None)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]

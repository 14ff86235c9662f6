"""Credentials of `oz login`: a random `ozs_` token, its digest in the database.

A CLI session acts as its user, like a personal key, until it expires or is revoked
(`oz logout`, RFC 7009 `POST /oauth/revoke`). Each request looks it up in the database,
so a revoked session is refused by the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from oz.db.models import CliSession, User
from oz.principal import Principal

PREFIX = "ozs_"
TOKEN_BYTES = 32
LIFETIME = timedelta(days=90)


def is_session_token(token: str) -> bool:
    return token.startswith(PREFIX)


def _digest(secret: bytes, token: str) -> str:
    return hmac.new(secret, b"oz cli session\0" + token.encode(), hashlib.sha256).hexdigest()


def create(
    session: Session, secret: bytes, user_uid: str, client_name: str, now: datetime
) -> tuple[CliSession, str]:
    """Create a CLI session for the user; return it and its token, which is stored nowhere."""
    token = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    record = CliSession(
        user_uid=user_uid,
        token_digest=_digest(secret, token),
        client_name=client_name,
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(record)
    session.flush()
    return record, token


def resolve(session: Session, secret: bytes, token: str, now: datetime) -> Principal | None:
    """Return the user a live CLI session acts as, or None."""
    row = session.execute(
        select(CliSession, User)
        .join(User, User.uid == CliSession.user_uid)
        .where(CliSession.token_digest == _digest(secret, token))
    ).one_or_none()
    if row is None:
        return None
    record, user = row
    if record.revoked_at is not None or record.expires_at <= now or user.deleted_at is not None:
        return None
    return Principal("user", user.uid, user.display_name, user.email)


def revoke(session: Session, secret: bytes, token: str, now: datetime) -> bool:
    """Revoke the session of `token`; return False when there was none to revoke."""
    result = session.execute(
        update(CliSession)
        .where(CliSession.token_digest == _digest(secret, token), CliSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]

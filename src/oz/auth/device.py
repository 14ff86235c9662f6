"""The OAuth 2.0 device authorization grant (RFC 8628) behind `oz login`.

1. The CLI requests a device code and a short user code (`POST /oauth/device/code`).
2. It shows the user code and `/device`; the signed-in user enters it there and approves.
3. The CLI polls `POST /oauth/token` every `interval` seconds and, once approved,
   receives a CLI session token; a second poll with the same code gets `invalid_grant`.

Polling errors are those of RFC 8628 section 3.5: `authorization_pending`, `slow_down`
(the interval grows by 5 s), `access_denied`, `expired_token`, and `invalid_grant` for
an unknown or used device code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from oz.auth import cli_sessions
from oz.db.models import DeviceAuthorization

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_ID = "oz-cli"
LIFETIME = timedelta(minutes=10)
INTERVAL_SECONDS = 5
SLOW_DOWN_SECONDS = 5
# Letters without vowels or look-alikes, as RFC 8628 section 6.1 suggests: 20^8 codes.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
CLIENT_NAME_MAX_LENGTH = 100


class DeviceGrantError(Exception):
    """A token request that cannot be granted, with its RFC 8628 error code."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _digest(secret: bytes, device_code: str) -> str:
    return hmac.new(secret, b"oz device code\0" + device_code.encode(), hashlib.sha256).hexdigest()


def _user_code() -> str:
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def normalize_user_code(text: str) -> str:
    """Accept a user code typed with any case, spaces or dashes."""
    letters = "".join(char for char in text.upper() if char.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


def start(
    session: Session, secret: bytes, client_name: str, now: datetime
) -> tuple[DeviceAuthorization, str]:
    """Create a pending authorization; return it and its device code, stored nowhere."""
    session.execute(delete(DeviceAuthorization).where(DeviceAuthorization.expires_at <= now))
    device_code = secrets.token_urlsafe(32)
    authorization = DeviceAuthorization(
        device_code_digest=_digest(secret, device_code),
        user_code=_user_code(),
        client_name=(client_name.strip() or "oz CLI")[:CLIENT_NAME_MAX_LENGTH],
        interval_seconds=INTERVAL_SECONDS,
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(authorization)
    session.flush()
    return authorization, device_code


def find_pending(session: Session, user_code: str, now: datetime) -> DeviceAuthorization | None:
    """Return the pending, unexpired authorization of a user code."""
    authorization = session.scalar(
        select(DeviceAuthorization).where(
            DeviceAuthorization.user_code == normalize_user_code(user_code)
        )
    )
    if authorization is None or authorization.status != "pending":
        return None
    if authorization.expires_at <= now:
        return None
    return authorization


def decide(session: Session, user_code: str, user_uid: str, approve: bool, now: datetime) -> bool:
    """Approve or deny a pending authorization; False when the code is not pending."""
    result = session.execute(
        update(DeviceAuthorization)
        .where(
            DeviceAuthorization.user_code == normalize_user_code(user_code),
            DeviceAuthorization.status == "pending",
            DeviceAuthorization.expires_at > now,
        )
        .values(status="approved" if approve else "denied", user_uid=user_uid)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def poll(
    session: Session, secret: bytes, device_code: str, now: datetime
) -> str | DeviceGrantError:
    """Return a CLI session token for an approved authorization, or the error to send.

    The error is returned, not raised, so that the poll's time and a slowed interval are
    committed with it.
    """
    authorization = session.scalar(
        select(DeviceAuthorization)
        .where(DeviceAuthorization.device_code_digest == _digest(secret, device_code))
        .with_for_update()
    )
    if authorization is None or authorization.status == "used":
        return DeviceGrantError("invalid_grant", "the device code is unknown or was used")
    if authorization.expires_at <= now:
        return DeviceGrantError("expired_token", "the device code expired: run `oz login` again")
    if authorization.status == "denied":
        return DeviceGrantError("access_denied", "the sign-in was denied in the browser")

    last, authorization.last_polled_at = authorization.last_polled_at, now
    if authorization.status == "pending":
        if last is not None and now - last < timedelta(seconds=authorization.interval_seconds):
            authorization.interval_seconds += SLOW_DOWN_SECONDS
            return DeviceGrantError("slow_down", "polling too fast: wait longer between polls")
        return DeviceGrantError("authorization_pending", "waiting for approval in the browser")

    assert authorization.user_uid is not None
    authorization.status = "used"
    _, token = cli_sessions.create(
        session, secret, authorization.user_uid, authorization.client_name, now
    )
    return token

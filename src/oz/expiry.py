"""Key expirations: the UI's choices, durations such as `12h`, and RFC 3339 times."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from oz.clock import ensure_utc

UI_CHOICES = {"1d": timedelta(days=1), "30d": timedelta(days=30), "90d": timedelta(days=90)}
MAX_DURATION = timedelta(days=3650)
NO_EXPIRATION_HINT = "for no expiration use never (--no-expiration in the oz CLI)"
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class ExpiryError(ValueError):
    """An expiration is not a valid duration or a future RFC 3339 time."""


def parse_duration(text: str) -> timedelta:
    """Parse `90m`, `12h`, `30d` or `2w` into a positive timedelta."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise ExpiryError(
            f"{text!r} is not a duration: use a whole number and a unit s, m, h, d or w,"
            " such as 90m, 12h or 30d"
        )
    amount = int(match.group(1))
    too_long = f"{text!r} is longer than 10 years (3650d): {NO_EXPIRATION_HINT}"
    try:
        duration = timedelta(**{_UNITS[match.group(2)]: amount})
    except OverflowError:
        raise ExpiryError(too_long) from None
    if duration <= timedelta(0):
        raise ExpiryError(f"{text!r} must be longer than zero")
    if duration > MAX_DURATION:
        raise ExpiryError(too_long)
    return duration


def parse_time(text: str, now: datetime) -> datetime:
    """Parse an RFC 3339 time with an explicit offset that lies after `now`."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ExpiryError(
            f"{text!r} is not an RFC 3339 time such as 2030-01-31T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise ExpiryError(f"{text!r} has no UTC offset: add Z or +HH:MM")
    moment = ensure_utc(moment)
    if moment <= now:
        raise ExpiryError(f"{text!r} is in the past: an expiration must be in the future")
    if moment - now > MAX_DURATION:
        raise ExpiryError(f"{text!r} is more than 10 years ahead: {NO_EXPIRATION_HINT}")
    return moment


def resolve(expires_in: str | None, expires_at: str | None, now: datetime) -> datetime | None:
    """Return the expiry time from exactly one of `expires_in` and `expires_at`.

    `expires_in` is `never` or a duration; `expires_at` is an RFC 3339 time.
    """
    if (expires_in is None) == (expires_at is None):
        raise ExpiryError(
            "give exactly one of expires_in (a duration such as 30d, or never)"
            " and expires_at (an RFC 3339 time)"
        )
    if expires_at is not None:
        return parse_time(expires_at, now)

    assert expires_in is not None
    if expires_in.strip().lower() == "never":
        return None
    return now + parse_duration(expires_in)

"""The one source of the current time, so tests can control it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return _source()


def set_source(source: Callable[[], datetime] | None) -> None:
    """Replace the time source (tests use a controllable one); None restores the system's."""
    global _source
    _source = source or _system_now


def ensure_utc(value: datetime) -> datetime:
    """Return `value` in UTC, treating a naive datetime as UTC.

    SQLite drops the timezone of stored datetimes, so values read back from it are naive.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def isoformat(value: datetime | None) -> str | None:
    """Render `value` as RFC 3339 with a `Z` suffix, or None."""
    if value is None:
        return None
    return ensure_utc(value).isoformat().replace("+00:00", "Z")

"""Key expirations: choices, durations and RFC 3339 times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oz.expiry import ExpiryError, parse_duration, resolve

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1d", timedelta(days=1)),
        ("30d", timedelta(days=30)),
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        (" 30D ", timedelta(days=30)),
    ],
)
def test_parse_duration_accepts_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "5x", "-1d", "1.5h", "0d", "1 d"])
def test_parse_duration_rejects_bad_values(text: str) -> None:
    with pytest.raises(ExpiryError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["3651d", "99999w", "99999999d", "9" * 30 + "s"])
def test_parse_duration_names_the_maximum(text: str) -> None:
    with pytest.raises(ExpiryError, match=r"longer than 10 years \(3650d\)"):
        parse_duration(text)


def test_resolve_never_is_none() -> None:
    assert resolve("never", None, NOW) is None


def test_resolve_duration_adds_to_now() -> None:
    assert resolve("30d", None, NOW) == NOW + timedelta(days=30)


def test_resolve_time_converts_to_utc() -> None:
    assert resolve(None, "2030-02-01T14:00:00+02:00", NOW) == datetime(
        2030, 2, 1, 12, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2030-01-15T12:00:00Z", "in the past"),
        ("2020-01-01T00:00:00Z", "in the past"),
        ("2031-01-01T00:00:00", "no UTC offset"),
        ("next tuesday", "not an RFC 3339 time"),
        ("2099-01-01T00:00:00Z", "more than 10 years ahead"),
    ],
)
def test_resolve_rejects_bad_times(text: str, message: str) -> None:
    with pytest.raises(ExpiryError, match=message):
        resolve(None, text, NOW)


@pytest.mark.parametrize(
    ("expires_in", "expires_at"), [(None, None), ("1d", "2031-01-01T00:00:00Z")]
)
def test_resolve_needs_exactly_one_choice(expires_in: str | None, expires_at: str | None) -> None:
    with pytest.raises(ExpiryError, match="exactly one"):
        resolve(expires_in, expires_at, NOW)

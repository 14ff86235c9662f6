"""Email addresses of users and invitations: normalized, and rejected when malformed."""

from __future__ import annotations

import pytest

from oz.errors import InvalidRequest
from oz.identity.teams import create_user, normalize_email
from tests.support.world import World


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (" Ada@Example.COM ", "ada@example.com"),
        ("owner@localhost", "owner@localhost"),
        (f"{'a' * 64}@example.com", f"{'a' * 64}@example.com"),
    ],
)
def test_email_normalized(given: str, stored: str) -> None:
    assert normalize_email(given) == stored


@pytest.mark.parametrize(
    ("given", "rule"),
    [
        ("", "one @"),
        ("ada", "one @"),
        ("@example.com", "one @"),
        ("ada@", "one @"),
        ("x@@example.com", "one @"),
        ("ada@exa mple.com", "a space"),
        ("ada@example..com", "a dot must stand between"),
        ("ada@.example.com", "a dot must stand between"),
        ("ada@example.com.", "a dot must stand between"),
        (".ada@example.com", "a dot must stand between"),
        ("ada.@example.com", "a dot must stand between"),
        ("a..da@example.com", "a dot must stand between"),
        ("ada@-example.com", "hyphen"),
        ("ada@example-.com", "hyphen"),
        (f"{'a' * 65}@example.com", "longer than 64 characters"),
        (f"ada@{'b' * 250}.com", "longer than 254 characters"),
    ],
)
def test_malformed_email_names_rule(given: str, rule: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        normalize_email(given)

    assert raised.value.extras["field"] == "email"
    assert rule in str(raised.value.detail)
    assert "such as ada@example.com" in str(raised.value.detail)


def test_existing_user_names_invitation(world: World) -> None:
    with world.database.transaction() as session, pytest.raises(InvalidRequest) as raised:
        create_user(session, "owner@example.com")

    assert "oz team invitation create owner@example.com" in str(raised.value.detail)

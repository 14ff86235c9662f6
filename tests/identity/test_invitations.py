"""Invitations: one-time, expiring links that add a person to a team with a role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from oz.auth.passwords import verify
from oz.db.models import Invitation, UserPassword
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.identity import invitations
from oz.identity.teams import create_user, find_user_by_email, role_in
from oz.principal import Principal
from tests.conftest import Clock
from tests.support.world import World

PASSWORD = "a long enough password"


def invite(world: World, email: str = "new@example.com", role: str = "member") -> str:
    with world.database.transaction() as session:
        _, token = invitations.create_invitation(
            session, world.secret, world.owner, world.team_uid, email, role
        )
    return token


def accept_new(world: World, token: str, name: str = "New Person") -> str:
    with world.database.transaction() as session:
        _, user = invitations.accept_as_new_user(session, world.secret, token, name, PASSWORD)
        return user.uid


def test_only_the_digest_is_stored(world: World) -> None:
    token = invite(world)

    with world.database.read() as session:
        stored = session.scalars(select(Invitation)).one()

    assert len(token) >= 43
    assert token not in stored.token_digest
    assert stored.email == "new@example.com"
    assert (stored.expires_at - stored.created_at).days == 7


def test_new_user_accepts_with_password_and_role(world: World) -> None:
    token = invite(world, "New@Example.com", role="admin")

    user_uid = accept_new(world, token)

    with world.database.read() as session:
        assert role_in(session, world.team_uid, user_uid) == "admin"
        stored = session.get(UserPassword, user_uid)
        assert stored is not None
        assert stored.hash.startswith("$argon2id$")
        assert verify(stored.hash, PASSWORD)


def test_existing_user_joins_directly(world: World) -> None:
    _, other_team = world.add_team("alice@example.com")
    token = invite(world, "alice@example.com")

    with world.database.transaction() as session:
        alice = find_user_by_email(session, "alice@example.com")
        assert alice is not None
        joined = invitations.accept_invitation(session, world.secret, token, alice)
        alice_uid = alice.uid

    assert joined.team_uid == world.team_uid
    with world.database.read() as session:
        assert role_in(session, world.team_uid, alice_uid) == "member"
        assert role_in(session, other_team, alice_uid) == "owner"


def test_existing_user_with_another_email_is_rejected(world: World) -> None:
    token = invite(world, "alice@example.com")

    with world.database.transaction() as session, pytest.raises(InvalidRequest, match="is for"):
        mallory = create_user(session, "mallory@example.com")
        invitations.accept_invitation(session, world.secret, token, mallory)


def test_invitation_is_used_once(world: World) -> None:
    token = invite(world)
    accept_new(world, token)

    with pytest.raises(InvalidRequest, match="already used"):
        accept_new(world, token)


def test_expired_invitation_is_rejected(world: World, frozen_clock: Clock) -> None:
    token = invite(world)
    frozen_clock.advance(days=7, seconds=1)

    with pytest.raises(InvalidRequest, match="expired"):
        accept_new(world, token)


def test_invitation_is_valid_just_before_expiry(world: World, frozen_clock: Clock) -> None:
    token = invite(world)
    frozen_clock.advance(days=6, hours=23)

    assert accept_new(world, token)


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 43])
def test_unknown_token_is_not_found(world: World, token: str) -> None:
    with world.database.read() as session, pytest.raises(ResourceNotFound, match="not valid"):
        invitations.open_invitation(session, world.secret, token)


def test_new_invitation_replaces_pending_one(world: World) -> None:
    first = invite(world)
    second = invite(world, role="admin")

    with world.database.read() as session:
        with pytest.raises(ResourceNotFound):
            invitations.open_invitation(session, world.secret, first)
        assert invitations.open_invitation(session, world.secret, second).role == "admin"


def test_existing_email_must_sign_in(world: World) -> None:
    token = invite(world, "alice@example.com")
    with world.database.transaction() as session:
        create_user(session, "alice@example.com")

    with pytest.raises(InvalidRequest, match="sign in to accept"):
        accept_new(world, token)


def test_short_password_rejects_and_keeps_invitation(world: World) -> None:
    token = invite(world)

    with pytest.raises(InvalidRequest, match="12"), world.database.transaction() as session:
        invitations.accept_as_new_user(session, world.secret, token, "New", "short")

    assert accept_new(world, token)


def test_member_cannot_invite(world: World) -> None:
    member = world.add_user("member@example.com")

    with world.database.transaction() as session, pytest.raises(NotAuthorized):
        invitations.create_invitation(
            session, world.secret, member, world.team_uid, "x@example.com", "member"
        )


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("not an email", "member", "not an email address"),
        ("x@example.com", "owner", "not valid"),
        ("owner@example.com", "member", "already a member"),
    ],
)
def test_invite_rejects_bad_input(world: World, email: str, role: str, message: str) -> None:
    with world.database.transaction() as session, pytest.raises(InvalidRequest, match=message):
        invitations.create_invitation(
            session, world.secret, world.owner, world.team_uid, email, role
        )


def test_revoked_invitation_cannot_be_used(world: World) -> None:
    token = invite(world)
    with world.database.read() as session:
        pending = invitations.pending_invitations(session, world.owner, world.team_uid)

    with world.database.transaction() as session:
        invitations.revoke_invitation(session, world.owner, world.team_uid, pending[0].uid)

    assert [p.email for p in pending] == ["new@example.com"]
    with pytest.raises(ResourceNotFound):
        accept_new(world, token)


def test_agent_principal_cannot_invite(world: World) -> None:
    agent = Principal("service_account", world.default_agent_uid, "bot", team_uid=world.team_uid)

    with world.database.transaction() as session, pytest.raises(NotAuthorized):
        invitations.create_invitation(
            session, world.secret, agent, world.team_uid, "x@example.com", "member"
        )

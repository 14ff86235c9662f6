"""Members and roles: role changes, removal, and ownership transfer by the owner only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from oz.db.models import Membership
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.identity import memberships
from oz.identity.teams import require_team, role_in
from oz.principal import Principal
from tests.support.world import World


def roles(world: World) -> dict[str, str]:
    with world.database.read() as session:
        rows = session.execute(
            select(Membership.user_uid, Membership.role).where(
                Membership.team_uid == world.team_uid
            )
        )
        return {str(user_uid): str(role) for user_uid, role in rows}


def owners(world: World) -> list[str]:
    return [uid for uid, role in roles(world).items() if role == "owner"]


def test_list_members_owner_first(world: World) -> None:
    member = world.add_user("member@example.com")
    admin = world.add_user("admin@example.com", role="admin")

    with world.database.read() as session:
        listed = memberships.list_members(session, world.owner, world.team_uid)

    assert [m.user_uid for m in listed] == [world.owner.uid, admin.uid, member.uid]
    assert [m.role for m in listed] == ["owner", "admin", "member"]
    assert listed[0].email == "owner@example.com"


def test_member_cannot_list_members(world: World) -> None:
    member = world.add_user("member@example.com")

    with world.database.read() as session, pytest.raises(NotAuthorized, match="owner or admins"):
        memberships.list_members(session, member, world.team_uid)


def test_admin_changes_role_both_ways(world: World) -> None:
    admin = world.add_user("admin@example.com", role="admin")
    member = world.add_user("member@example.com")

    with world.database.transaction() as session:
        memberships.change_role(session, admin, world.team_uid, member.uid, "admin")
    promoted = roles(world)[member.uid]
    with world.database.transaction() as session:
        memberships.change_role(session, admin, world.team_uid, member.uid, "member")

    assert promoted == "admin"
    assert roles(world)[member.uid] == "member"


@pytest.mark.parametrize("role", ["owner", "superuser", ""])
def test_change_role_rejects_other_roles(world: World, role: str) -> None:
    member = world.add_user("member@example.com")

    with world.database.transaction() as session, pytest.raises(InvalidRequest, match="not valid"):
        memberships.change_role(session, world.owner, world.team_uid, member.uid, role)


def test_owner_cannot_be_demoted(world: World) -> None:
    admin = world.add_user("admin@example.com", role="admin")

    with (
        world.database.transaction() as session,
        pytest.raises(InvalidRequest, match="keeps the owner role"),
    ):
        memberships.change_role(session, admin, world.team_uid, world.owner.uid, "member")

    assert owners(world) == [world.owner.uid]


def test_member_cannot_change_roles(world: World) -> None:
    member = world.add_user("member@example.com")
    other = world.add_user("other@example.com")

    with world.database.transaction() as session, pytest.raises(NotAuthorized):
        memberships.change_role(session, member, world.team_uid, other.uid, "admin")


def test_remove_member_ends_access_to_that_team_only(world: World) -> None:
    member = world.add_user("member@example.com")
    _, other_team = world.add_team("boss@example.com")
    with world.database.transaction() as session:
        session.add(Membership(team_uid=other_team, user_uid=member.uid, role="member"))

    with world.database.transaction() as session:
        memberships.remove_member(session, world.owner, world.team_uid, member.uid)

    assert member.uid not in roles(world)
    with world.database.read() as session:
        assert require_team(session, member, other_team) == other_team
        with pytest.raises(ResourceNotFound, match="not found"):
            require_team(session, member, world.team_uid)


def test_removed_members_agent_keys_keep_working(world: World) -> None:
    member = world.add_user("member@example.com")
    world.make_key(member, agent_uid=world.default_agent_uid)

    with world.database.transaction() as session:
        before = memberships.agent_keys_created_by(session, world.team_uid, member.uid)
        memberships.remove_member(session, world.owner, world.team_uid, member.uid)
        after = memberships.agent_keys_created_by(session, world.team_uid, member.uid)

    assert before == 1
    assert after == 1


def test_owner_cannot_be_removed(world: World) -> None:
    admin = world.add_user("admin@example.com", role="admin")

    with (
        world.database.transaction() as session,
        pytest.raises(InvalidRequest, match="transfer ownership first"),
    ):
        memberships.remove_member(session, admin, world.team_uid, world.owner.uid)

    assert owners(world) == [world.owner.uid]


def test_remove_unknown_member_is_not_found(world: World) -> None:
    with world.database.transaction() as session, pytest.raises(ResourceNotFound):
        memberships.remove_member(session, world.owner, world.team_uid, "nobody")


def test_owner_transfers_and_becomes_admin(world: World) -> None:
    member = world.add_user("member@example.com")

    with world.database.transaction() as session:
        memberships.transfer_ownership(session, world.owner, world.team_uid, member.uid)

    assert owners(world) == [member.uid]
    assert roles(world)[world.owner.uid] == "admin"


def test_new_owner_can_transfer_back(world: World) -> None:
    member = world.add_user("member@example.com")
    with world.database.transaction() as session:
        memberships.transfer_ownership(session, world.owner, world.team_uid, member.uid)

    with world.database.transaction() as session:
        memberships.transfer_ownership(session, member, world.team_uid, world.owner.uid)

    assert owners(world) == [world.owner.uid]
    assert roles(world)[member.uid] == "admin"


def test_admin_cannot_transfer_ownership(world: World) -> None:
    admin = world.add_user("admin@example.com", role="admin")

    with (
        world.database.transaction() as session,
        pytest.raises(NotAuthorized, match="only the team's owner may transfer"),
    ):
        memberships.transfer_ownership(session, admin, world.team_uid, admin.uid)

    assert owners(world) == [world.owner.uid]


def test_agent_cannot_transfer_ownership(world: World) -> None:
    agent = Principal("service_account", world.default_agent_uid, "bot", team_uid=world.team_uid)

    with world.database.transaction() as session, pytest.raises(NotAuthorized):
        memberships.transfer_ownership(session, agent, world.team_uid, world.owner.uid)


def test_transfer_to_self_or_outsider_is_rejected(world: World) -> None:
    outsider, _ = world.add_team("outsider@example.com")

    with world.database.transaction() as session, pytest.raises(InvalidRequest, match="already"):
        memberships.transfer_ownership(session, world.owner, world.team_uid, world.owner.uid)
    with world.database.transaction() as session, pytest.raises(ResourceNotFound):
        memberships.transfer_ownership(session, world.owner, world.team_uid, outsider.uid)

    assert owners(world) == [world.owner.uid]
    with world.database.read() as session:
        assert role_in(session, world.team_uid, outsider.uid) is None

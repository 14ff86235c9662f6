"""Key management: which keys a user lists and deletes, and what a listing contains."""

from __future__ import annotations

import pytest

from oz import keys
from oz.apikeys.service import delete_key, list_keys
from oz.errors import NotAuthorized, ResourceNotFound
from tests.support.world import World


def test_listing_has_personal_and_team_agent_keys(world: World) -> None:
    member = world.add_user("member@example.com")
    world.make_key(name="owner personal")
    world.make_key(member, name="member personal")
    world.make_key(member, agent_uid=world.default_agent_uid, name="member agent")

    with world.database.read() as session:
        owner_view = sorted(view.name for view in list_keys(session, world.owner))
        member_view = sorted(view.name for view in list_keys(session, member))

    assert owner_view == ["member agent", "owner personal"]
    assert member_view == ["member agent", "member personal"]


def test_listing_never_holds_raw_key_or_digest(world: World) -> None:
    _, raw = world.make_key()
    digest = keys.digest(keys.parse(raw), world.secret)

    with world.database.read() as session:
        text = repr(list_keys(session, world.owner))

    assert raw not in text
    assert digest not in text
    assert raw[-4:] in text


def test_members_cannot_delete_each_others_agent_keys(world: World) -> None:
    alice = world.add_user("alice@example.com")
    bob = world.add_user("bob@example.com")
    view, _ = world.make_key(alice, agent_uid=world.default_agent_uid)

    with pytest.raises(NotAuthorized), world.database.transaction() as session:
        delete_key(session, bob, view.uid)


def test_admins_delete_agent_keys_of_members(world: World) -> None:
    alice = world.add_user("alice@example.com")
    admin = world.add_user("admin@example.com", role="admin")
    view, _ = world.make_key(alice, agent_uid=world.default_agent_uid)

    with world.database.transaction() as session:
        delete_key(session, admin, view.uid)

    with world.database.read() as session:
        assert view.uid not in {key.uid for key in list_keys(session, admin)}


def test_nobody_deletes_another_users_personal_key(world: World) -> None:
    admin = world.add_user("admin@example.com", role="admin")
    view, _ = world.make_key()

    with pytest.raises(ResourceNotFound), world.database.transaction() as session:
        delete_key(session, admin, view.uid)

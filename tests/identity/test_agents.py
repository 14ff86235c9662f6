"""Cloud agents: the default agent, human-only management, cascading deletes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from oz.db.models import ApiKey, CloudAgent, Membership
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.identity import agents
from oz.identity.teams import DEFAULT_AGENT_NAME, create_user
from oz.principal import Principal
from tests.support.world import World


def agent_principal(world: World, agent_uid: str) -> Principal:
    return Principal("service_account", agent_uid, "bot", team_uid=world.team_uid, key_uid="k")


def test_team_starts_with_default_agent(world: World) -> None:
    with world.database.read() as session:
        listed = agents.list_agents(session, world.owner)

    assert [agent.name for agent in listed] == [DEFAULT_AGENT_NAME]
    assert listed[0].is_default


def test_team_has_exactly_one_owner(world: World) -> None:
    with world.database.read() as session:
        owners = session.scalars(
            select(Membership.user_uid).where(
                Membership.team_uid == world.team_uid, Membership.role == "owner"
            )
        ).all()

    assert owners == [world.owner.uid]


def test_second_owner_is_rejected_by_the_database(world: World) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), world.database.transaction() as session:
        user = create_user(session, "usurper@example.com")
        session.add(Membership(team_uid=world.team_uid, user_uid=user.uid, role="owner"))
        session.flush()


def test_default_agent_cannot_be_deleted(world: World) -> None:
    with (
        pytest.raises(InvalidRequest, match="default cloud agent"),
        world.database.transaction() as session,
    ):
        agents.delete_agent(session, world.owner, world.default_agent_uid)


def test_delete_agent_deletes_its_keys_in_one_transaction(world: World) -> None:
    agent_uid = world.add_agent("Doomed")
    world.make_key(agent_uid=agent_uid, name="one")
    world.make_key(agent_uid=agent_uid, name="two")
    world.make_key(agent_uid=world.default_agent_uid, name="other")

    with world.database.transaction() as session:
        agents.delete_agent(session, world.owner, agent_uid)

    with world.database.read() as session:
        live = session.scalars(select(ApiKey.name).where(ApiKey.deleted_at.is_(None))).all()
        agent = session.get(CloudAgent, agent_uid)
    assert sorted(live) == ["other"]
    assert agent is not None
    assert agent.deleted_at is not None


def test_failed_agent_delete_keeps_keys(world: World) -> None:
    agent_uid = world.add_agent("Kept")
    world.make_key(agent_uid=agent_uid)

    with pytest.raises(RuntimeError), world.database.transaction() as session:
        agents.delete_agent(session, world.owner, agent_uid)
        raise RuntimeError("crash before commit")

    with world.database.read() as session:
        assert (
            session.scalar(select(ApiKey.deleted_at).where(ApiKey.agent_uid == agent_uid)) is None
        )


@pytest.mark.parametrize("action", ["create", "update", "delete"])
def test_agent_principals_cannot_manage_agents(world: World, action: str) -> None:
    caller = agent_principal(world, world.default_agent_uid)
    other = world.add_agent("Other")

    with pytest.raises(NotAuthorized), world.database.transaction() as session:
        if action == "create":
            agents.create_agent(session, caller, "New")
        elif action == "update":
            agents.update_agent(session, caller, other, name="Renamed")
        else:
            agents.delete_agent(session, caller, other)


def test_other_teams_agents_are_not_found(world: World) -> None:
    stranger, _ = world.add_team("stranger@example.com")

    with pytest.raises(ResourceNotFound), world.database.read() as session:
        agents.get_agent(session, stranger, world.default_agent_uid)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_agent_name_must_be_1_to_100_characters(world: World, name: str) -> None:
    with pytest.raises(InvalidRequest, match="name"), world.database.transaction() as session:
        agents.create_agent(session, world.owner, name)


def test_members_cannot_delete_agents(world: World) -> None:
    member = world.add_user("member@example.com", role="member")
    agent_uid = world.add_agent("Shared", creator=member)

    with (
        pytest.raises(NotAuthorized, match="owner or admins"),
        world.database.transaction() as session,
    ):
        agents.delete_agent(session, member, agent_uid)


def test_admins_can_delete_agents(world: World) -> None:
    admin = world.add_user("admin@example.com", role="admin")
    agent_uid = world.add_agent("Retired")

    with world.database.transaction() as session:
        agents.delete_agent(session, admin, agent_uid)

    with world.database.read() as session:
        assert agents.list_agents(session, admin)[-1].uid != agent_uid

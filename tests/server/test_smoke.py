"""The API responds on both backends."""

from __future__ import annotations

from oz.db.models import User
from oz.identity.memberships import remove_member
from oz.identity.teams import add_member
from tests.server.conftest import Api


def test_me_returns_owner(api: Api) -> None:
    response = api.client.get("/api/v1/me", headers=api.headers())

    assert response.status_code == 200
    assert response.json()["email"] == "owner@example.com"


def test_me_teams_follow_membership_changes(api: Api) -> None:
    member = api.world.add_user("dev@example.com")
    _, member_key = api.world.make_key(member)
    assert api.client.get("/api/v1/me", headers=api.headers(member_key)).json()["team_names"] == [
        "Acme"
    ]

    _, other_team = api.world.add_team("lead@example.com")
    with api.world.database.transaction() as session:
        user = session.get(User, member.uid)
        assert user is not None
        add_member(session, other_team, user, "member")
    joined = api.client.get("/api/v1/me", headers=api.headers(member_key)).json()
    assert joined["team_uids"] == [api.world.team_uid, other_team]

    with api.world.database.transaction() as session:
        remove_member(session, api.world.owner, api.world.team_uid, member.uid)
    left = api.client.get("/api/v1/me", headers=api.headers(member_key)).json()
    assert left["team_uids"] == [other_team]


def test_me_of_an_agent_key_names_its_team(api: Api) -> None:
    _, agent_key = api.world.make_key(agent_uid=api.world.default_agent_uid)

    body = api.client.get("/api/v1/me", headers=api.headers(agent_key)).json()

    assert body["type"] == "service_account"
    assert (body["team_uids"], body["team_names"]) == ([api.world.team_uid], ["Acme"])

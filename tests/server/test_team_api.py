"""`/api/v1/team/...`: members, roles, ownership and invitations over the REST API."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from oz.principal import Principal
from tests.server.conftest import Api

MEMBERS = "/api/v1/team/members"
INVITATIONS = "/api/v1/team/invitations"


def member_with_key(api: Api, email: str, role: str = "member") -> tuple[Principal, str]:
    user = api.world.add_user(email, role)
    _, key = api.world.make_key(user)
    return user, key


def roles(api: Api) -> dict[str, str]:
    response = api.client.get(MEMBERS, headers=api.headers())
    assert response.status_code == 200, response.text
    return {member["email"]: member["role"] for member in response.json()["members"]}


def test_members_list_owner_first(api: Api) -> None:
    member_with_key(api, "ada@example.com")
    member_with_key(api, "bob@example.com", "admin")

    response = api.client.get(MEMBERS, headers=api.headers())

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["team_uid"] == api.world.team_uid
    listed = [(member["email"], member["role"]) for member in document["members"]]
    assert listed == [
        ("owner@example.com", "owner"),
        ("bob@example.com", "admin"),
        ("ada@example.com", "member"),
    ]
    assert set(document["members"][0]) == {
        "user_uid",
        "email",
        "display_name",
        "role",
        "joined_at",
    }
    assert document["members"][0]["joined_at"].endswith("Z")


def test_member_cannot_list_members(api: Api) -> None:
    _, key = member_with_key(api, "ada@example.com")

    response = api.client.get(MEMBERS, headers=api.headers(key))

    assert response.status_code == 403
    assert response.json()["error"].startswith("Not authorized")


def test_role_change_and_back(api: Api) -> None:
    user, _ = member_with_key(api, "ada@example.com")

    promoted = api.client.put(
        f"{MEMBERS}/{user.uid}", json={"role": "admin"}, headers=api.headers()
    )
    demoted = api.client.put(
        f"{MEMBERS}/{user.uid}", json={"role": "member"}, headers=api.headers()
    )

    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "admin"
    assert demoted.json()["role"] == "member"


@pytest.mark.parametrize(
    ("role", "message"),
    [("owner", "transfers ownership"), ("root", "use admin or member")],
)
def test_role_change_rejects_bad_role(api: Api, role: str, message: str) -> None:
    user, _ = member_with_key(api, "ada@example.com")

    response = api.client.put(f"{MEMBERS}/{user.uid}", json={"role": role}, headers=api.headers())

    assert response.status_code == 400
    assert response.json()["field"] == "role"
    assert message in response.json()["detail"]


def test_member_named_by_email(api: Api) -> None:
    member_with_key(api, "ada@example.com")

    changed = api.client.put(
        f"{MEMBERS}/Ada@Example.com", json={"role": "admin"}, headers=api.headers()
    )
    removed = api.client.delete(f"{MEMBERS}/ada@example.com", headers=api.headers())

    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "admin"
    assert removed.status_code == 204
    assert "ada@example.com" not in roles(api)


def test_transfer_by_email(api: Api) -> None:
    user, _ = member_with_key(api, "ada@example.com")

    response = api.client.put(
        "/api/v1/team/owner", json={"user_uid": "ada@example.com"}, headers=api.headers()
    )

    assert response.status_code == 200, response.text
    assert response.json()["owner_uid"] == user.uid


def test_unknown_email_checked_after_permission(api: Api) -> None:
    _, member_key = member_with_key(api, "ada@example.com")

    as_member = api.client.put(
        f"{MEMBERS}/nobody@example.com", json={"role": "admin"}, headers=api.headers(member_key)
    )
    as_owner = api.client.put(
        f"{MEMBERS}/nobody@example.com", json={"role": "admin"}, headers=api.headers()
    )

    assert as_member.status_code == 403
    assert as_owner.status_code == 404
    assert as_owner.json()["field"] == "user_uid"


def test_owner_role_is_kept(api: Api) -> None:
    response = api.client.put(
        f"{MEMBERS}/{api.world.owner.uid}", json={"role": "member"}, headers=api.headers()
    )

    assert response.status_code == 400
    assert "transfer ownership" in response.json()["detail"]


def test_unknown_member_not_found(api: Api) -> None:
    response = api.client.put(f"{MEMBERS}/nobody", json={"role": "admin"}, headers=api.headers())

    assert response.status_code == 404
    assert response.json()["field"] == "user_uid"


def test_admin_can_demote_self(api: Api) -> None:
    user, admin_key = member_with_key(api, "bob@example.com", "admin")

    response = api.client.put(
        f"{MEMBERS}/{user.uid}", json={"role": "member"}, headers=api.headers(admin_key)
    )

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "member"
    assert roles(api)["bob@example.com"] == "member"


def test_removed_member_loses_team(api: Api) -> None:
    user, key = member_with_key(api, "ada@example.com")
    before = api.client.get("/api/v1/me", headers=api.headers(key)).json()

    removed = api.client.delete(f"{MEMBERS}/{user.uid}", headers=api.headers())
    after = api.client.get("/api/v1/me", headers=api.headers(key)).json()

    assert removed.status_code == 204
    assert before["team_uids"] == [api.world.team_uid]
    assert after["team_uids"] == []
    assert "ada@example.com" not in roles(api)


def test_owner_cannot_be_removed(api: Api) -> None:
    response = api.client.delete(f"{MEMBERS}/{api.world.owner.uid}", headers=api.headers())

    assert response.status_code == 400
    assert "transfer ownership first" in response.json()["detail"]


def test_transfer_makes_old_owner_admin(api: Api) -> None:
    user, _ = member_with_key(api, "ada@example.com")

    response = api.client.put(
        "/api/v1/team/owner", json={"user_uid": user.uid}, headers=api.headers()
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"team_uid": api.world.team_uid, "owner_uid": user.uid}
    assert roles(api) == {"ada@example.com": "owner", "owner@example.com": "admin"}


def test_admin_cannot_transfer(api: Api) -> None:
    _, admin_key = member_with_key(api, "bob@example.com", "admin")
    user, _ = member_with_key(api, "ada@example.com")

    response = api.client.put(
        "/api/v1/team/owner", json={"user_uid": user.uid}, headers=api.headers(admin_key)
    )

    assert response.status_code == 403
    assert "only the team's owner" in response.json()["detail"]


def test_agent_key_cannot_manage_members(api: Api) -> None:
    _, agent_key = api.world.make_key(agent_uid=api.world.add_agent("Release bot"))

    response = api.client.get(MEMBERS, headers=api.headers(agent_key))

    assert response.status_code == 403


def test_other_team_not_found(api: Api) -> None:
    _, other_team = api.world.add_team("eve@example.com")

    response = api.client.get(f"{MEMBERS}?team={other_team}", headers=api.headers())

    assert response.status_code == 404
    assert response.json()["field"] == "team"


def test_invitation_link_opens_join_page(api: Api) -> None:
    created = api.client.post(
        INVITATIONS, json={"email": "Ada@Example.com", "role": "admin"}, headers=api.headers()
    )
    listed = api.client.get(INVITATIONS, headers=api.headers())

    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    invitation = created.json()
    assert invitation["email"] == "ada@example.com"
    assert invitation["role"] == "admin"
    assert invitation["team_uid"] == api.world.team_uid
    link = urlsplit(invitation["join_url"])
    assert link.path == "/join"
    page = api.client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200
    assert "ada@example.com" in page.text
    assert invitation["replaced_pending"] is False
    assert [row["uid"] for row in listed.json()["invitations"]] == [invitation["uid"]]
    assert "join_url" not in listed.json()["invitations"][0]


def test_revoked_invitation_link_fails(api: Api) -> None:
    created = api.client.post(
        INVITATIONS, json={"email": "ada@example.com"}, headers=api.headers()
    ).json()
    link = urlsplit(created["join_url"])

    revoked = api.client.delete(f"{INVITATIONS}/{created['uid']}", headers=api.headers())
    again = api.client.delete(f"{INVITATIONS}/{created['uid']}", headers=api.headers())
    page = api.client.get(f"{link.path}?{link.query}")

    assert revoked.status_code == 204
    assert again.status_code == 404
    assert "not valid" in page.text
    assert "revoked" in page.text
    assert '<a href="/sign-in">Sign in</a>' in page.text
    assert api.client.get(INVITATIONS, headers=api.headers()).json()["invitations"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": "x@@example.com"}, "email"),
        ({"email": f"{'a' * 65}@example.com"}, "email"),
        ({"email": "ada@example..com"}, "email"),
        ({"email": "ada@example.com", "role": "owner"}, "role"),
        ({"email": "owner@example.com"}, "email"),
        ({}, "email"),
        ({"email": "ada@example.com", "colour": "blue"}, "colour"),
    ],
)
def test_invitation_rejects_bad_input(api: Api, body: dict[str, str], field: str) -> None:
    response = api.client.post(INVITATIONS, json=body, headers=api.headers())

    assert response.status_code == 400
    assert response.json()["field"] == field


def test_member_cannot_invite(api: Api) -> None:
    _, key = member_with_key(api, "ada@example.com")

    response = api.client.post(
        INVITATIONS, json={"email": "bob@example.com"}, headers=api.headers(key)
    )

    assert response.status_code == 403


def test_second_invitation_replaces_first(api: Api) -> None:
    first = api.client.post(INVITATIONS, json={"email": "ada@example.com"}, headers=api.headers())
    second = api.client.post(INVITATIONS, json={"email": "ada@example.com"}, headers=api.headers())
    link = urlsplit(first.json()["join_url"])

    page = api.client.get(f"{link.path}?{link.query}")
    listed = api.client.get(INVITATIONS, headers=api.headers()).json()["invitations"]

    assert second.json()["replaced_pending"] is True
    assert page.status_code == 404
    assert [row["uid"] for row in listed] == [second.json()["uid"]]

"""The Admin Panel: members, invitations, cloud agents, GitHub orgs and billing forms."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from oz.db.models import Membership
from oz.github.app import GitHubApp
from oz.identity.teams import find_user_by_email, role_in
from oz.principal import Principal
from tests.server.conftest import Api, use_github
from tests.support.github import APP_ID, APP_PRIVATE_KEY, FakeGitHub, running_github
from tests.web.conftest import PASSWORD, Web, hidden_fields

MEMBERS = "/admin/members"
AGENTS = "/admin/agents"
GITHUB = "/admin/github"
BILLING = "/admin/billing"
INVITATION_LINK = re.compile(r'id="invitation-link"[^>]*value="([^"]+)"')


def user_uid(web: Web, email: str) -> str:
    with web.world.database.read() as session:
        user = find_user_by_email(session, email)
        assert user is not None
        return user.uid


def sign_in_as(web: Web, email: str) -> None:
    web.world.set_password(PASSWORD, Principal("user", user_uid(web, email), email, email))
    assert web.sign_in(email).status_code == 303


def invite(web: Web, email: str, role: str = "member") -> str:
    response = web.submit(MEMBERS, f"{MEMBERS}/invite", email=email, role=role)
    assert response.status_code == 200, response.text
    match = INVITATION_LINK.search(response.text)
    assert match is not None, response.text
    return parse_qs(urlsplit(html.unescape(match.group(1))).query)["token"][0]


def test_admin_link_shown_to_owner(signed_in: Web) -> None:
    page = signed_in.client.get("/settings/api-keys")

    assert '<a href="/admin">Admin Panel</a>' in page.text


def test_admin_redirects_to_members(signed_in: Web) -> None:
    response = signed_in.client.get("/admin", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"{MEMBERS}?team={signed_in.world.team_uid}"


def test_members_page_lists_roles(signed_in: Web) -> None:
    signed_in.world.add_user("alice@example.com", role="admin")

    page = signed_in.client.get(MEMBERS)

    assert page.status_code == 200
    for column in ("Name", "Email", "Role", "Joined"):
        assert f'<th scope="col">{column}</th>' in page.text
    assert "alice@example.com" in page.text
    assert ">Owner<" in page.text
    assert ">Admin<" in page.text


@pytest.mark.parametrize("path", ["/admin", MEMBERS, AGENTS, GITHUB, BILLING])
def test_member_is_refused(web: Web, path: str) -> None:
    web.world.add_user("member@example.com")
    sign_in_as(web, "member@example.com")

    page = web.client.get(path, follow_redirects=True)

    assert page.status_code == 403
    assert "Only the team&#39;s owner or admins may open the Admin Panel" in page.text
    assert "Admin Panel</a>" not in page.text


def test_member_post_is_refused(web: Web) -> None:
    member = web.world.add_user("member@example.com")
    sign_in_as(web, "member@example.com")
    token = hidden_fields(web.client.get("/settings/api-keys").text)["csrf_token"]

    response = web.client.post(
        f"{MEMBERS}/{member.uid}/role",
        data={"csrf_token": token, "team": web.world.team_uid, "role": "admin"},
    )

    assert response.status_code == 403
    with web.world.database.read() as session:
        assert role_in(session, web.world.team_uid, member.uid) == "member"


def test_unknown_team_is_refused(signed_in: Web) -> None:
    page = signed_in.client.get(f"{MEMBERS}?team=elsewhere")

    assert page.status_code == 403


def test_team_switcher_lists_administered_teams(web: Web) -> None:
    _, other_team = web.world.add_team("boss@example.com")
    web.world.add_user("twice@example.com", role="admin")
    with web.world.database.transaction() as session:
        session.add(
            Membership(
                team_uid=other_team, user_uid=user_uid(web, "twice@example.com"), role="admin"
            )
        )
    sign_in_as(web, "twice@example.com")

    page = web.client.get(f"{MEMBERS}?team={other_team}")

    assert page.status_code == 200
    assert '<label for="team-switch">Team</label>' in page.text
    assert f'<option value="{other_team}" selected>' in page.text
    assert "boss@example.com" in page.text


def test_invite_shows_link_once_and_new_user_joins(signed_in: Web) -> None:
    token = invite(signed_in, "new@example.com", role="admin")
    signed_in.client.cookies.clear()

    page = signed_in.client.get(f"/join?token={token}")
    joined = signed_in.client.post(
        "/join",
        data={
            **hidden_fields(page.text),
            "display_name": "New Person",
            "password": "a long new password",
            "confirm_password": "a long new password",
        },
        follow_redirects=False,
    )
    home = signed_in.client.get(joined.headers["location"])

    assert "Join Acme" in page.text
    assert joined.status_code == 303, joined.text
    assert "You joined the team." in home.text
    assert "new@example.com" in home.text
    new_uid = user_uid(signed_in, "new@example.com")
    with signed_in.world.database.read() as session:
        assert role_in(session, signed_in.world.team_uid, new_uid) == "admin"
    assert signed_in.client.get(f"/join?token={token}").status_code == 400


def test_join_rejects_mismatched_passwords(signed_in: Web) -> None:
    token = invite(signed_in, "new@example.com")
    signed_in.client.cookies.clear()
    page = signed_in.client.get(f"/join?token={token}")

    response = signed_in.client.post(
        "/join",
        data={
            **hidden_fields(page.text),
            "password": "a long new password",
            "confirm_password": "another long password",
        },
    )

    assert response.status_code == 400
    assert 'id="confirm_password-error"' in response.text


def test_join_without_csrf_is_rejected(signed_in: Web) -> None:
    token = invite(signed_in, "new@example.com")
    signed_in.client.cookies.clear()
    signed_in.client.get(f"/join?token={token}")

    response = signed_in.client.post(
        "/join",
        data={"token": token, "password": "a long new password", "confirm_password": "x"},
    )

    assert response.status_code == 403
    assert "Form not accepted" in response.text


def test_existing_user_accepts_after_sign_in(web: Web) -> None:
    web.world.add_team("alice@example.com")
    web.sign_in()
    token = invite(web, "alice@example.com")
    web.client.cookies.clear()
    sign_in_as(web, "alice@example.com")

    page = web.client.get(f"/join?token={token}")
    response = web.client.post(
        "/join/accept", data=hidden_fields(page.text), follow_redirects=False
    )

    assert response.status_code == 303, response.text
    with web.world.database.read() as session:
        assert role_in(session, web.world.team_uid, user_uid(web, "alice@example.com")) == "member"


def test_unknown_invitation_link_says_so(web: Web) -> None:
    page = web.client.get("/join?token=nonsense")

    assert page.status_code == 404
    assert "This invitation link is not valid" in page.text


def test_invite_bad_email_error_beside_field(signed_in: Web) -> None:
    response = signed_in.submit(MEMBERS, f"{MEMBERS}/invite", email="nope", role="member")

    assert response.status_code == 400
    assert 'id="email-error"' in response.text


def test_invite_without_csrf_is_rejected(signed_in: Web) -> None:
    response = signed_in.client.post(
        f"{MEMBERS}/invite",
        data={"team": signed_in.world.team_uid, "email": "x@example.com", "role": "member"},
    )

    assert response.status_code == 403
    assert "Form not accepted" in response.text


def test_revoke_invitation(signed_in: Web) -> None:
    invite(signed_in, "new@example.com")
    page = signed_in.client.get(MEMBERS)
    uid = re.search(r"/admin/invitations/(\w+)/revoke", page.text)
    assert uid is not None

    response = signed_in.submit(MEMBERS, f"/admin/invitations/{uid.group(1)}/revoke")

    assert response.status_code == 303
    assert "No invitation is pending." in signed_in.client.get(MEMBERS).text


def test_change_role_then_owner_row_has_no_form(signed_in: Web) -> None:
    member = signed_in.world.add_user("alice@example.com")

    response = signed_in.submit(MEMBERS, f"{MEMBERS}/{member.uid}/role", role="admin")
    page = signed_in.client.get(response.headers["location"])

    assert response.status_code == 303
    assert "The role was changed." in page.text
    assert f"/admin/members/{signed_in.world.owner.uid}/role" not in page.text
    with signed_in.world.database.read() as session:
        assert role_in(session, signed_in.world.team_uid, member.uid) == "admin"


def test_owner_role_change_is_rejected(signed_in: Web) -> None:
    owner_uid = signed_in.world.owner.uid

    response = signed_in.submit(MEMBERS, f"{MEMBERS}/{owner_uid}/role", role="member")

    assert response.status_code == 400
    assert "keeps the owner role" in response.text


def test_role_change_without_csrf_is_rejected(signed_in: Web) -> None:
    member = signed_in.world.add_user("alice@example.com")

    response = signed_in.client.post(
        f"{MEMBERS}/{member.uid}/role",
        data={"team": signed_in.world.team_uid, "role": "admin", "csrf_token": "x"},
    )

    assert response.status_code == 403
    with signed_in.world.database.read() as session:
        assert role_in(session, signed_in.world.team_uid, member.uid) == "member"


def test_remove_member_after_confirmation(signed_in: Web) -> None:
    member = signed_in.world.add_user("alice@example.com")
    signed_in.world.make_key(member, agent_uid=signed_in.world.default_agent_uid)
    confirm = signed_in.client.get(f"{MEMBERS}/{member.uid}/remove")

    response = signed_in.submit(f"{MEMBERS}/{member.uid}/remove", f"{MEMBERS}/{member.uid}/remove")

    assert "Remove alice@example.com from Acme?" in confirm.text
    assert "1 agent key(s)" in confirm.text
    assert response.status_code == 303
    with signed_in.world.database.read() as session:
        assert role_in(session, signed_in.world.team_uid, member.uid) is None


def test_remove_owner_is_rejected(signed_in: Web) -> None:
    owner_uid = signed_in.world.owner.uid
    page = signed_in.client.get(MEMBERS)

    response = signed_in.client.post(f"{MEMBERS}/{owner_uid}/remove", data=hidden_fields(page.text))

    assert response.status_code == 400
    assert "transfer ownership first" in response.text


def test_owner_transfers_ownership(signed_in: Web) -> None:
    member = signed_in.world.add_user("alice@example.com")
    path = f"{MEMBERS}/{member.uid}/transfer"

    response = signed_in.submit(path, path)
    page = signed_in.client.get(response.headers["location"])

    assert response.status_code == 303
    assert "You are now an admin of the team." in page.text
    with signed_in.world.database.read() as session:
        assert role_in(session, signed_in.world.team_uid, member.uid) == "owner"
        assert role_in(session, signed_in.world.team_uid, signed_in.world.owner.uid) == "admin"


def test_admin_cannot_transfer_ownership(web: Web) -> None:
    admin = web.world.add_user("admin@example.com", role="admin")
    sign_in_as(web, "admin@example.com")
    members = web.client.get(MEMBERS)

    confirm = web.client.get(f"{MEMBERS}/{admin.uid}/transfer")
    posted = web.client.post(f"{MEMBERS}/{admin.uid}/transfer", data=hidden_fields(members.text))

    assert "Make owner" not in members.text
    assert confirm.status_code == 403
    assert posted.status_code == 403
    assert "only the team&#39;s owner may transfer ownership" in posted.text.lower()


def test_create_rename_delete_agent(signed_in: Web) -> None:
    created = signed_in.submit(AGENTS, AGENTS, name="Nightly triage")
    page = signed_in.client.get(AGENTS)
    uid = re.search(r"/admin/agents/(\w+)/delete", page.text)
    assert uid is not None
    agent_uid = uid.group(1)
    _, raw = signed_in.world.make_key(agent_uid=agent_uid)

    renamed = signed_in.submit(AGENTS, f"{AGENTS}/{agent_uid}/rename", name="Triage")
    confirm = signed_in.client.get(f"{AGENTS}/{agent_uid}/delete")
    deleted = signed_in.submit(f"{AGENTS}/{agent_uid}/delete", f"{AGENTS}/{agent_uid}/delete")
    after = signed_in.client.get(AGENTS)

    assert created.status_code == 303
    assert "Nightly triage" in page.text
    assert renamed.status_code == 303
    assert "Delete cloud agent “Triage”?" in confirm.text
    assert "Its 1 API key(s) are deleted too" in confirm.text
    assert deleted.status_code == 303
    assert "Triage" not in after.text
    me = signed_in.client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 401


def test_default_agent_has_no_delete(signed_in: Web) -> None:
    uid = signed_in.world.default_agent_uid

    page = signed_in.client.get(AGENTS)
    confirm = signed_in.client.get(f"{AGENTS}/{uid}/delete")
    posted = signed_in.client.post(f"{AGENTS}/{uid}/delete", data=hidden_fields(page.text))

    assert f"/admin/agents/{uid}/delete" not in page.text
    assert confirm.status_code == 400
    assert posted.status_code == 400
    assert "cannot be deleted" in posted.text


def test_agent_name_error_beside_field(signed_in: Web) -> None:
    response = signed_in.submit(AGENTS, AGENTS, name="   ")

    assert response.status_code == 400
    assert 'id="name-error"' in response.text


def test_agent_delete_without_csrf_is_rejected(signed_in: Web) -> None:
    agent_uid = signed_in.world.add_agent("Keep me")

    response = signed_in.client.post(
        f"{AGENTS}/{agent_uid}/delete", data={"team": signed_in.world.team_uid}
    )

    assert response.status_code == 403
    assert "Keep me" in signed_in.client.get(AGENTS).text


def test_github_page_without_app_names_settings(signed_in: Web) -> None:
    page = signed_in.client.get(GITHUB)

    assert "This server has no GitHub App" in page.text
    assert "OZ_GITHUB_APP_ID" in page.text
    assert "OZ_GITHUB_APP_PRIVATE_KEY_FILE" in page.text


@pytest.fixture
def github(signed_in: Web) -> Iterator[FakeGitHub]:
    with running_github(FakeGitHub(installations={777: "acme"})) as fake:
        use_github(
            Api(signed_in.client, signed_in.world, ""),
            fake.url,
            github_app=GitHubApp(APP_ID, APP_PRIVATE_KEY),
        )
        yield fake


def test_enable_and_disable_org(signed_in: Web, github: FakeGitHub) -> None:
    enabled = signed_in.submit(GITHUB, GITHUB, org="Acme")
    listed = signed_in.client.get(GITHUB)
    disabled = signed_in.submit(GITHUB, f"{GITHUB}/acme/disable")
    after = signed_in.client.get(GITHUB)

    assert enabled.status_code == 303, enabled.text
    assert ">acme</th>" in listed.text
    assert ">777<" in listed.text
    assert "owner@example.com" in listed.text
    assert disabled.status_code == 303
    assert "No organization is enabled" in after.text


def test_enable_org_without_app_installed(signed_in: Web, github: FakeGitHub) -> None:
    response = signed_in.submit(GITHUB, GITHUB, org="elsewhere")

    assert response.status_code == 400
    assert 'id="org-error"' in response.text
    assert "must install it" in response.text


def test_enable_org_without_csrf_is_rejected(signed_in: Web, github: FakeGitHub) -> None:
    response = signed_in.client.post(GITHUB, data={"team": signed_in.world.team_uid, "org": "acme"})

    assert response.status_code == 403


def test_billing_page_shows_settings(signed_in: Web) -> None:
    page = signed_in.client.get(BILLING)

    assert page.status_code == 200
    assert "$0.00</strong> of the\n  $200.00 monthly spend cap" in page.text
    assert '<option value="400" selected>400 credits for $10</option>' in page.text
    assert 'value="100"' in page.text


def test_billing_save(signed_in: Web) -> None:
    response = signed_in.submit(
        BILLING,
        BILLING,
        auto_reload="on",
        reload_pack_credits="1000",
        reload_threshold_credits="150",
        monthly_cap_usd="49.50",
    )
    page = signed_in.client.get(response.headers["location"])

    assert response.status_code == 303
    assert "The billing settings were saved." in page.text
    assert 'name="auto_reload" id="auto_reload" checked' in page.text
    assert '<option value="1000" selected>' in page.text
    assert 'value="49.5"' in page.text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"reload_threshold_credits": "lots"}, "reload_threshold_credits"),
        ({"monthly_cap_usd": "ten"}, "monthly_cap_usd"),
        ({"monthly_cap_usd": "nan"}, "monthly_cap_usd"),
        ({"monthly_cap_usd": "-5"}, "monthly_cap_usd"),
        ({"reload_pack_credits": "500"}, "reload_pack_credits"),
        ({"reload_threshold_credits": "5000"}, "reload_pack_credits"),
    ],
)
def test_billing_errors_beside_field(signed_in: Web, fields: dict[str, str], field: str) -> None:
    values = {
        "reload_pack_credits": "400",
        "reload_threshold_credits": "100",
        "monthly_cap_usd": "200",
        **fields,
    }

    response = signed_in.submit(BILLING, BILLING, **values)

    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text


def test_billing_without_csrf_is_rejected(signed_in: Web) -> None:
    response = signed_in.client.post(
        BILLING, data={"team": signed_in.world.team_uid, "monthly_cap_usd": "0"}
    )

    assert response.status_code == 403


def test_resubmitted_invitation_form_keeps_the_first_link(signed_in: Web) -> None:
    page = signed_in.client.get(MEMBERS)
    data = {**hidden_fields(page.text), "email": "again@example.com", "role": "member"}
    first = signed_in.client.post(f"{MEMBERS}/invite", data=data)
    match = INVITATION_LINK.search(first.text)
    assert match is not None, first.text
    token = parse_qs(urlsplit(html.unescape(match.group(1))).query)["token"][0]

    resubmitted = signed_in.client.post(f"{MEMBERS}/invite", data=data)

    assert "already submitted, so no new invitation was created" in resubmitted.text
    signed_in.client.cookies.clear()
    assert signed_in.client.get(f"/join?token={token}").status_code == 200


def test_messages_keep_an_email_as_written(signed_in: Web) -> None:
    response = signed_in.submit(MEMBERS, f"{MEMBERS}/invite", email="owner@example.com")

    assert "owner@example.com is already a member" in response.text

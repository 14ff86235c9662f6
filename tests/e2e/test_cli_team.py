"""`oz team`: members, roles, ownership and invitations against a real server."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import failure, unique
from tests.support.secrets import remember
from tests.support.server import OzServer


def add_user(server: OzServer, role: str = "member") -> tuple[str, str]:
    """Add a user with `ozd user add --with-key`; return their email and key."""
    email = f"{unique('user')}@example.com"
    added = server.ozd(
        "user", "add", email, "--team", server.team_uid, "--role", role, "--with-key"
    )
    assert added.returncode == 0, failure(added)
    return email, remember(added.stdout.strip().splitlines()[-1])


def role_of(server: OzServer, email: str) -> str | None:
    document = server.oz_json("team", "member", "list", api_key=server.owner_key)
    found = [member["role"] for member in document["members"] if member["email"] == email]
    return found[0] if found else None


def test_member_list_shows_columns(server: OzServer) -> None:
    email, _ = add_user(server)

    listed = server.oz("team", "member", "list", api_key=server.owner_key)

    assert listed.returncode == 0, failure(listed)
    for heading in ("Email", "Name", "Role", "Joined", "User ID"):
        assert heading in listed.stdout
    assert email in listed.stdout


def test_role_change_by_email(server: OzServer) -> None:
    email, _ = add_user(server)

    changed = server.oz("team", "member", "role", email.upper(), "admin", api_key=server.owner_key)

    assert changed.returncode == 0, failure(changed)
    assert f"{email} is now an admin." in changed.stdout
    assert role_of(server, email) == "admin"


def test_remove_needs_force_without_terminal(server: OzServer) -> None:
    email, member_key = add_user(server)

    rejected = server.oz("team", "member", "remove", email, api_key=server.owner_key)
    removed = server.oz("team", "member", "remove", email, "--force", api_key=server.owner_key)
    whoami = server.oz_json("whoami", api_key=member_key)

    assert rejected.returncode == 1
    assert "pass --force" in rejected.stderr
    assert removed.returncode == 0, failure(removed)
    assert f"Removed {email}" in removed.stdout
    assert role_of(server, email) is None
    assert whoami["team_uids"] == []


def test_unknown_member_exits_five(server: OzServer) -> None:
    result = server.oz(
        "team", "member", "role", "nobody@example.com", "admin", api_key=server.owner_key
    )

    assert result.returncode == 5, failure(result)
    assert "'nobody@example.com' is not a member of this team" in result.stderr


def test_admin_demotes_self_by_user_id(server: OzServer) -> None:
    email, admin_key = add_user(server, "admin")
    user_uid = server.oz_json("whoami", api_key=admin_key)["uid"]

    demoted = server.oz("team", "member", "role", user_uid, "member", api_key=admin_key)
    again = server.oz("team", "member", "role", user_uid, "admin", api_key=admin_key)

    assert demoted.returncode == 0, failure(demoted)
    assert f"{email} is now a member." in demoted.stdout
    assert again.returncode == 4, failure(again)
    assert "may change roles" in again.stderr
    assert role_of(server, email) == "member"


def test_member_by_email_names_action(server: OzServer) -> None:
    email, _ = add_user(server)
    _, member_key = add_user(server)

    role = server.oz("team", "member", "role", email, "admin", api_key=member_key)
    transfer = server.oz("team", "transfer", email, "--force", api_key=member_key)

    assert role.returncode == 4, failure(role)
    assert "may change roles" in role.stderr
    assert transfer.returncode == 4, failure(transfer)
    assert "only the team's owner may transfer ownership" in transfer.stderr


def test_member_cannot_list(server: OzServer) -> None:
    _, member_key = add_user(server)

    result = server.oz("team", "member", "list", api_key=member_key)

    assert result.returncode == 4, failure(result)


def test_transfer_and_back(server: OzServer) -> None:
    owner_email = server.oz_json("whoami", api_key=server.owner_key)["email"]
    email, new_owner_key = add_user(server, "admin")

    transferred = server.oz("team", "transfer", email, "--force", api_key=server.owner_key)
    roles_after = (role_of(server, email), role_of(server, owner_email))
    returned = server.oz("team", "transfer", owner_email, "--force", api_key=new_owner_key)

    assert transferred.returncode == 0, failure(transferred)
    assert f"{email} now owns the team" in transferred.stdout
    assert roles_after == ("owner", "admin")
    assert returned.returncode == 0, failure(returned)
    assert role_of(server, owner_email) == "owner"


def test_invitation_create_list_revoke(server: OzServer) -> None:
    email = f"{unique('invitee')}@example.com"

    created = server.oz_json(
        "team", "invitation", "create", email, "--role", "admin", api_key=server.owner_key
    )
    listed = server.oz_json("team", "invitation", "list", api_key=server.owner_key)
    page = httpx.get(created["join_url"], timeout=10)
    revoked = server.oz("team", "invitation", "revoke", created["uid"], api_key=server.owner_key)
    again = server.oz("team", "invitation", "revoke", created["uid"], api_key=server.owner_key)

    assert created["join_url"].startswith(f"{server.url}/join?token=")
    assert created["uid"] in [invitation["uid"] for invitation in listed["invitations"]]
    assert page.status_code == 200
    assert email in page.text
    assert revoked.returncode == 0, failure(revoked)
    assert again.returncode == 5, failure(again)


def test_invitation_pretty_shows_link_once(server: OzServer) -> None:
    email = f"{unique('invitee')}@example.com"

    created = server.oz("team", "invitation", "create", email, api_key=server.owner_key)
    listed = server.oz("team", "invitation", "list", api_key=server.owner_key)

    assert created.returncode == 0, failure(created)
    assert "/join?token=" in created.stdout
    assert "not shown again" in created.stdout
    assert "replaces the pending invitation" not in created.stdout
    assert email in listed.stdout
    assert "token=" not in listed.stdout


def test_invitation_bad_email_names_field(server: OzServer) -> None:
    result = server.oz("team", "invitation", "create", "not-an-address", api_key=server.owner_key)

    assert result.returncode == 1, failure(result)
    assert "email" in result.stderr


def test_second_invitation_says_it_replaces(server: OzServer) -> None:
    email = f"{unique('invitee')}@example.com"
    server.oz("team", "invitation", "create", email, api_key=server.owner_key)

    second = server.oz("team", "invitation", "create", email, api_key=server.owner_key)

    assert second.returncode == 0, failure(second)
    assert "replaces the pending invitation" in second.stdout

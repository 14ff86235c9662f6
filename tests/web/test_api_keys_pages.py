"""Settings > API keys: list, generate and delete keys through forms."""

from __future__ import annotations

import html
import re

import httpx2

from oz.apikeys.service import list_keys
from tests.support.secrets import remember
from tests.web.conftest import Web, hidden_fields

RAW_KEY = re.compile(r'value="(wk-[0-9A-Za-z]{37})"')
NEW_PAGE = "/settings/api-keys/new"
LIST_PAGE = "/settings/api-keys"


def create(web: Web, **fields: str) -> httpx2.Response:
    values = {"type": "personal", "name": "laptop", "expiration": "30d", **fields}
    return web.submit(NEW_PAGE, LIST_PAGE, **values)


def raw_key_of(response: httpx2.Response) -> str:
    match = RAW_KEY.search(response.text)
    assert match is not None, response.text
    return remember(match.group(1))


def whoami_status(web: Web, raw: str) -> int:
    response = web.client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    return response.status_code


def key_names(web: Web) -> list[str]:
    with web.world.database.read() as session:
        return [view.name for view in list_keys(session, web.world.owner)]


def test_list_shows_columns_and_masked_keys(signed_in: Web) -> None:
    view, raw = signed_in.world.make_key(name="build server")

    page = signed_in.client.get(LIST_PAGE)

    assert page.status_code == 200
    for column in ("Name", "Scope", "Key", "Created", "Last used", "Expires at"):
        assert f'<th scope="col">{column}</th>' in page.text
    assert "build server" in page.text
    assert f"wk-**{view.key_suffix}" in page.text
    assert raw not in page.text
    assert ">Never<" in page.text
    assert f'href="/settings/api-keys/{view.uid}/delete"' in page.text


def test_list_without_keys_says_so(signed_in: Web) -> None:
    page = signed_in.client.get(LIST_PAGE)

    assert "You have no API keys yet." in page.text


def test_new_form_offers_types_agents_and_expirations(signed_in: Web) -> None:
    agent_uid = signed_in.world.add_agent("CI bot")

    page = signed_in.client.get(NEW_PAGE)

    assert page.status_code == 200
    assert 'value="personal" data-key-type checked' in page.text
    assert 'value="agent" data-key-type' in page.text
    assert f'<option value="{agent_uid}">CI bot</option>' in page.text
    assert "Default Service Account" in page.text
    for label in ("1 day", "30 days", "90 days", "Never"):
        assert f">{label}</option>" in page.text
    assert '<label for="name">Name</label>' in page.text


def test_create_personal_key_shows_it_once(signed_in: Web) -> None:
    response = create(signed_in, name="laptop", expiration="1d")

    raw = raw_key_of(response)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "It will not be shown again" in response.text
    assert "data-copy=" in response.text
    assert whoami_status(signed_in, raw) == 200
    assert raw not in signed_in.client.get(LIST_PAGE).text
    assert key_names(signed_in) == ["laptop"]


def test_create_agent_key_acts_as_the_agent(signed_in: Web) -> None:
    agent_uid = signed_in.world.add_agent("CI bot")

    response = create(signed_in, type="agent", agent_uid=agent_uid, name="deploy")

    raw = raw_key_of(response)
    me = signed_in.client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).json()
    assert "deploy (Agent: CI bot)" in response.text
    assert me["type"] == "service_account"
    assert me["uid"] == agent_uid
    assert "Agent: CI bot" in signed_in.client.get(LIST_PAGE).text


def test_page_keys_equal_api_keys(signed_in: Web) -> None:
    response = create(signed_in, expiration="never")

    raw = raw_key_of(response)
    with signed_in.world.database.read() as session:
        (view,) = list_keys(session, signed_in.world.owner)
    assert len(raw) == 40
    assert view.key_suffix == raw[-4:]
    assert view.type == "personal"
    assert view.expires_at is None


def test_expirations_map_to_days(signed_in: Web) -> None:
    for expiration in ("1d", "30d", "90d"):
        raw_key_of(create(signed_in, name=expiration, expiration=expiration))

    with signed_in.world.database.read() as session:
        views = {view.name: view for view in list_keys(session, signed_in.world.owner)}
    for name, days in (("1d", 1), ("30d", 30), ("90d", 90)):
        view = views[name]
        assert view.expires_at is not None
        assert round((view.expires_at - view.created_at).total_seconds() / 86400) == days


def test_resubmitted_form_creates_nothing(signed_in: Web) -> None:
    page = signed_in.client.get(NEW_PAGE)
    data = {**hidden_fields(page.text), "type": "personal", "name": "once", "expiration": "1d"}

    first = signed_in.client.post(LIST_PAGE, data=data, follow_redirects=False)
    again = signed_in.client.post(LIST_PAGE, data=data, follow_redirects=False)

    raw_key_of(first)
    assert again.status_code == 303
    assert again.headers["location"] == "/settings/api-keys?notice=form-used"
    assert "wk-" not in again.headers["location"]
    assert "no key was created" in signed_in.client.get(again.headers["location"]).text
    assert key_names(signed_in) == ["once"]


def test_empty_name_is_named_and_input_kept(signed_in: Web) -> None:
    agent_uid = signed_in.world.default_agent_uid

    response = create(signed_in, type="agent", agent_uid=agent_uid, name="  ", expiration="90d")

    assert response.status_code == 400
    assert (
        'id="name-error">Name must be 1 to 100 characters after trimming, got 0.' in response.text
    )
    assert 'value="agent" data-key-type checked' in response.text
    assert f'<option value="{agent_uid}" selected>' in response.text
    assert '<option value="90d" selected>' in response.text
    assert key_names(signed_in) == []


def test_failed_form_can_be_corrected(signed_in: Web) -> None:
    failed = create(signed_in, name="")
    data = {**hidden_fields(failed.text), "type": "personal", "name": "fixed", "expiration": "1d"}

    fixed = signed_in.client.post(LIST_PAGE, data=data, follow_redirects=False)

    raw_key_of(fixed)
    assert key_names(signed_in) == ["fixed"]


def test_agent_type_needs_an_agent(signed_in: Web) -> None:
    response = create(signed_in, type="agent", agent_uid="", name="deploy")

    assert response.status_code == 400
    assert 'id="agent_uid-error">Choose the cloud agent the key acts as.' in response.text
    assert 'value="deploy"' in response.text


def test_unknown_agent_is_named(signed_in: Web) -> None:
    response = create(signed_in, type="agent", agent_uid="no-such-agent", name="deploy")

    assert response.status_code == 400
    text = html.unescape(response.text)
    assert "id=\"agent_uid-error\">Cloud agent 'no-such-agent' not found." in text


def test_agent_of_another_team_is_not_found(signed_in: Web) -> None:
    stranger, _ = signed_in.world.add_team("stranger@example.com")
    foreign_agent = signed_in.world.add_agent("Their bot", creator=stranger)

    response = create(signed_in, type="agent", agent_uid=foreign_agent, name="deploy")

    assert response.status_code == 400
    assert "agent_uid-error" in response.text
    assert key_names(signed_in) == []


def test_bad_choices_are_named(signed_in: Web) -> None:
    response = create(signed_in, type="robot", expiration="forever")

    assert response.status_code == 400
    assert 'id="type-error">Choose Personal or Agent.' in response.text
    assert 'id="expiration-error">Choose an expiration: 1 day, 30 days' in response.text


def test_create_without_csrf_token_is_rejected(signed_in: Web) -> None:
    page = signed_in.client.get(NEW_PAGE)
    fields = hidden_fields(page.text)
    data = {"form_nonce": fields["form_nonce"], "name": "sneaky", "expiration": "1d"}

    response = signed_in.client.post(LIST_PAGE, data=data)

    assert response.status_code == 403
    assert key_names(signed_in) == []


def test_delete_asks_then_revokes_at_once(signed_in: Web) -> None:
    view, raw = signed_in.world.make_key(name="old laptop")
    assert whoami_status(signed_in, raw) == 200
    confirm_path = f"/settings/api-keys/{view.uid}/delete"

    confirm = signed_in.client.get(confirm_path)
    response = signed_in.submit(confirm_path, confirm_path)

    assert "Delete API key “old laptop”?" in confirm.text
    assert "This cannot be undone." in confirm.text
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/api-keys?notice=deleted"
    assert whoami_status(signed_in, raw) == 401
    assert "The API key was deleted." in signed_in.client.get(response.headers["location"]).text
    assert key_names(signed_in) == []


def test_delete_without_csrf_token_is_rejected(signed_in: Web) -> None:
    view, raw = signed_in.world.make_key()

    response = signed_in.client.post(f"/settings/api-keys/{view.uid}/delete", data={})

    assert response.status_code == 403
    assert whoami_status(signed_in, raw) == 200


def test_deleting_a_missing_key_is_not_found(signed_in: Web) -> None:
    view, _ = signed_in.world.make_key()
    path = f"/settings/api-keys/{view.uid}/delete"
    token = hidden_fields(signed_in.client.get(path).text)["csrf_token"]
    signed_in.client.post(path, data={"csrf_token": token})

    page = signed_in.client.get(path)
    again = signed_in.client.post(path, data={"csrf_token": token})

    assert page.status_code == 404
    assert again.status_code == 404
    assert "it may be deleted already" in again.text


def test_others_personal_keys_are_not_listed(signed_in: Web) -> None:
    member = signed_in.world.add_user("member@example.com")
    view, raw = signed_in.world.make_key(member, name="member laptop")

    page = signed_in.client.get(LIST_PAGE)
    confirm = signed_in.client.get(f"/settings/api-keys/{view.uid}/delete")

    assert "member laptop" not in page.text
    assert confirm.status_code == 404
    assert whoami_status(signed_in, raw) == 200


def test_member_may_not_delete_others_agent_keys(web: Web) -> None:
    member = web.world.add_user("member@example.com")
    web.world.set_password("member password!", member)
    view, raw = web.world.make_key(agent_uid=web.world.default_agent_uid, name="team deploy")
    web.sign_in("member@example.com", "member password!")
    path = f"/settings/api-keys/{view.uid}/delete"

    response = web.submit(path, path)

    assert response.status_code == 403
    text = html.unescape(response.text)
    assert "Only the team's owner or admins may delete agent keys" in text
    assert whoami_status(web, raw) == 200


def test_members_see_delete_only_on_keys_they_may_delete(web: Web) -> None:

    _, others = web.world.make_key(agent_uid=web.world.default_agent_uid, name="owner's agent key")
    remember(others)
    member = web.world.add_user("member@example.com")
    web.world.set_password("a long member password", member)
    assert web.sign_in("member@example.com", "a long member password").status_code == 303
    remember(raw_key_of(create(web, name="mine", expiration="1d")))

    page = web.client.get("/settings/api-keys").text

    assert "owner&#39;s agent key" in page or "owner's agent key" in page
    assert 'Delete<span class="visually-hidden"> mine</span>' in page
    assert 'Delete<span class="visually-hidden"> owner' not in page

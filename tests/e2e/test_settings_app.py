"""`oz settings` driven headless through Textual's pilot, against a real `ozd serve`.

Screenshots land in test-artifacts/settings/ (see docs/settings.md), with raw keys
masked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton, Select, Static

from oz.client.http import OzClient
from oz.settings_app.api import SettingsApi
from oz.settings_app.app import SettingsApp
from oz.settings_app.create_screen import NEW_AGENT, CreateKeyScreen
from oz.settings_app.created_screen import KeyCreatedScreen
from oz.settings_app.delete_screen import DeleteKeyScreen
from oz.settings_app.table import KeyTable
from tests.e2e.conftest import ServerFactory, create_agent, create_key, failure, unique
from tests.support.pilot import run_async, save_screenshot, settle
from tests.support.secrets import remember
from tests.support.server import OzServer

pytestmark = pytest.mark.e2e

SIZE = (160, 36)
EXIT_AUTHENTICATION = 3
OWNER_EMAIL = "owner@example.com"


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> OzServer:
    """A SQLite server shared by the module. The CLI tests cover PostgreSQL."""
    return server_factory("sqlite")


def settings_app(server: OzServer, key: str | None = None) -> SettingsApp:
    client = OzClient(server.url, key or server.owner_key)
    return SettingsApp(SettingsApi(client, "WARP_API_KEY"))


def table_of(pilot: Pilot[Any]) -> KeyTable:
    return pilot.app.screen.query_one(KeyTable)


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).content)


def row_of(table: KeyTable, uid: str) -> list[str]:
    return [cell.plain for cell in table.get_row(uid)]


async def select_key(pilot: Pilot[Any], uid: str) -> None:
    table = table_of(pilot)
    table.focus()
    table.move_cursor(row=table.get_row_index(uid))
    await pilot.pause()


def whoami(server: OzServer, key: str) -> dict[str, Any]:
    result = server.oz("--output-format", "json", "whoami", api_key=key)
    assert result.returncode == 0, failure(result)
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def expire_key(server: OzServer, uid: str) -> None:
    """Delete a key with the CLI, as someone else at another terminal would."""
    result = server.oz("api-key", "expire", uid, "--force", api_key=server.owner_key)
    assert result.returncode == 0, failure(result)


def listed_key_names(server: OzServer) -> list[str]:
    return [row["name"] for row in server.oz_json("api-key", "list", api_key=server.owner_key)]


async def open_create_form(pilot: Pilot[Any], name: str) -> CreateKeyScreen:
    await pilot.press("c")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CreateKeyScreen)
    await pilot.press(*name)
    return screen


async def choose_agent_type(pilot: Pilot[Any]) -> None:
    await pilot.click("#type-agent")
    await settle(pilot)


async def pick_agent(pilot: Pilot[Any], label: str) -> None:
    """Open the cloud agent list and pick an entry by typing its first characters."""
    await pilot.click("#agent")
    await pilot.pause()
    await pilot.press(*label[:12], "enter")
    await pilot.pause()


async def submit_form(pilot: Pilot[Any]) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


async def take_created_key(pilot: Pilot[Any]) -> str:
    """Read the raw key from the dialog that shows it once."""
    screen = pilot.app.screen
    assert isinstance(screen, KeyCreatedScreen), f"expected the new key, got {screen!r}"
    return remember(text_of(pilot, "#raw-key"))


@run_async
async def test_table_shows_every_column(server: OzServer) -> None:
    personal = create_key(server, unique("columns"), "--expires-in", "30d")["api_key"]
    agent = create_key(
        server, unique("agent-columns"), "--no-expiration", "--agent", server.default_agent_uid
    )
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(pilot)
        headers = [column.label.plain for column in table.columns.values()]
        personal_row = row_of(table, personal["uid"])
        agent_row = row_of(table, agent["api_key"]["uid"])
        save_screenshot(app, "api-keys-table.svg")

    assert headers == ["Name", "Key", "Scope", "Created ▼", "Last used", "Expires at"]
    assert personal_row[0] == personal["name"]
    assert personal_row[1] == f"wk-**{personal['key_suffix']}"
    assert personal_row[2] == f"Personal: {OWNER_EMAIL}"
    assert personal_row[3].endswith(" UTC")
    assert personal_row[4] == "Never"
    assert personal_row[5].endswith(" UTC")
    assert agent_row[2] == "Agent: Default Service Account"
    assert agent_row[5] == "Never"


@run_async
async def test_keyboard_focus_order_and_footer(server: OzServer) -> None:
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first_focus = app.focused
        chain = [widget.id for widget in app.screen.focus_chain]
        footer = {
            binding.key_display or binding.key: binding.description
            for _, binding, enabled, _ in app.active_bindings.values()
            if binding.show and enabled
        }
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "enter")
        await settle(pilot)
        after_sidebar = app.focused

    assert isinstance(first_focus, KeyTable)
    assert chain == ["sidebar", "create-key", "delete-key", "key-table"]
    assert footer == {
        "c": "Create",
        "d": "Delete",
        "r": "Refresh",
        "1-6": "Sort",
        "q": "Quit",
    }
    assert isinstance(after_sidebar, KeyTable)


@run_async
async def test_sort_by_key_binding_and_header(server: OzServer) -> None:
    for name in ("Beta", "alpha", "gamma"):
        create_key(server, unique(name))
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = table_of(pilot)
        await pilot.press("1")
        by_name = table.listed_names()
        await pilot.press("1")
        by_name_reversed = table.listed_names()
        header_x = sum(
            column.get_render_width(table) for column in list(table.columns.values())[:3]
        )
        await pilot.click(KeyTable, offset=(header_x + 2, 0))
        await pilot.pause()
        created_header = table.columns["created"].label.plain
        created_order = [table.api_keys[uid].created_at for uid in table.listed_uids()]

    assert by_name == sorted(by_name, key=str.casefold)
    assert by_name_reversed == list(reversed(by_name))
    assert created_header == "Created ▲"
    assert created_order == sorted(created_order)


@run_async
async def test_create_personal_key_copy_and_close(server: OzServer) -> None:
    name = unique("laptop")
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_create_form(pilot, name)
        # The expiration choices: the highlight starts on the first, 90 days.
        await pilot.press("tab", "right", "right", "enter")
        save_screenshot(app, "create-form.svg")
        await pilot.press("tab", "tab", "tab", "enter")
        await settle(pilot)
        raw = await take_created_key(pilot)
        await pilot.press("c")
        await pilot.pause()
        copied = app.clipboard
        copy_status = text_of(pilot, "#copy-status")
        warning = text_of(pilot, "#warning")
        save_screenshot(app, "key-shown-once.svg", raw)
        me = whoami(server, raw)
        await pilot.press("escape")
        await settle(pilot)
        closed_screen = app.screen
        clipboard_after = app.clipboard
        on_screen_after = app.export_screenshot()
        table = table_of(pilot)
        row = next(row for row in table.api_keys.values() if row.name == name)

    assert raw.startswith("wk-")
    assert copied == raw
    assert "Copied to the clipboard" in copy_status
    assert "only time the key is shown" in warning
    assert me["type"] == "user"
    assert me["email"] == OWNER_EMAIL
    assert not isinstance(closed_screen, KeyCreatedScreen)
    assert clipboard_after == ""
    assert raw not in on_screen_after
    assert row.masked_key == f"wk-**{raw[-4:]}"
    assert row.expires_at is not None
    assert (row.expires_at - row.created_at).days == 1


@run_async
async def test_create_agent_key_for_listed_agent(server: OzServer) -> None:
    agent = create_agent(server, unique("Indexer"))
    name = unique("indexer-key")
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_create_form(pilot, name)
        await choose_agent_type(pilot)
        await pick_agent(pilot, agent["name"])
        picked = pilot.app.screen.query_one("#agent", Select).value
        await submit_form(pilot)
        raw = await take_created_key(pilot)
        summary = text_of(pilot, "#summary")

    me = whoami(server, raw)
    assert picked == agent["uid"]
    assert me["type"] == "service_account"
    assert me["uid"] == agent["uid"]
    assert f"Agent: {agent['name']}" in summary


@run_async
async def test_create_agent_key_with_new_agent(server: OzServer) -> None:
    agent_name = unique("Nightly")
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_create_form(pilot, unique("nightly-key"))
        await choose_agent_type(pilot)
        await pick_agent(pilot, "+ New cloud agent")
        picked = pilot.app.screen.query_one("#agent", Select).value
        await pilot.click("#new-agent-name")
        await pilot.press(*agent_name)
        await submit_form(pilot)
        raw = await take_created_key(pilot)

    agents = server.oz_json("agent", "list", api_key=server.owner_key)["agents"]
    created = [agent for agent in agents if agent["name"] == agent_name]
    me = whoami(server, raw)
    assert picked == NEW_AGENT
    assert len(created) == 1
    assert me["type"] == "service_account"
    assert me["uid"] == created[0]["uid"]


@run_async
async def test_form_checks_input_before_sending(server: OzServer) -> None:
    long_name = "x" * 101
    app = settings_app(server)
    before = listed_key_names(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_create_form(pilot, "")
        await submit_form(pilot)
        empty_name_error = text_of(pilot, "#name-error")
        pilot.app.screen.query_one("#name", Input).post_message(events.Paste(long_name))
        await choose_agent_type(pilot)
        await submit_form(pilot)
        long_name_error = text_of(pilot, "#name-error")
        agent_error = text_of(pilot, "#agent-error")
        kept_name = pilot.app.screen.query_one("#name", Input).value
        still_open = isinstance(pilot.app.screen, CreateKeyScreen)

    assert empty_name_error == "Enter a key name."
    assert long_name_error == "The key name must be at most 100 characters, not 101."
    assert agent_error == "Pick a cloud agent, or create a new one."
    assert kept_name == long_name
    assert still_open
    assert listed_key_names(server) == before


@run_async
async def test_server_rejection_keeps_input(server: OzServer) -> None:
    agent = create_agent(server, unique("Doomed"))
    name = unique("doomed-key")
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_create_form(pilot, name)
        await pilot.click("#expires-never")
        await choose_agent_type(pilot)
        await pick_agent(pilot, agent["name"])
        deleted = server.oz("agent", "delete", agent["uid"], "--force", api_key=server.owner_key)
        await submit_form(pilot)
        agent_error = text_of(pilot, "#agent-error")
        kept_name = pilot.app.screen.query_one("#name", Input).value
        kept_expiry = pilot.app.screen.query_one("#expires-never", RadioButton).value
        save_screenshot(app, "create-form-error.svg")
        await pick_agent(pilot, "Default Service Account")
        await submit_form(pilot)
        raw = await take_created_key(pilot)

    assert deleted.returncode == 0, failure(deleted)
    assert agent_error.startswith("Cannot create the key. Not found: cloud agent")
    assert kept_name == name
    assert kept_expiry is True
    assert whoami(server, raw)["display_name"] == "Default Service Account"


@run_async
async def test_refresh_shows_key_made_elsewhere(server: OzServer) -> None:
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        made = create_key(server, unique("elsewhere"))["api_key"]
        before = made["uid"] in table_of(pilot).api_keys
        await pilot.press("r")
        await settle(pilot)
        after = row_of(table_of(pilot), made["uid"])

    assert not before
    assert after[0] == made["name"]


@run_async
async def test_delete_key_server_rejects_it(server: OzServer) -> None:
    created = create_key(server, unique("retire"))
    uid, raw = created["api_key"]["uid"], created["raw_api_key"]
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_key(pilot, uid)
        await pilot.press("d")
        await pilot.press("escape")
        kept_after_cancel = uid in table_of(pilot).api_keys
        await pilot.press("d")
        await pilot.pause()
        confirm = pilot.app.screen
        save_screenshot(app, "delete-confirmation.svg")
        await pilot.press("tab", "enter")
        await settle(pilot)
        listed_after = uid in table_of(pilot).api_keys
        status = text_of(pilot, "#status")

    rejected = server.oz("whoami", api_key=raw)
    assert kept_after_cancel
    assert isinstance(confirm, DeleteKeyScreen)
    assert not listed_after
    assert status.startswith("Deleted ")
    assert rejected.returncode == EXIT_AUTHENTICATION, failure(rejected)


@run_async
async def test_delete_key_deleted_elsewhere(server: OzServer) -> None:
    created = create_key(server, unique("gone"))["api_key"]
    app = settings_app(server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expire_key(server, created["uid"])
        await select_key(pilot, created["uid"])
        await pilot.press("d")
        await pilot.click("#delete")
        await settle(pilot)
        status = text_of(pilot, "#status")
        listed = created["uid"] in table_of(pilot).api_keys
        await pilot.press("r")
        await settle(pilot)
        usable = text_of(pilot, "#status")

    assert status == (
        f"Cannot delete {created['name']!r}; it was removed from the list."
        f" Not found: API key {created['uid']!r} not found."
    )
    assert not listed
    assert usable.endswith("Press c to create a key, d to delete the selected one.")


@run_async
async def test_member_cannot_delete_owner_agent_key(server: OzServer) -> None:
    added = server.ozd(
        "user", "add", f"{unique('member')}@example.com", "--team", server.team_uid, "--with-key"
    )
    assert added.returncode == 0, failure(added)
    member_key = remember(added.stdout.strip().splitlines()[-1])
    owner_agent_key = create_key(
        server, unique("owners"), "--no-expiration", "--agent", server.default_agent_uid
    )
    uid = owner_agent_key["api_key"]["uid"]
    app = settings_app(server, member_key)

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await select_key(pilot, uid)
        await pilot.press("d")
        await pilot.click("#delete")
        await settle(pilot)
        status = text_of(pilot, "#status")
        listed = uid in table_of(pilot).api_keys
        notified = [notification.title for notification in app._notifications]
        save_screenshot(app, "error-not-authorized.svg")

    assert status.startswith(
        f"Cannot delete {owner_agent_key['api_key']['name']!r}. Not authorized:"
    )
    assert "owner or admins" in status
    assert listed
    assert notified == ["Not authorized"]
    assert whoami(server, owner_agent_key["raw_api_key"])["type"] == "service_account"


@run_async
async def test_rejected_credential_is_reported(server: OzServer) -> None:
    created = create_key(server, unique("own"))
    app = settings_app(server, created["raw_api_key"])

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expire_key(server, created["api_key"]["uid"])
        await pilot.press("r")
        await settle(pilot)
        status = text_of(pilot, "#status")

    assert status.startswith("Cannot load the keys. Authentication required:")
    assert "The credential came from WARP_API_KEY: quit with q" in status
    assert created["raw_api_key"] not in status


@run_async
async def test_stopped_server_reported_and_recovered(server_factory: ServerFactory) -> None:
    own_server = server_factory("sqlite")
    app = settings_app(own_server)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        own_server.stop()
        await pilot.press("r")
        await settle(pilot)
        status = text_of(pilot, "#status")
        rows_kept = table_of(pilot).row_count
        save_screenshot(app, "error-unreachable.svg")
        await pilot.press("c")
        await pilot.pause()
        form_opened = isinstance(pilot.app.screen, CreateKeyScreen)
        await pilot.press("escape")
        own_server.port = int(own_server.url.rsplit(":", 1)[1])
        own_server.serve()
        await pilot.press("r")
        await settle(pilot)
        recovered = text_of(pilot, "#status")

    assert status.startswith(
        f"Cannot load the keys. Request failed: cannot reach the oz server at {own_server.url}"
    )
    assert rows_kept == 1
    assert form_opened
    assert recovered.startswith("1 key.")

"""The web app in headless Chromium, against a real `ozd serve`, with the real `oz` CLI.

Screenshots land in test-artifacts/web/ (see docs/web.md); the shown-once key is masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import ServerFactory, failure, unique
from tests.support.browser import ARTIFACTS_DIR
from tests.support.secrets import remember
from tests.support.server import OzServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

OWNER_EMAIL = "owner@example.com"
PASSWORD = "correct horse battery"
EXIT_AUTHENTICATION = 3
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 800}
MAX_TABS = 30
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> OzServer:
    """A SQLite server whose owner has a password; PostgreSQL is covered in tests/web."""
    started = server_factory("sqlite")
    result = started.ozd("user", "set-password", OWNER_EMAIL, input=PASSWORD + "\n")
    assert result.returncode == 0, failure(result)
    return started


@contextmanager
def open_page(chromium: Browser, server: OzServer, **options: object) -> Iterator[Page]:
    """Open a page in a new browser context, which has its own cookies."""
    context = chromium.new_context(viewport=DESKTOP, **options)  # type: ignore[arg-type]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(chromium: Browser, server: OzServer) -> Iterator[Page]:
    with open_page(chromium, server) as opened:
        yield opened


def screenshot(page: Page, name: str, mask: list[Locator] | None = None) -> Path:
    path = ARTIFACTS_DIR / "web" / name
    page.screenshot(path=path, full_page=True, mask=mask or [])
    return path


def sign_in(page: Page, server: OzServer) -> None:
    page.goto(f"{server.url}/")
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()


def generate(page: Page, name: str, agent: str | None = None) -> str:
    """Fill in the Generate new token form, submit it, and return the key shown once."""
    page.get_by_role("link", name="Generate new token").click()
    if agent is not None:
        page.get_by_role("radio", name=re.compile("^Agent")).check()
        page.get_by_role("combobox", name=re.compile("^Cloud agent")).select_option(label=agent)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Expiration").select_option(label="1 day")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    return remember(page.locator("#new-key").input_value())


def delete(page: Page, server: OzServer, name: str) -> None:
    page.goto(f"{server.url}/settings/api-keys")
    page.get_by_role("link", name=f"Delete {name}").click()
    expect(page.get_by_role("heading", name=f"Delete API key “{name}”?")).to_be_visible()
    page.get_by_role("button", name="Delete key").click()
    expect(page.get_by_role("status")).to_contain_text("The API key was deleted.")


def whoami(server: OzServer, raw: str) -> dict[str, object]:
    result = server.oz("--output-format", "json", "whoami", api_key=raw)
    assert result.returncode == 0, failure(result)
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_personal_key_lifecycle(page: Page, server: OzServer) -> None:
    name = unique("laptop")
    sign_in(page, server)
    page.get_by_role("link", name="Generate new token").click()
    expect(page.get_by_role("combobox", name=re.compile("^Cloud agent"))).to_be_hidden()
    page.get_by_label("Name").fill(name)
    screenshot(page, "generate-token-form.png")
    page.get_by_role("button", name="Create").click()
    key_field = page.locator("#new-key")
    raw = remember(key_field.input_value())

    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    screenshot(page, "key-shown-once.png", mask=[key_field])
    me = whoami(server, raw)
    page.reload()
    reloaded = page.content()

    assert raw.startswith("wk-")
    assert copied == raw
    assert raw not in page.url
    assert me["type"] == "user"
    assert me["email"] == OWNER_EMAIL
    assert page.url.endswith("/settings/api-keys?notice=form-used")
    assert raw not in reloaded
    assert f"wk-**{raw[-4:]}" in reloaded
    screenshot(page, "api-keys-list.png")

    delete(page, server, name)
    rejected = server.oz("whoami", api_key=raw)

    assert rejected.returncode == EXIT_AUTHENTICATION, failure(rejected)
    assert name not in page.content()


def test_agent_key_acts_as_the_agent(page: Page, server: OzServer) -> None:
    name = unique("deploy")
    sign_in(page, server)

    raw = generate(page, name, agent="Default Service Account")
    me = whoami(server, raw)
    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row").filter(has_text=name)

    assert me["type"] == "service_account"
    assert me["display_name"] == "Default Service Account"
    expect(row).to_contain_text("Agent: Default Service Account")
    expect(row).to_contain_text(f"wk-**{raw[-4:]}")

    delete(page, server, name)
    rejected = server.oz("whoami", api_key=raw)

    assert rejected.returncode == EXIT_AUTHENTICATION, failure(rejected)


def test_history_never_shows_the_key_again(page: Page, server: OzServer) -> None:
    name = unique("history")
    sign_in(page, server)
    raw = generate(page, name)

    page.go_back()
    expect(page.get_by_role("heading", name="Generate new token")).to_be_visible()
    back = page.content()
    # Chromium does not show a no-store response to a POST again without resubmitting it.
    with suppress(PlaywrightError):
        page.go_forward()
    expect(page.get_by_role("heading", name="Generate new token")).to_be_hidden()
    expect(page.locator("#new-key")).to_have_count(0)
    listed = server.oz_json("api-key", "list", api_key=server.owner_key)

    assert raw not in back
    assert [row["name"] for row in listed].count(name) == 1


def test_tampered_csrf_token_is_rejected(page: Page, server: OzServer) -> None:
    sign_in(page, server)
    page.locator("form.sign-out input[name=csrf_token]").evaluate("input => input.value = 'x'")

    with page.expect_response(f"{server.url}/sign-out") as posted:
        page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Form not accepted")).to_be_visible()
    page.goto(f"{server.url}/settings/api-keys")

    assert posted.value.status == 403
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()


def test_sign_out_then_pages_need_sign_in(page: Page, server: OzServer) -> None:
    sign_in(page, server)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(f"{server.url}/settings/api-keys")

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_keyboard_alone_creates_and_copies(page: Page, server: OzServer) -> None:
    sign_in(page, server)
    page.goto(f"{server.url}/settings/api-keys/new")

    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "name":
            break
    page.keyboard.type(unique("keyboard"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    raw = remember(page.locator("#new-key").input_value())
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Copy":
            break
    page.keyboard.press("Enter")

    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw


def test_phone_width_layout_fits(chromium: Browser, server: OzServer) -> None:
    with open_page(chromium, server) as page:
        page.set_viewport_size(PHONE)
        sign_in(page, server)
        generate(page, unique("phone"))
        page.get_by_role("link", name="Done").click()

        list_width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, "api-keys-list-phone.png")
        page.get_by_role("link", name="Generate new token").click()
        form_width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, "generate-token-form-phone.png")

        assert list_width <= PHONE["width"]
        assert form_width <= PHONE["width"]


def test_works_without_javascript(chromium: Browser, server: OzServer) -> None:
    with open_page(chromium, server, java_script_enabled=False) as page:
        name = unique("no-js")
        sign_in(page, server)

        page.goto(f"{server.url}/settings/api-keys/new")
        expect(page.get_by_role("combobox", name=re.compile("^Cloud agent"))).to_be_visible()
        page.go_back()
        raw = generate(page, name, agent="Default Service Account")

        expect(page.get_by_role("button", name="Copy")).to_be_hidden()
        assert whoami(server, raw)["type"] == "service_account"
        delete(page, server, name)
        assert server.oz("whoami", api_key=raw).returncode == EXIT_AUTHENTICATION


def test_device_login_end_to_end(page: Page, server: OzServer, tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.support.server import BIN, clean_env

    store = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "WARP_SERVER_ROOT_URL": server.url,
    }
    login = subprocess.Popen(
        [BIN / "oz", "login", "--no-browser"],
        env=clean_env(**store),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert login.stderr is not None
    url = ""
    for line in login.stderr:
        if line.strip().startswith("http"):
            url = line.strip()
            break
    code = url.rsplit("=", 1)[-1]

    page.goto(url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(code)).to_be_visible()
    screenshot(page, "device-approval.png")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("The CLI is signed in")
    stdout, stderr = login.communicate(timeout=30)

    assert login.returncode == 0, stderr
    assert f"Signed in as {OWNER_EMAIL}" in stdout
    credentials = tmp_path / "config" / "oz" / "credentials.json"
    assert oct(os.stat(credentials).st_mode & 0o777) == "0o600"
    token = remember(json.loads(credentials.read_text())[server.url])
    me = server.oz("--output-format", "json", "whoami", env=store)
    assert me.returncode == 0, failure(me)
    assert json.loads(me.stdout)["api_key_source"] == "oz login"

    logout = server.oz("logout", env=store)
    after = server.oz("whoami", env=store)
    revoked = server.oz("whoami", api_key=token)

    assert logout.returncode == 0, failure(logout)
    assert json.loads(credentials.read_text()) == {}
    assert after.returncode == EXIT_AUTHENTICATION
    assert "oz login" in after.stderr
    assert revoked.returncode == EXIT_AUTHENTICATION
    assert "revoked" in revoked.stderr

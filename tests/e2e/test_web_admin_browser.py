"""The Admin Panel in headless Chromium, against a real `ozd serve`.

Screenshots land in test-artifacts/web/ (see docs/web.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ServerFactory, failure, unique
from tests.e2e.test_web_browser import (
    OWNER_EMAIL,
    PASSWORD,
    PHONE,
    open_page,
    screenshot,
    sign_in,
)
from tests.support.server import OzServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

NEW_PASSWORD = "another correct horse"


@pytest.fixture(scope="module")
def server(server_factory: ServerFactory) -> OzServer:
    started = server_factory("sqlite")
    result = started.ozd("user", "set-password", OWNER_EMAIL, input=PASSWORD + "\n")
    assert result.returncode == 0, failure(result)
    return started


@pytest.fixture
def page(chromium: Browser, server: OzServer) -> Iterator[Page]:
    with open_page(chromium, server) as opened:
        yield opened


def invite(page: Page, email: str, role: str = "Member") -> str:
    """Create an invitation on the Members page and return the link shown once."""
    page.get_by_role("link", name="Admin Panel").click()
    expect(page.get_by_role("heading", name="Invite a member")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role", exact=True).select_option(label=role)
    page.get_by_role("button", name="Create invitation").click()
    expect(page.get_by_role("heading", name="Invitation created")).to_be_visible()
    return page.locator("#invitation-link").input_value()


def join(chromium: Browser, server: OzServer, link: str, name: str) -> None:
    """Accept an invitation as a new user, in a browser context of their own."""
    with open_page(chromium, server) as invitee:
        invitee.goto(link)
        invitee.get_by_label("Your name").fill(name)
        invitee.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        invitee.get_by_label("Password again").fill(NEW_PASSWORD)
        invitee.get_by_role("button", name="Join").click()
        expect(invitee.get_by_role("status")).to_contain_text("You joined the team.")


def test_invited_member_joins_and_is_refused(
    chromium: Browser, page: Page, server: OzServer
) -> None:
    email = unique("member") + "@example.com"
    sign_in(page, server)

    link = invite(page, email)
    screenshot(page, "admin-invitation-created.png", mask=[page.locator("#invitation-link")])
    with open_page(chromium, server) as invitee:
        invitee.goto(link)
        expect(invitee.get_by_role("heading", name="Join")).to_be_visible()
        screenshot(invitee, "admin-join.png")
        invitee.get_by_label("Your name").fill("Mia Member")
        invitee.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        invitee.get_by_label("Password again").fill(NEW_PASSWORD)
        invitee.get_by_role("button", name="Join").click()
        expect(invitee.get_by_role("status")).to_contain_text("You joined the team.")
        nav = invitee.get_by_role("navigation", name="Settings")
        expect(nav.get_by_role("link", name="Admin Panel")).to_have_count(0)
        response = invitee.goto(f"{server.url}/admin")
        assert response is not None
        assert response.status == 403
        expect(invitee.get_by_role("heading", name="Admin Panel not available")).to_be_visible()
        expect(invitee.get_by_text("Only the team's owner or admins")).to_be_visible()
        screenshot(invitee, "admin-refused.png")
        invitee.goto(link)
        expect(invitee.get_by_text("This invitation was already used")).to_be_visible()

    page.goto(f"{server.url}/admin/members")
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Mia Member")
    expect(row).to_contain_text("Member")
    screenshot(page, "admin-members.png")


def test_create_and_delete_cloud_agent(page: Page, server: OzServer) -> None:
    name = unique("triage")
    sign_in(page, server)
    page.goto(f"{server.url}/admin/agents")

    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create cloud agent").click()
    expect(page.get_by_role("status")).to_contain_text("The cloud agent was created.")
    listed = server.oz_json("agent", "list", api_key=server.owner_key)
    screenshot(page, "admin-agents.png")
    page.get_by_role("link", name=f"Delete {name}").click()
    expect(page.get_by_text("API key(s) are deleted too")).to_be_visible()
    page.get_by_role("button", name="Delete cloud agent").click()
    expect(page.get_by_role("status")).to_contain_text("were deleted")
    after = server.oz_json("agent", "list", api_key=server.owner_key)

    assert name in str(listed)
    assert name not in str(after)


def test_billing_and_github_pages(page: Page, server: OzServer) -> None:
    sign_in(page, server)
    page.goto(f"{server.url}/admin/billing")

    page.get_by_role("checkbox", name="Auto-reload").check()
    page.get_by_label("Monthly spend cap, in dollars").fill("lots")
    page.get_by_role("button", name="Save billing settings").click()
    expect(page.locator("#monthly_cap_usd-error")).to_be_visible()
    page.get_by_label("Monthly spend cap, in dollars").fill("150")
    page.get_by_role("button", name="Save billing settings").click()
    expect(page.get_by_role("status")).to_have_text("The billing settings were saved.")
    screenshot(page, "admin-billing.png")
    page.get_by_role("link", name="Enabled GitHub Orgs").click()

    expect(page.get_by_role("heading", name="This server has no GitHub App")).to_be_visible()
    screenshot(page, "admin-github-orgs.png")


def test_phone_width_layout_fits(chromium: Browser, server: OzServer) -> None:
    with open_page(chromium, server) as page:
        page.set_viewport_size(PHONE)
        sign_in(page, server)
        widths = {}
        for tab in ("members", "agents", "github", "billing"):
            page.goto(f"{server.url}/admin/{tab}")
            widths[tab] = page.evaluate("document.documentElement.scrollWidth")
        page.goto(f"{server.url}/admin/members")
        screenshot(page, "admin-members-phone.png")

        assert all(width <= PHONE["width"] for width in widths.values()), widths


def test_owner_transfers_ownership(chromium: Browser, page: Page, server: OzServer) -> None:
    email = unique("heir") + "@example.com"
    sign_in(page, server)
    link = invite(page, email, role="Admin")
    join(chromium, server, link, "Hana Heir")

    page.goto(f"{server.url}/admin/members")
    page.get_by_role("link", name=f"Make owner {email}").click()
    expect(page.get_by_role("heading", name=f"Make {email} the owner")).to_be_visible()
    page.get_by_role("button", name="Transfer ownership").click()
    expect(page.get_by_role("status")).to_contain_text("You are now an admin of the team.")

    expect(page.get_by_role("row").filter(has_text=email)).to_contain_text("Owner")
    expect(page.get_by_role("row").filter(has_text=OWNER_EMAIL)).to_contain_text("Admin")
    expect(page.get_by_role("link", name="Make owner")).to_have_count(0)

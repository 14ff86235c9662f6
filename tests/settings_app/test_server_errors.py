"""Server errors that a healthy `ozd` does not send on demand, from a loopback stand-in.

The stand-in returns a fixed status and JSON body for each method and path, as the
REST API would, with problem+json for errors.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from textual.widgets import Button, Input, Static

from oz.client.http import OzClient
from oz.settings_app.api import SettingsApi
from oz.settings_app.app import SettingsApp
from oz.settings_app.create_screen import CreateKeyScreen
from oz.settings_app.table import KeyTable
from tests.support.loopback import JsonHandler, serving
from tests.support.pilot import run_async, settle

SIZE = (140, 36)
# A well-formed key that no server issued. The stand-in does not check keys.
STAND_IN_KEY = "wk-" + "a" * 37
KEY_ROW = {
    "uid": "key-1",
    "name": "ci",
    "type": "personal",
    "key_suffix": "abcd",
    "scope": {"type": "personal", "uid": "user-1", "name": "owner@example.com"},
    "created_at": "2030-01-01T00:00:00Z",
    "last_used_at": None,
    "expires_at": None,
}
Route = tuple[int, dict[str, Any] | bytes]


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"/reference/api-and-sdk/troubleshooting/errors/{slug}/",
        "title": title,
        "status": status,
        "detail": detail,
        "error": f"{title} ({detail})",
        "retryable": status >= 500,
        **extra,
    }


class StandIn(JsonHandler):
    routes: ClassVar[dict[tuple[str, str], Route]] = {}
    # Every request as (method, path), and seconds to wait before responding to a POST.
    requests: ClassVar[list[tuple[str, str]]] = []
    post_delay: ClassVar[list[float]] = [0.0]

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.post_delay[0])
        self._answer("POST")

    def _answer(self, method: str) -> None:
        self.requests.append((method, self.path))
        status, body = self.routes.get(
            (method, self.path), (404, problem(404, "resource-not-found", "Not found", self.path))
        )
        if isinstance(body, bytes):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_json(status, body)


@pytest.fixture
def stand_in() -> Iterator[tuple[str, dict[tuple[str, str], Route]]]:
    routes: dict[tuple[str, str], Route] = {("GET", "/api/v1/api-keys"): (200, {"api_keys": []})}
    handler = type("Routes", (StandIn,), {"routes": routes, "requests": [], "post_delay": [0.0]})
    with serving(handler) as url:
        yield url, routes


def stand_in_app(url: str) -> SettingsApp:
    return SettingsApp(SettingsApi(OzClient(url, STAND_IN_KEY), "WARP_API_KEY"))


@run_async
async def test_unavailable_server_is_reported(
    stand_in: tuple[str, dict[tuple[str, str], Route]],
) -> None:
    url, routes = stand_in
    routes["GET", "/api/v1/api-keys"] = (
        503,
        problem(503, "resource-unavailable", "Resource unavailable", "the database is down"),
    )
    app = stand_in_app(url)

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        status = str(app.screen.query_one("#status", Static).content)
        titles = [notification.title for notification in app._notifications]
        routes["GET", "/api/v1/api-keys"] = (200, {"api_keys": [KEY_ROW]})
        await pilot.press("r")
        await settle(pilot)
        rows = app.screen.query_one(KeyTable).row_count

    assert status == (
        "Cannot load the keys. Server unavailable: the database is down. Press r to try again."
    )
    assert titles == ["Server unavailable"]
    assert rows == 1


@run_async
async def test_response_that_is_not_json(
    stand_in: tuple[str, dict[tuple[str, str], Route]],
) -> None:
    url, routes = stand_in
    routes["GET", "/api/v1/api-keys"] = (502, b"<html>Bad Gateway</html>")
    app = stand_in_app(url)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = str(app.screen.query_one("#status", Static).content)

    assert status == (
        "Cannot load the keys. Request failed: the server sent a response that is not JSON."
        " Press r to try again."
    )


@pytest.mark.parametrize(
    ("field", "message_widget"),
    [
        pytest.param("name", "#name-error", id="name"),
        pytest.param("expires_in", "#expiration-error", id="expiration"),
        pytest.param("color", "#form-error", id="unknown-field"),
    ],
)
@run_async
async def test_rejected_field_shown_beside_it(
    stand_in: tuple[str, dict[tuple[str, str], Route]], field: str, message_widget: str
) -> None:
    url, routes = stand_in
    routes["POST", "/api/v1/api-keys"] = (
        422,
        problem(422, "invalid-request", "Invalid request", f"{field} is not accepted", field=field),
    )
    app = stand_in_app(url)

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.press(*"release", "enter")
        await settle(pilot)
        screen = app.screen
        message = str(screen.query_one(message_widget, Static).content)
        kept_name = screen.query_one("#name", Input).value

    assert isinstance(screen, CreateKeyScreen)
    assert message == f"Cannot create the key. Invalid request: {field} is not accepted."
    assert kept_name == "release"


@run_async
async def test_submit_while_creating_sends_once() -> None:
    routes: dict[tuple[str, str], Route] = {
        ("GET", "/api/v1/api-keys"): (200, {"api_keys": []}),
        ("POST", "/api/v1/api-keys"): (201, {"raw_api_key": STAND_IN_KEY, "api_key": KEY_ROW}),
    }
    requests: list[tuple[str, str]] = []
    handler = type(
        "Slow", (StandIn,), {"routes": routes, "requests": requests, "post_delay": [0.5]}
    )

    with serving(handler) as url:
        app = stand_in_app(url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("c", *"ci", "enter")
            await pilot.press("enter", "escape", "ctrl+s")
            button_label = str(app.screen.query_one("#submit", Button).label)
            await settle(pilot)
            shown = str(app.screen.query_one("#raw-key", Static).content)

    assert button_label == "Creating…"
    assert requests.count(("POST", "/api/v1/api-keys")) == 1
    assert shown == STAND_IN_KEY

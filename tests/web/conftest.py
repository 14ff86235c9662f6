"""An in-process browser of the web app over the world's database, on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from oz.server.app import create_app
from tests.support.app import server_state
from tests.support.world import World

PASSWORD = "correct horse battery"
HIDDEN_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    """Return the hidden inputs of a page: its CSRF token and form token."""
    return dict(HIDDEN_FIELD.findall(html))


@dataclass
class Web:
    """A TestClient that keeps cookies like a browser, with form helpers."""

    client: TestClient
    world: World

    def sign_in(
        self, email: str = "owner@example.com", password: str = PASSWORD
    ) -> httpx2.Response:
        page = self.client.get("/sign-in")
        return self.client.post(
            "/sign-in",
            data={**hidden_fields(page.text), "email": email, "password": password},
            follow_redirects=False,
        )

    def submit(self, page_path: str, action: str, **fields: str) -> httpx2.Response:
        """Open `page_path`, then post its hidden fields and `fields` to `action`."""
        page = self.client.get(page_path)
        assert page.status_code == 200, page.text
        data = {**hidden_fields(page.text), **fields}
        return self.client.post(action, data=data, follow_redirects=False)


@pytest.fixture
def web(world: World, tmp_path: Path) -> Iterator[Web]:
    world.set_password(PASSWORD)
    with TestClient(
        create_app(server_state(world, tmp_path)), raise_server_exceptions=False
    ) as client:
        yield Web(client, world)


@pytest.fixture
def signed_in(web: Web) -> Web:
    response = web.sign_in()
    assert response.status_code == 303, response.text
    return web

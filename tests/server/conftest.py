"""An in-process API client over the world's database, on both backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oz.github.context import github_context
from oz.server.app import create_app
from tests.support.app import server_state
from tests.support.world import World


@dataclass
class Api:
    """A TestClient plus the owner's personal key."""

    client: TestClient
    world: World
    owner_key: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.owner_key}"}


@pytest.fixture
def api(world: World, tmp_path: Path) -> Iterator[Api]:
    _, owner_key = world.make_key()
    with TestClient(
        create_app(server_state(world, tmp_path)), raise_server_exceptions=False
    ) as client:
        yield Api(client, world, owner_key)


def use_github(api: Api, url: str, **settings: Any) -> None:
    """Point the server at a GitHub (API and git host) at `url`, with more settings."""
    state = api.client.app.state.oz  # type: ignore[attr-defined]
    state.settings = dataclasses.replace(
        state.settings, github_api_url=url, github_url=url, **settings
    )
    state.github = github_context(state.settings, state.secret)

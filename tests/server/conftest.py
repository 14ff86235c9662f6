"""An in-process API client over the world's database, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

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

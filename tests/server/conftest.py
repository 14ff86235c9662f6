"""An in-process API client over the world's database, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oz.auth.last_used import LastUseRecorder
from oz.auth.verifier import KeyVerifier
from oz.billing.payments import SelfHostedProvider
from oz.billing.reload import Reloader
from oz.config import Settings
from oz.server.app import create_app
from oz.server.state import ServerState
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
    settings = Settings(data_dir=tmp_path, database_url=world.database.url, worker_enabled=False)
    recorder = LastUseRecorder(world.database)
    state = ServerState(
        settings=settings,
        database=world.database,
        secret=world.secret,
        verifier=KeyVerifier(world.database, world.secret, 60, recorder),
        recorder=recorder,
        reloader=Reloader(world.database, SelfHostedProvider(), settings.catalog),
    )
    _, owner_key = world.make_key()
    with TestClient(create_app(state), raise_server_exceptions=False) as client:
        yield Api(client, world, owner_key)

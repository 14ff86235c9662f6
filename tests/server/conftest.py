"""An in-process API client over the world's database, on both backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oz.auth.last_used import LastUseRecorder
from oz.auth.verifier import KeyVerifier
from oz.billing.payments import SelfHostedProvider
from oz.billing.reload import Reloader
from oz.config import Settings
from oz.github.context import github_context
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
        github=github_context(settings, world.secret),
        reloader=Reloader(world.database, SelfHostedProvider(), settings.catalog),
    )
    _, owner_key = world.make_key()
    with TestClient(create_app(state), raise_server_exceptions=False) as client:
        yield Api(client, world, owner_key)


def use_github(api: Api, url: str, **settings: Any) -> None:
    """Point the server at a GitHub (API and git host) at `url`, with more settings."""
    state = api.client.app.state.oz  # type: ignore[attr-defined]
    state.settings = dataclasses.replace(
        state.settings, github_api_url=url, github_url=url, **settings
    )
    state.github = github_context(state.settings, state.secret)

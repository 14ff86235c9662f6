"""The server state of an in-process app over a test world's database."""

from __future__ import annotations

from pathlib import Path

from oz.auth.last_used import LastUseRecorder
from oz.auth.verifier import KeyVerifier
from oz.billing.payments import SelfHostedProvider
from oz.billing.reload import Reloader
from oz.config import Settings
from oz.github.context import github_context
from oz.server.state import ServerState
from tests.support.world import World


def server_state(world: World, data_dir: Path) -> ServerState:
    settings = Settings(data_dir=data_dir, database_url=world.database.url, worker_enabled=False)
    recorder = LastUseRecorder(world.database)
    return ServerState(
        settings=settings,
        database=world.database,
        secret=world.secret,
        verifier=KeyVerifier(world.database, world.secret, 60, recorder),
        recorder=recorder,
        github=github_context(settings, world.secret),
        reloader=Reloader(world.database, SelfHostedProvider(), settings.catalog),
    )

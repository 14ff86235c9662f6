"""Objects of a running server: settings, database, secret, verifier, worker."""

from __future__ import annotations

from dataclasses import dataclass, field

from oz.auth.last_used import LastUseRecorder
from oz.auth.verifier import KeyVerifier
from oz.billing.reload import Reloader
from oz.config import Settings
from oz.db.engine import Database
from oz.github.context import GitHubContext
from oz.runs.heartbeats import HeartbeatSweeper
from oz.runs.worker import EmbeddedWorker


@dataclass
class ServerState:
    settings: Settings
    database: Database
    secret: bytes = field(repr=False)
    verifier: KeyVerifier
    recorder: LastUseRecorder
    github: GitHubContext
    reloader: Reloader | None = None
    worker: EmbeddedWorker | None = None
    sweeper: HeartbeatSweeper | None = None

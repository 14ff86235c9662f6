"""The FastAPI application: REST API under /api/v1, the web app at / and the health check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from oz import __version__
from oz.auth import revocations
from oz.auth.last_used import LastUseRecorder
from oz.auth.verifier import KeyVerifier
from oz.billing.payments import HttpPaymentProvider, PaymentProvider, SelfHostedProvider
from oz.billing.reload import Reloader
from oz.config import Settings
from oz.db.engine import Database
from oz.github.context import github_context
from oz.runs.heartbeats import HeartbeatSweeper
from oz.runs.worker import EmbeddedWorker
from oz.server import oauth_callback, oauth_device, problems
from oz.server.access_log import AccessLogMiddleware
from oz.server.api import (
    agents,
    api_keys,
    billing,
    environments,
    github,
    me,
    runs,
    team,
    workers,
)
from oz.server.state import ServerState
from oz.web import app as web

API_PREFIX = "/api/v1"


def build_state(settings: Settings, *, start_worker: bool | None = None) -> ServerState:
    database = Database(settings.database_url)
    secret = settings.read_secret()
    recorder = LastUseRecorder(database)
    # Processes on this host also learn of revocations through the marker file; other
    # hosts through the database's revocation epoch (see `oz.auth.revocations`).
    marker = revocations.use_marker(settings.data_dir)
    verifier = KeyVerifier(database, secret, settings.auth_cache_seconds, recorder, marker)
    reloader = Reloader(database, payment_provider(settings), settings.catalog)
    github = github_context(settings, secret)
    worker = None
    if settings.worker_enabled if start_worker is None else start_worker:
        worker = EmbeddedWorker(
            database,
            settings.harness,
            catalog=settings.catalog,
            github=github,
            secret=secret,
            reloader=reloader,
            concurrency=settings.worker_concurrency,
            timeout_seconds=settings.run_timeout_seconds,
            workdir=settings.worker_dir,
            worker_id=settings.worker_id,
        )
    sweeper = HeartbeatSweeper(database, settings.worker_heartbeat_timeout_seconds)
    return ServerState(
        settings, database, secret, verifier, recorder, github, reloader, worker, sweeper
    )


def payment_provider(settings: Settings) -> PaymentProvider:
    if settings.payment_provider == "http":
        assert settings.payment_url is not None
        assert settings.payment_secret_key is not None
        return HttpPaymentProvider(settings.payment_url, settings.payment_secret_key)
    return SelfHostedProvider()


def create_app(state: ServerState) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.recorder.start()
        if state.worker is not None:
            state.worker.start()
        if state.sweeper is not None:
            state.sweeper.start()
        try:
            yield
        finally:
            if state.sweeper is not None:
                state.sweeper.stop()
            if state.worker is not None:
                state.worker.stop()
            state.recorder.stop()
            state.verifier.close()
            state.database.dispose()

    app = FastAPI(
        title="oz",
        version=__version__,
        summary="API keys, authentication and attributed agent runs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        # A path with a trailing slash, such as an empty id, is a 404 problem, not a 307.
        redirect_slashes=False,
    )
    app.state.oz = state
    problems.install(app)

    # Routes match in order: the health check and the REST API come before the pages.
    @app.get("/healthz", tags=["health"], summary="Liveness check; needs no credential")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness check: 503 while the database cannot be reached",
    )
    async def readyz() -> dict[str, str]:
        await run_in_threadpool(state.database.ping)
        return {"status": "ready", "version": __version__}

    for module in (me, api_keys, agents, environments, runs, billing, github, team, workers):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(oauth_callback.router)
    app.include_router(oauth_device.router)
    web.install(app)
    app.add_middleware(AccessLogMiddleware)

    return app

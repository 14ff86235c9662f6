"""The comparison endpoints built with keyshield's FastAPI integration, served by uvicorn.

Settings follow keyshield's README (version 2.0.1): an Argon2 hasher with a pepper from
the environment, the SQLAlchemy repository on SQLite through aiosqlite, a session per
request, and `create_depends_api_key` reading `Authorization: Bearer ...`. The service is
`CachedApiKeyService` (keyshield's in-memory cache of verified keys), so a repeated key
skips Argon2. Unlike the README, the table is created once at start-up rather than on
every request.

Environment: KEYSHIELD_DATABASE_URL (sqlite+aiosqlite:///...) and KEYSHIELD_PEPPER.
Serve with `uvicorn keyshield_app:app`; seed keys with `python keyshield_app.py seed`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import aiocache
import argon2
from fastapi import Depends, FastAPI
from keyshield import ApiKey
from keyshield.api import create_depends_api_key
from keyshield.hasher.argon2 import Argon2ApiKeyHasher
from keyshield.repositories.sql import SqlAlchemyApiKeyRepository
from keyshield.services.cached import CachedApiKeyService
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

hasher = Argon2ApiKeyHasher(pepper=os.environ["KEYSHIELD_PEPPER"])
engine = create_async_engine(os.environ["KEYSHIELD_DATABASE_URL"])
session_maker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
# The cache of verified keys outlives requests, so every request's service shares it.
verified_keys = aiocache.SimpleMemoryCache()


async def inject_session() -> AsyncIterator[AsyncSession]:
    async with session_maker() as session, session.begin():
        yield session


async def inject_service(
    session: Annotated[AsyncSession, Depends(inject_session)],
) -> CachedApiKeyService:
    repo = SqlAlchemyApiKeyRepository(session)
    return CachedApiKeyService(repo=repo, hasher=hasher, cache=verified_keys)


security = create_depends_api_key(inject_service)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with session_maker() as session:
        await SqlAlchemyApiKeyRepository(session).ensure_table(async_engine=engine)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/me")
async def me(api_key: Annotated[ApiKey, Depends(security)]) -> dict[str, Any]:
    return {"id": api_key.id_, "name": api_key.name, "scopes": api_key.scopes}


async def seed(total: int, real: int, keys_file: str) -> None:
    """Create `total` keys and write the first `real` of them to `keys_file`.

    Argon2 with keyshield's default parameters takes about 0.1 s per hash here, so only
    the first `real` keys are created by the service with those parameters. The others
    are stored with an Argon2 hash of weaker parameters (one pass over 1 MiB): they are
    distinct, verifiable rows for the lookup by key id to search, and are never sent.
    """
    async with session_maker() as session:
        await SqlAlchemyApiKeyRepository(session).ensure_table(async_engine=engine)
    filler_hasher = Argon2ApiKeyHasher(
        pepper=os.environ["KEYSHIELD_PEPPER"],
        password_hasher=argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    raw_keys = []
    async with session_maker() as session, session.begin():
        repo = SqlAlchemyApiKeyRepository(session)
        service = CachedApiKeyService(repo=repo, hasher=hasher)
        for index in range(real):
            _entity, raw = await service.create(name=f"bench-{index}")
            raw_keys.append(raw)
        filler = CachedApiKeyService(repo=repo, hasher=filler_hasher)
        for index in range(real, total):
            await filler.create(name=f"bench-{index}")
    with open(keys_file, "w", encoding="utf-8") as output:
        output.writelines(f"Bearer {raw}\n" for raw in raw_keys)


if __name__ == "__main__" and sys.argv[1:2] == ["seed"]:
    asyncio.run(seed(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))

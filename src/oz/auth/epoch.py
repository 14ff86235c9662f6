"""Read the revocation epoch for cached keys, one read shared by concurrent requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import URL
from sqlalchemy.dialects import postgresql

from oz.auth.revocations import EPOCH_QUERY
from oz.errors import UpstreamUnavailable

if TYPE_CHECKING:
    import psycopg

# Seconds to wait for a PostgreSQL connection before the request fails with 503.
CONNECT_TIMEOUT_SECONDS = 5

UNREACHABLE_MESSAGE = "the database cannot be reached, so the API key cannot be checked: retry"


class EpochReader:
    """Read the database's revocation epoch for requests on the event loop.

    A request may only trust a read that started after the request did: a delete that
    returned before the request began has then committed, and the read returns its epoch.
    A request that arrives while a read is in flight therefore waits for the next read,
    which starts as soon as that one ends. Under load, one round trip serves every
    request that arrived during the previous one, instead of one round trip each.

    Use it from one event loop at a time. When `read_epoch` raises, every request
    waiting on that read gets the error.
    """

    def __init__(self, read_epoch: Callable[[], Awaitable[int]]) -> None:
        self._read_epoch = read_epoch
        self._next: asyncio.Future[int] | None = None  # the read that starts next
        self._in_flight: asyncio.Task[None] | None = None
        self.reads = 0

    async def read(self) -> int:
        future = self._next
        if future is None:
            future = self._next = asyncio.get_running_loop().create_future()
            # Retrieve an error even when every waiter was cancelled.
            future.add_done_callback(lambda done: done.cancelled() or done.exception())
            if self._in_flight is None:
                self._start()
        # A cancelled request must not cancel the read that others wait for.
        return await asyncio.shield(future)

    def _start(self) -> None:
        future, self._next = self._next, None
        assert future is not None
        self._in_flight = asyncio.ensure_future(self._run(future))

    async def _run(self, future: asyncio.Future[int]) -> None:
        self.reads += 1
        try:
            value = await self._read_epoch()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:  # every waiter gets the same error
            future.set_exception(exc)
        else:
            future.set_result(value)
        finally:
            self._in_flight = None
            if self._next is not None:
                self._start()


class PostgresEpoch:
    """Read the epoch over one autocommit connection of its own, without a thread.

    `EpochReader` runs one read at a time, so one connection serves a whole replica. A
    failed read closes it, and the next read connects again.
    """

    def __init__(self, url: URL) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        self._query = str(
            EPOCH_QUERY.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        )
        self._connection: psycopg.AsyncConnection[tuple[int]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def read(self) -> int:
        import psycopg

        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a connection cannot move between event loops
            self.close()
            self._loop = loop
        try:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
                )
            cursor = await self._connection.execute(self._query)
            row = await cursor.fetchone()
        except psycopg.Error:
            self.close()
            raise UpstreamUnavailable(UNREACHABLE_MESSAGE) from None
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self._connection is not None:
            # Closes the socket without the event loop, which may be gone already.
            self._connection.pgconn.finish()
            self._connection = None

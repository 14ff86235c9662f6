"""Epoch reads shared by concurrent requests: each request trusts only a later read."""

from __future__ import annotations

import asyncio

import pytest

from oz.auth.epoch import EpochReader
from oz.errors import UpstreamUnavailable


class SlowEpoch:
    """A database epoch whose reads wait until released, numbered in start order."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()
        self.release.set()

    async def read(self) -> int:
        self.started += 1
        number = self.started
        await asyncio.wait_for(self.release.wait(), 5)
        return number


def test_shared_read_serves_waiting_requests() -> None:
    epoch = SlowEpoch()
    reader = EpochReader(epoch.read)

    async def scenario() -> list[int]:
        epoch.release.clear()
        first = asyncio.ensure_future(reader.read())
        await asyncio.sleep(0.05)  # the first read is in flight
        waiting = [asyncio.ensure_future(reader.read()) for _ in range(50)]
        await asyncio.sleep(0.05)
        epoch.release.set()
        return [await first, *await asyncio.gather(*waiting)]

    values = asyncio.run(scenario())

    assert values[0] == 1
    # Requests that arrived during read 1 may have begun after it did: they use read 2.
    assert set(values[1:]) == {2}
    assert reader.reads == 2


def test_read_started_earlier_is_not_used() -> None:
    epoch = SlowEpoch()
    reader = EpochReader(epoch.read)

    async def scenario() -> tuple[int, int]:
        epoch.release.clear()
        early = asyncio.ensure_future(reader.read())
        await asyncio.sleep(0.05)
        late = asyncio.ensure_future(reader.read())
        await asyncio.sleep(0.05)
        epoch.release.set()
        return await early, await late

    early, late = asyncio.run(scenario())

    assert (early, late) == (1, 2)


def test_read_error_reaches_every_waiter() -> None:
    async def unreachable() -> int:
        raise UpstreamUnavailable("the database cannot be reached")

    reader = EpochReader(unreachable)

    async def scenario() -> list[BaseException | int]:
        return await asyncio.gather(*(reader.read() for _ in range(5)), return_exceptions=True)

    results = asyncio.run(scenario())

    assert all(isinstance(result, UpstreamUnavailable) for result in results)


def test_cancelled_waiter_keeps_shared_read() -> None:
    epoch = SlowEpoch()
    reader = EpochReader(epoch.read)

    async def scenario() -> int:
        epoch.release.clear()
        in_flight = asyncio.ensure_future(reader.read())
        await asyncio.sleep(0.05)
        cancelled = asyncio.ensure_future(reader.read())
        other = asyncio.ensure_future(reader.read())  # both wait for read 2
        await asyncio.sleep(0.05)
        cancelled.cancel()
        epoch.release.set()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        await in_flight
        return await other

    assert asyncio.run(scenario()) == 2

"""Drive Textual apps headless with `App.run_test()` from plain pytest tests.

The suite has no asyncio plugin, so `run_async` runs an async test with `asyncio.run`.
It does so in a thread of its own, because Playwright's sync API, which the browser
tests use, keeps an event loop running in the main thread for the rest of the session.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot

from tests.support.browser import ARTIFACTS_DIR

# Rounds of waiting for workers: a worker's result can start another (a create reloads
# the list), so one round may not be enough.
MAX_SETTLE_ROUNDS = 20


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Turn an async test into a sync one that still takes the test's fixtures."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pilot") as executor:
            executor.submit(lambda: asyncio.run(test(*args, **kwargs))).result()

    return run


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until no worker runs and every pending message is handled."""
    for _ in range(MAX_SETTLE_ROUNDS):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(worker.is_running for worker in pilot.app.workers):
            return
    raise AssertionError(f"workers still running after {MAX_SETTLE_ROUNDS} rounds")


def save_screenshot(app: App[Any], name: str, *secrets: str) -> Path:
    """Save an SVG of the screen in test-artifacts/settings/, with each secret masked."""
    directory = ARTIFACTS_DIR / "settings"
    directory.mkdir(parents=True, exist_ok=True)
    path = Path(app.save_screenshot(name, path=str(directory)))
    text = path.read_text()
    for secret in secrets:
        text = text.replace(secret, secret[:3] + "•" * (len(secret) - 3))
    path.write_text(text)
    return path

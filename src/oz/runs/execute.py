"""Execute a started run in a working directory: set up its environment, then the harness.

The embedded worker and `oz worker` both call this, so a run behaves the same wherever it
executes. Tokens of the run are replaced by `***` in what the harness printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from oz.errors import OzError
from oz.github.credentials import RunCredentials, status_message
from oz.harness.runner import HarnessOutcome, HarnessSpec, child_environment, run_harness
from oz.runs import states
from oz.runs.environments import RunEnvironment
from oz.runs.workspace import SetupCancelled, prepare


def execute_in(
    workdir: Path,
    *,
    harness: HarnessSpec,
    prompt: str,
    environment: RunEnvironment,
    credentials: RunCredentials,
    github_url: str,
    timeout_seconds: float,
    extra_env: Mapping[str, str],
    should_cancel: Callable[[], bool],
) -> HarnessOutcome:
    """Clone and set up `environment` in `workdir`, then run the harness there."""
    started = time.monotonic()
    try:
        prepare(
            workdir,
            repos=environment.repos,
            setup_commands=environment.setup_commands,
            github_url=github_url,
            env=child_environment(extra_env),
            deadline=started + timeout_seconds,
            should_cancel=should_cancel,
        )
    except SetupCancelled:
        cancelled = {"message": "Cancelled while its environment was set up"}
        return HarnessOutcome(states.CANCELLED, cancelled, "", 0.0)
    except OzError as error:
        return HarnessOutcome(states.FAILED, status_message(error), "", 0.0)

    outcome = run_harness(
        harness,
        prompt,
        workdir,
        timeout_seconds=max(1.0, timeout_seconds - (time.monotonic() - started)),
        should_cancel=should_cancel,
        extra_env=extra_env,
    )
    return HarnessOutcome(
        outcome.state,
        {
            key: credentials.scrub(value) if isinstance(value, str) else value
            for key, value in outcome.status_message.items()
        },
        credentials.scrub(outcome.output),
        outcome.seconds,
    )

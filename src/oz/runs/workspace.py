"""Prepare a run's working directory from its environment: clone, then set up.

Each repository is cloned into a directory of its name with the run's credentials (git's
credential helper, from the environment), then the setup commands run in order with
`sh -c` in the working directory. The first step that fails ends the run FAILED with
`environment_setup_failed`, naming the step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from oz.errors import EnvironmentSetupFailed
from oz.harness.runner import describe_exit, run_process


class SetupCancelled(Exception):
    """The run was cancelled, or the server stopped, while its environment was set up."""


def prepare(
    workdir: Path,
    *,
    repos: Sequence[str],
    setup_commands: Sequence[str],
    github_url: str,
    env: Mapping[str, str],
    deadline: float,
    should_cancel: Callable[[], bool],
) -> None:
    """Clone `repos` and run `setup_commands` in `workdir`; raise EnvironmentSetupFailed."""
    steps: list[tuple[str, list[str]]] = []
    for repo in repos:
        directory = repo.split("/", 1)[1]
        argv = ["git", "clone", "--quiet", "--", f"{github_url}/{repo}.git", directory]
        steps.append((f"cloning {repo}", argv))
    for index, command in enumerate(setup_commands, start=1):
        steps.append((f"setup command {index} ({command!r})", ["sh", "-c", command]))

    for step, argv in steps:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EnvironmentSetupFailed(f"{step} did not start: the run's time limit passed")
        result = run_process(
            argv,
            workdir,
            env=env,
            stdin=None,
            timeout_seconds=remaining,
            should_cancel=should_cancel,
        )
        if result.reason == "cancelled":
            raise SetupCancelled(step)
        if result.reason == "not started":
            raise EnvironmentSetupFailed(f"{step} could not start: {result.start_error}")
        if result.reason == "timeout":
            raise EnvironmentSetupFailed(f"{step} did not finish within the run's time limit")
        if result.returncode != 0:
            reason = describe_exit(argv[0], result.returncode or 0, result.stderr)
            # git's credential helper explains a refusal on a line of its own.
            refusal = [line for line in result.stderr.splitlines() if line.startswith("oz: ")]
            if refusal:
                reason = f"{reason} ({refusal[0].removeprefix('oz: ')})"
            raise EnvironmentSetupFailed(f"{step} failed: {reason}")

"""Run an agent harness as a child process, with cancellation and a time limit.

Two harnesses exist:

- `builtin`: oz's offline repository report (`python -m oz.harness.builtin`);
- `command`: any agent program. It receives the prompt in the `OZ_PROMPT` environment
  variable and on standard input, and `{prompt}` in its arguments is replaced by the
  prompt. Exit status 0 ends the run SUCCEEDED; any other status or a signal ends it
  ERROR with `agent_process_failed`.

The child never inherits oz's own credentials (`WARP_API_KEY`, `OZ_SECRET`,
`OZ_DATABASE_URL`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WITHHELD_VARIABLES = ("WARP_API_KEY", "OZ_SECRET", "OZ_DATABASE_URL")
POLL_SECONDS = 0.25
KILL_GRACE_SECONDS = 3.0
STDERR_TAIL_CHARS = 2000


@dataclass(frozen=True)
class HarnessSpec:
    """The harness that runs an agent: `builtin`, or `command` with its argument list."""

    kind: str = "builtin"
    command: tuple[str, ...] = ()

    def argv(self, prompt: str) -> list[str]:
        if self.kind == "builtin":
            return [sys.executable, "-m", "oz.harness.builtin"]
        return [part.replace("{prompt}", prompt) for part in self.command]


@dataclass(frozen=True)
class HarnessOutcome:
    """The end of a harness process, as run state and status message."""

    state: str
    status_message: dict[str, Any]
    output: str
    seconds: float


@dataclass(frozen=True)
class ProcessResult:
    """The end of a child process: `reason` is None, "cancelled", "timeout" or "not started"."""

    returncode: int | None
    stdout: str
    stderr: str
    reason: str | None
    seconds: float
    start_error: str = ""


def child_environment(extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment of a run's processes: ours without oz's credentials, plus
    `extra_env`."""
    env = {k: v for k, v in os.environ.items() if k not in WITHHELD_VARIABLES}
    env.update(extra_env or {})
    return env


def run_process(
    argv: Sequence[str],
    workdir: Path,
    *,
    env: Mapping[str, str],
    stdin: str | None,
    timeout_seconds: float,
    should_cancel: Callable[[], bool] = lambda: False,
) -> ProcessResult:
    """Run `argv` in its own process group until it exits, is cancelled or times out."""
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=workdir,
            env=dict(env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        return ProcessResult(None, "", "", "not started", 0.0, str(exc))
    stdout, stderr, reason = _wait(process, stdin, timeout_seconds, should_cancel)
    return ProcessResult(process.returncode, stdout, stderr, reason, time.monotonic() - started)


def run_harness(
    spec: HarnessSpec,
    prompt: str,
    workdir: Path,
    *,
    timeout_seconds: float,
    should_cancel: Callable[[], bool] = lambda: False,
    extra_env: Mapping[str, str] | None = None,
) -> HarnessOutcome:
    """Run the harness in `workdir` until it exits, is cancelled or times out."""
    env = child_environment(extra_env)
    env["OZ_PROMPT"] = prompt
    argv = spec.argv(prompt)
    result = run_process(
        argv,
        workdir,
        env=env,
        stdin=prompt,
        timeout_seconds=timeout_seconds,
        should_cancel=should_cancel,
    )
    if result.reason == "not started":
        return HarnessOutcome(
            "ERROR",
            {
                "message": f"could not start the agent program {argv[0]!r}: {result.start_error}",
                "error_code": "agent_process_failed",
                "retryable": False,
            },
            "",
            0.0,
        )
    if result.reason == "cancelled":
        return HarnessOutcome(
            "CANCELLED", {"message": "Cancelled while running"}, result.stdout, result.seconds
        )
    if result.reason == "timeout":
        return _failed(
            f"the agent did not finish within {timeout_seconds:g} s", result.stdout, result.seconds
        )
    if result.returncode == 0:
        return HarnessOutcome(
            "SUCCEEDED", {"message": "Agent finished"}, result.stdout, result.seconds
        )
    return _failed(
        describe_exit("the agent process", result.returncode or 0, result.stderr),
        _with_stderr(result.stdout, result.stderr),
        result.seconds,
    )


def _wait(
    process: subprocess.Popen[str],
    prompt: str | None,
    timeout_seconds: float,
    should_cancel: Callable[[], bool],
) -> tuple[str, str, str | None]:
    deadline = time.monotonic() + timeout_seconds
    stdin: str | None = prompt
    while True:
        try:
            stdout, stderr = process.communicate(input=stdin, timeout=POLL_SECONDS)
            return stdout, stderr, None
        except subprocess.TimeoutExpired:
            # communicate() may be called again after a timeout without losing output;
            # the input was already sent by the first call.
            stdin = None
        if should_cancel():
            return (*_stop(process), "cancelled")
        if time.monotonic() > deadline:
            return (*_stop(process), "timeout")


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Terminate the harness's process group, then kill it after a grace period."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            return process.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return "", ""


def describe_exit(what: str, returncode: int, stderr: str) -> str:
    """Say how a process ended, with the last line it wrote to standard error."""
    if returncode < 0:
        reason = f"{what} was killed by signal {signal.Signals(-returncode).name}"
    else:
        reason = f"{what} exited with status {returncode}"
    last_line = next((line for line in reversed(stderr.splitlines()) if line.strip()), "")
    return f"{reason}: {last_line.strip()}" if last_line else reason


def _with_stderr(stdout: str, stderr: str) -> str:
    if not stderr.strip():
        return stdout
    return f"{stdout}\n--- stderr ---\n{stderr[-STDERR_TAIL_CHARS:]}"


def _failed(message: str, output: str, seconds: float) -> HarnessOutcome:
    return HarnessOutcome(
        "ERROR",
        {"message": message, "error_code": "agent_process_failed", "retryable": False},
        output,
        seconds,
    )


def spec_from_env(environ: Mapping[str, str], default: Sequence[str] = ()) -> HarnessSpec:
    """Read `OZ_HARNESS` and `OZ_HARNESS_COMMAND`; raise ValueError naming a bad one."""
    import shlex

    kind = environ.get("OZ_HARNESS", "builtin")
    if kind not in ("builtin", "command"):
        raise ValueError(f"OZ_HARNESS must be builtin or command, got {kind!r}")
    try:
        command = tuple(shlex.split(environ.get("OZ_HARNESS_COMMAND", ""))) or tuple(default)
    except ValueError as exc:
        raise ValueError(
            f"OZ_HARNESS_COMMAND cannot be split into arguments: {exc}; check its quotes"
        ) from None
    if kind == "command" and not command:
        raise ValueError("OZ_HARNESS_COMMAND is required when OZ_HARNESS=command")
    return HarnessSpec(kind, command)

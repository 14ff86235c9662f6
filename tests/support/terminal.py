"""Run a program in a pseudo-terminal, as a person at a terminal would."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

READ_SIZE = 65536
POLL_SECONDS = 0.1


@dataclass
class TerminalRun:
    returncode: int | None
    screen: bytes
    seen: bool


def run_in_terminal(
    command: list[str | Path],
    env: dict[str, str],
    *,
    wait_for: bytes,
    keys: bytes,
    size: tuple[int, int] = (140, 36),
    timeout: float = 20.0,
) -> TerminalRun:
    """Start `command` on a new pseudo-terminal of `size` (columns, lines), wait until its
    output contains `wait_for`, type `keys`, and wait for it to exit.

    The process is killed if it is still running after `timeout` seconds in all.
    """
    controller, terminal = pty.openpty()
    columns, lines = size
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    process = subprocess.Popen(
        command,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**env, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while wait_for not in output and process.poll() is None and time.monotonic() < deadline:
            output += _read(controller)
        seen = wait_for in output
        if seen:
            os.write(controller, keys)
        while process.poll() is None and time.monotonic() < deadline:
            output += _read(controller)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(controller)
    return TerminalRun(process.returncode, output, seen)


def _read(controller: int) -> bytes:
    ready, _, _ = select.select([controller], [], [], POLL_SECONDS)
    if not ready:
        return b""
    try:
        return os.read(controller, READ_SIZE)
    except OSError:  # EIO: the program closed the terminal
        time.sleep(POLL_SECONDS)
        return b""

"""oz's built-in offline agent harness.

It needs no language model and sends no network traffic. Every prompt is
treated as a request to analyze the repository in the current working
directory, and the output is a static report of that repository.

Usage: OZ_PROMPT='Summarize this repository' python -m oz.harness.builtin
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from oz.harness.report import render_report, scan_repository

PROMPT_VARIABLE = "OZ_PROMPT"


def main(argv: list[str] | None = None) -> int:
    """Print a report of the current directory for the prompt in OZ_PROMPT.

    Returns 0 on success, 1 if the directory cannot be scanned and 2 if the
    prompt is missing or the command line is invalid.
    """
    _parse_arguments(argv)

    prompt = os.environ.get(PROMPT_VARIABLE)
    if prompt is None or not prompt.strip():
        state = "not set" if prompt is None else "empty"
        print(
            f"error: the environment variable {PROMPT_VARIABLE} is {state}. "
            f"Set it to the prompt text, for example: "
            f"{PROMPT_VARIABLE}='Summarize this repository' "
            f"python -m oz.harness.builtin",
            file=sys.stderr,
        )
        return 2

    root = Path.cwd()
    try:
        report = scan_repository(root)
    except OSError as error:
        print(f"error: failed to scan {root}: {error}", file=sys.stderr)
        return 1

    sys.stdout.write(render_report(report, prompt))
    return 0


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m oz.harness.builtin",
        description=(
            "Print a static report of the repository in the current directory. "
            f"The prompt is read from the environment variable {PROMPT_VARIABLE} "
            "and echoed at the top. No language model is used."
        ),
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())

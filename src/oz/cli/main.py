"""Entry point of `oz`; `oz --version` prints the version before any library is imported."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from oz import __version__

        sys.stdout.write(f"oz {__version__}\n")
        return

    from oz.cli.app import run

    sys.exit(run())

"""git's credential helper inside a run: prints the run's token for the repository.

git runs `python -m oz.github.git_credential get` with `protocol`, `host` and `path`
lines on standard input. The helper prints `username=x-access-token` and the token of
the repository's owner from `OZ_GIT_TOKENS`, or, in a run without credentials, prints
the reason from `OZ_GIT_REFUSAL` to standard error and prints nothing, so git stops.
"""

from __future__ import annotations

import json
import os
import sys


def _request(lines: list[str]) -> dict[str, str]:
    fields = {}
    for line in lines:
        key, sep, value = line.rstrip("\n").partition("=")
        if sep:
            fields[key] = value
    return fields


def main(argv: list[str]) -> int:
    if argv[:1] != ["get"]:
        return 0  # "store" and "erase": nothing is kept
    request = _request(sys.stdin.readlines())
    try:
        tokens = json.loads(os.environ.get("OZ_GIT_TOKENS") or "{}")
    except ValueError:
        tokens = {}
    owner = request.get("path", "").split("/", 1)[0].lower()
    token = tokens.get(owner) or tokens.get("*")
    if not token:
        reason = os.environ.get("OZ_GIT_REFUSAL") or (
            f"this run's GitHub identity has no access to repositories of {owner!r}"
        )
        print(f"oz: {reason}", file=sys.stderr)
        return 0
    sys.stdout.write(f"username=x-access-token\npassword={token}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

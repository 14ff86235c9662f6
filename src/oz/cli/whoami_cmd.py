"""`oz whoami`."""

from __future__ import annotations

import argparse
from typing import Any

from oz.cli.context import CliContext
from oz.cli.output import emit_object


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "whoami",
        parents=[common],
        help="Show who the API key acts as, and where the key came from.",
        description="Show who the API key acts as, and where the key came from.",
    )
    parser.set_defaults(handler=whoami)


def whoami(context: CliContext, _args: argparse.Namespace) -> int:
    me = context.call("GET", "/me")
    me["api_key_source"] = context.api_key_source
    principal = f"{me['type']}:{me['uid']}"
    if context.output_format == "text":
        emit_object("text", me, principal)
        return 0
    teams = ", ".join(me.get("team_names") or []) or "none"
    lines = [
        principal,
        f"  name:    {me['display_name']}",
        *([f"  email:   {me['email']}"] if me.get("email") else []),
        f"  teams:   {teams}",
        f"  API key: from {context.api_key_source}",
    ]
    emit_object(context.output_format, me, "\n".join(lines))
    return 0

"""`oz whoami`."""

from __future__ import annotations

import click

from oz.cli.context import get_context
from oz.cli.output import emit_object


@click.command()
def whoami() -> None:
    """Show who the API key acts as, and where the key came from."""
    context = get_context()
    me = context.call("GET", "/me")
    me["api_key_source"] = context.api_key_source
    principal = f"{me['type']}:{me['uid']}"
    if context.output_format == "text":
        emit_object("text", me, principal)
        return
    teams = ", ".join(me.get("team_names") or []) or "none"
    lines = [
        principal,
        f"  name:    {me['display_name']}",
        *([f"  email:   {me['email']}"] if me.get("email") else []),
        f"  teams:   {teams}",
        f"  API key: from {context.api_key_source}",
    ]
    emit_object(context.output_format, me, "\n".join(lines))

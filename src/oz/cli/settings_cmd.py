"""`oz settings`: the full-screen terminal app for API keys (see `oz.settings_app`)."""

from __future__ import annotations

import argparse
from typing import Any

from oz.cli.context import EXIT_USAGE, CliContext, CliError, is_interactive


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "settings",
        parents=[common],
        help="Manage API keys in a full-screen terminal app.",
        description="Open Settings > Cloud platform > Oz Cloud API Keys in a full-screen"
        " terminal app: list, sort, create (personal or agent) and delete API keys. It"
        " signs in like every other command: --api-key, WARP_API_KEY, or `oz login`.",
    )
    parser.set_defaults(handler=open_settings)


def open_settings(context: CliContext, _args: argparse.Namespace) -> int:
    """Check the credential and the server, then run the app until the user quits.

    The checks come first so that a missing or rejected credential and an unreachable
    server fail with the same message and exit status as every other command.
    """
    client = context.client()
    document = context.call("GET", "/api-keys")
    if not is_interactive():
        raise CliError(
            "`oz settings` is a full-screen app and needs a terminal on standard input"
            " and output. In scripts, use `oz api-key list`, `create` and `expire`",
            EXIT_USAGE,
        )

    # Textual is imported here only, so that other commands start without it.
    from oz.settings_app.api import KeyRow, SettingsApi
    from oz.settings_app.app import SettingsApp

    rows = [KeyRow.from_json(row) for row in document["api_keys"]]
    app = SettingsApp(SettingsApi(client, context.api_key_source), rows)
    app.run()
    return app.return_code or 0

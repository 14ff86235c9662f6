"""`oz github`: your connected GitHub account, and your team's enabled organizations."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from oz.cli.context import EXIT_USAGE, CliContext, CliError, is_interactive, segment, team_query
from oz.cli.output import Column, emit_object, emit_rows, info, when

ORG_COLUMNS: list[Column] = [
    ("Organization", lambda org: org["org"]),
    ("Installation", lambda org: str(org["installation_id"])),
    ("Enabled", lambda org: when(org["enabled_at"])),
]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "github",
        help="Connect your GitHub account; enable GitHub organizations for agents.",
        description="Runs of personal keys act on GitHub as your connected account. Runs of"
        " agent keys act as the server's GitHub App on organizations a team admin enabled.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    status = actions.add_parser("status", parents=[common], help="Show your connected account.")
    status.set_defaults(handler=show_account)

    connect = actions.add_parser(
        "connect",
        parents=[common],
        help="Connect your GitHub account in the browser, or with a token on stdin.",
    )
    source = connect.add_mutually_exclusive_group()
    source.add_argument(
        "--token-stdin",
        action="store_true",
        help="read a GitHub token from standard input instead of signing in on GitHub",
    )
    source.add_argument(
        "--code",
        metavar="CODE",
        help="finish with the code the approval page showed, such as BCDF-GHJK-LMNP",
    )
    connect.set_defaults(handler=connect_account)

    disconnect = actions.add_parser(
        "disconnect", parents=[common], help="Disconnect your GitHub account."
    )
    disconnect.set_defaults(handler=disconnect_account)

    org = actions.add_parser("org", help="Organizations enabled for the team's agent runs.")
    org_actions = org.add_subparsers(dest="org_action", metavar="ACTION", required=True)
    listing = org_actions.add_parser("list", parents=[common], help="List enabled organizations.")
    listing.add_argument("--team", metavar="UID", help="team (your first team)")
    listing.set_defaults(handler=list_orgs)
    enable = org_actions.add_parser(
        "enable",
        parents=[common],
        help="Enable an organization that has the GitHub App installed (team admins).",
    )
    enable.add_argument("org", metavar="ORG", type=org_login)
    enable.add_argument("--team", metavar="UID", help="team (your first team)")
    enable.add_argument(
        "--installation-id", type=int, metavar="ID", help="check it is the App's installation"
    )
    enable.set_defaults(handler=enable_org)
    disable = org_actions.add_parser(
        "disable", parents=[common], help="Disable an organization (team admins)."
    )
    disable.add_argument("org", metavar="ORG", type=org_login)
    disable.add_argument("--team", metavar="UID", help="team (your first team)")
    disable.set_defaults(handler=disable_org)


def org_login(text: str) -> str:
    """Argument type of organization names: a GitHub login, not a URL or a path."""
    import re

    value = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}", value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a GitHub organization login: use its name as in"
            " https://github.com/ORG"
        )
    return value


def _account_text(account: dict[str, Any]) -> str:
    if not account["connected"]:
        return "No GitHub account is connected. Connect one: oz github connect"
    name = f" ({account['name']})" if account.get("name") else ""
    return f"Connected to GitHub as {account['login']}{name} since {when(account['connected_at'])}."


def show_account(context: CliContext, _args: argparse.Namespace) -> int:
    account = context.call("GET", "/github/account")
    emit_object(context.output_format, account, _account_text(account))
    return 0


def connect_account(context: CliContext, args: argparse.Namespace) -> int:
    if args.code is not None:
        return _confirm(context, args.code)
    if args.token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise CliError("no token on standard input: pipe one GitHub token", EXIT_USAGE)
        return _show(context, context.call("PUT", "/github/account", body={"token": token}))

    try:
        started = context.call("POST", "/github/account/authorization")
    except CliError as exc:
        if exc.code != "feature_not_available" or not is_interactive():
            raise
        import getpass

        token = getpass.getpass("This server signs in to GitHub with tokens. GitHub token: ")
        return _show(context, context.call("PUT", "/github/account", body={"token": token.strip()}))

    info(f"Open this page to connect GitHub, within ten minutes:\n\n  {started['auth_url']}\n")
    info("After you approve, the page shows a code. Paste it here to finish.")
    if is_interactive():
        sys.stderr.write("Code: ")
        sys.stderr.flush()
    code = sys.stdin.readline().strip()
    if not code:
        raise CliError(
            "no code entered: after approving, run `oz github connect --code CODE` with the"
            " code the page shows",
            EXIT_USAGE,
        )
    return _confirm(context, code)


def _confirm(context: CliContext, code: str) -> int:
    return _show(context, context.call("POST", "/github/account/confirmation", body={"code": code}))


def _show(context: CliContext, account: dict[str, Any]) -> int:
    emit_object(context.output_format, account, _account_text(account))
    return 0


def disconnect_account(context: CliContext, _args: argparse.Namespace) -> int:
    context.call("DELETE", "/github/account")
    emit_object(
        context.output_format,
        {"connected": False},
        "Disconnected your GitHub account. Its token is deleted from this server; revoke it"
        " on GitHub too if you no longer use it.",
    )
    return 0


def list_orgs(context: CliContext, args: argparse.Namespace) -> int:
    document = context.call("GET", f"/github/orgs{team_query(args.team)}")
    if not document["app_configured"] and context.output_format == "pretty":
        info("This server has no GitHub App, so agent runs have no GitHub credentials.")
    emit_rows(
        context.output_format,
        document["orgs"],
        ORG_COLUMNS,
        json_document=document,
        title="Enabled GitHub organizations",
    )
    return 0


def enable_org(context: CliContext, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {}
    if args.team:
        body["team"] = args.team
    if args.installation_id is not None:
        body["installation_id"] = args.installation_id
    org = context.call("PUT", f"/github/orgs/{segment(args.org)}", body=body)
    emit_object(
        context.output_format,
        org,
        f"Enabled {org['org']} (installation {org['installation_id']}): agent runs act on its"
        " repositories as the GitHub App.",
    )
    return 0


def disable_org(context: CliContext, args: argparse.Namespace) -> int:
    context.call("DELETE", f"/github/orgs/{segment(args.org)}{team_query(args.team)}")
    emit_object(
        context.output_format,
        {"org": args.org, "enabled": False},
        f"Disabled {args.org}: agent runs no longer get tokens for it.",
    )
    return 0

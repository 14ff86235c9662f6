"""`oz environment`: repositories and setup commands that cloud runs start from."""

from __future__ import annotations

import argparse
from typing import Any

from oz.cli.context import (
    EXIT_USAGE,
    CliContext,
    CliError,
    confirm_unless_forced,
    identifier,
    segment,
)
from oz.cli.output import Column, emit_object, emit_rows, when

ENVIRONMENT_COLUMNS: list[Column] = [
    ("UID", lambda environment: environment["uid"]),
    ("Name", lambda environment: environment["name"]),
    ("Repositories", lambda environment: ", ".join(environment["repos"]) or "none"),
    ("Setup commands", lambda environment: str(len(environment["setup_commands"]))),
    ("Updated", lambda environment: when(environment["updated_at"])),
]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "environment",
        help="Manage environments: repositories and setup commands of cloud runs.",
        description="Manage environments. A cloud run started with `-e ENV` clones the"
        " environment's repositories with the run's GitHub identity, then runs its setup"
        " commands in order, before the agent starts.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", parents=[common], help="Create an environment.")
    create.add_argument("--name", required=True, help="name, unique in the team")
    create.add_argument("--description", help="what the environment is for")
    _add_contents(create)
    create.add_argument("--team", metavar="UID", help="team to create it in (your first team)")
    create.set_defaults(handler=create_environment)

    listing = actions.add_parser("list", parents=[common], help="List your teams' environments.")
    listing.set_defaults(handler=list_environments)

    get = actions.add_parser("get", parents=[common], help="Show an environment.")
    get.add_argument("uid", metavar="UID", type=identifier)
    get.set_defaults(handler=get_environment)

    update = actions.add_parser(
        "update",
        parents=[common],
        help="Change an environment; given lists replace the old ones.",
    )
    update.add_argument("uid", metavar="UID", type=identifier)
    update.add_argument("--name", help="new name")
    update.add_argument("--description", help="new description")
    _add_contents(update)
    update.add_argument("--clear-repos", action="store_true", help="remove every repository")
    update.add_argument(
        "--clear-setup-commands", action="store_true", help="remove every setup command"
    )
    update.set_defaults(handler=update_environment)

    delete = actions.add_parser("delete", parents=[common], help="Delete an environment.")
    delete.add_argument("uid", metavar="UID", type=identifier)
    delete.add_argument("--force", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=delete_environment)


def _add_contents(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-r",
        "--repo",
        dest="repos",
        action="append",
        metavar="OWNER/REPO",
        help="GitHub repository to clone; repeat for more",
    )
    parser.add_argument(
        "-c",
        "--setup-command",
        dest="setup_commands",
        action="append",
        metavar="COMMAND",
        help="shell command run after cloning; repeat for more, run in order",
    )


def _describe(environment: dict[str, Any]) -> str:
    lines = [f"{environment['name']} ({environment['uid']})"]
    if environment.get("description"):
        lines.append(f"  description: {environment['description']}")
    lines.append("  repositories:")
    lines += [f"    {repo}" for repo in environment["repos"]] or ["    none"]
    lines.append("  setup commands:")
    commands = environment["setup_commands"]
    lines += [f"    {index}. {command}" for index, command in enumerate(commands, 1)] or [
        "    none"
    ]
    lines.append(f"  updated:     {when(environment['updated_at'])}")
    return "\n".join(lines)


def create_environment(context: CliContext, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {
        "name": args.name,
        "repos": args.repos or [],
        "setup_commands": args.setup_commands or [],
    }
    if args.description:
        body["description"] = args.description
    if args.team:
        body["team"] = args.team
    created = context.call("POST", "/agent/environments", body=body)
    emit_object(
        context.output_format,
        created,
        f"Created environment {created['name']!r} ({created['uid']}).\n"
        f"Run in it: oz agent run-cloud -e {created['uid']} -p PROMPT",
    )
    return 0


def list_environments(context: CliContext, _args: argparse.Namespace) -> int:
    document = context.call("GET", "/agent/environments")
    emit_rows(
        context.output_format,
        document["environments"],
        ENVIRONMENT_COLUMNS,
        json_document=document,
        title="Environments",
    )
    return 0


def get_environment(context: CliContext, args: argparse.Namespace) -> int:
    found = context.call("GET", f"/agent/environments/{segment(args.uid)}")
    emit_object(context.output_format, found, _describe(found))
    return 0


def update_environment(context: CliContext, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {}
    for field in ("name", "description", "repos", "setup_commands"):
        if getattr(args, field) is not None:
            body[field] = getattr(args, field)
    if args.clear_repos:
        if args.repos:
            raise CliError("give --repo or --clear-repos, not both", EXIT_USAGE)
        body["repos"] = []
    if args.clear_setup_commands:
        if args.setup_commands:
            raise CliError("give --setup-command or --clear-setup-commands, not both", EXIT_USAGE)
        body["setup_commands"] = []
    if not body:
        raise CliError(
            "nothing to change: give --name, --description, --repo, -c, --clear-repos or"
            " --clear-setup-commands",
            EXIT_USAGE,
        )
    updated = context.call("PUT", f"/agent/environments/{segment(args.uid)}", body=body)
    emit_object(context.output_format, updated, _describe(updated))
    return 0


def delete_environment(context: CliContext, args: argparse.Namespace) -> int:
    confirm_unless_forced(
        args.force,
        "deleting an environment",
        f"Delete environment {args.uid}? Queued runs that use it will fail.",
    )
    context.call("DELETE", f"/agent/environments/{segment(args.uid)}")
    emit_object(
        context.output_format,
        {"uid": args.uid, "deleted": True},
        f"Deleted environment {args.uid}.",
    )
    return 0

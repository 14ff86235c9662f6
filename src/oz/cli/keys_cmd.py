"""`oz api-key list|create|expire`."""

from __future__ import annotations

import argparse
from typing import Any

from oz.cli.context import (
    CliContext,
    CliError,
    choose,
    confirm_unless_forced,
    identifier,
    is_interactive,
    segment,
)
from oz.cli.output import Column, emit_object, emit_rows, warn, when

SORT_CHOICES = ("name", "created-at", "last-used-at", "expires-at", "scope")


def scope_label(row: dict[str, Any]) -> str:
    """Return `Agent: NAME` or `Personal: EMAIL`, as the web app and `oz settings` show."""
    scope = row["scope"]
    kind = "Agent" if scope["type"] == "agent" else "Personal"
    return f"{kind}: {scope['name']}"


def _expired_mark(expires_at: str | None) -> str:
    if expires_at is None:
        return ""
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    return " (expired)" if moment <= datetime.now(UTC) else ""


KEY_COLUMNS: list[Column] = [
    ("UID", lambda row: row["uid"]),
    ("Name", lambda row: row["name"]),
    ("Key", lambda row: f"wk-**{row['key_suffix']}"),
    ("Scope", scope_label),
    ("Created", lambda row: when(row["created_at"])),
    ("Last used", lambda row: when(row["last_used_at"])),
    ("Expires at", lambda row: when(row["expires_at"]) + _expired_mark(row["expires_at"])),
]


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    fields = ("uid", "name", "key_suffix", "scope", "created_at", "last_used_at", "expires_at")
    return {name: row[name] for name in fields}


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "api-key", help="Create, list and expire API keys.", description="Manage API keys."
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list", parents=[common], help="List your personal keys and your teams' agent keys."
    )
    listing.add_argument(
        "--sort-by", choices=SORT_CHOICES, default="created-at", help="column to sort by"
    )
    listing.set_defaults(handler=list_keys)

    create = actions.add_parser(
        "create", parents=[common], help="Create an API key. The key is shown once."
    )
    create.add_argument("name", metavar="NAME", help="name of the key, 1 to 100 characters")
    expiry = create.add_mutually_exclusive_group(required=True)
    expiry.add_argument(
        "--expires-in", metavar="DURATION", help="lifetime such as 90m, 12h, 1d, 30d or 90d"
    )
    expiry.add_argument(
        "--expires-at", metavar="RFC3339", help="expiry time, such as 2030-01-31T12:00:00Z"
    )
    expiry.add_argument("--no-expiration", action="store_true", help="the key never expires")
    create.add_argument(
        "--agent",
        dest="agent_uid",
        metavar="UID",
        type=identifier,
        help="create an agent key that acts as this cloud agent",
    )
    create.set_defaults(handler=create_key)

    for name, aliases in (("expire", ["delete"]),):
        expire = actions.add_parser(
            name,
            aliases=aliases,
            parents=[common],
            help="Expire (delete) a key by uid or name, at once and for good.",
        )
        expire.add_argument("name_or_uid", metavar="NAME_OR_UID", type=identifier)
        expire.add_argument("--force", action="store_true", help="do not ask for confirmation")
        expire.set_defaults(handler=expire_key)


def list_keys(context: CliContext, args: argparse.Namespace) -> int:
    document = context.call("GET", "/api-keys", query={"sort_by": args.sort_by})
    rows = [json_row(row) for row in document["api_keys"]]
    emit_rows(context.output_format, rows, KEY_COLUMNS, title="API keys")
    return 0


def create_key(context: CliContext, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"name": args.name, "type": "agent" if args.agent_uid else "personal"}
    if args.agent_uid:
        body["agent_uid"] = args.agent_uid
    if args.expires_at:
        body["expires_at"] = args.expires_at
    else:
        body["expires_in"] = "never" if args.no_expiration else args.expires_in

    created = context.call("POST", "/api-keys", body=body)
    result = {"raw_api_key": created["raw_api_key"], "api_key": json_row(created["api_key"])}
    if context.output_format == "text":
        emit_object("text", result, created["raw_api_key"])
        return 0
    if context.output_format != "pretty":
        emit_object(context.output_format, result)
        return 0
    key = created["api_key"]
    print(
        f"Created API key {key['name']!r} ({key['uid']}), scope {scope_label(key)},"
        f" expires {when(key['expires_at'])}."
    )
    warn("This is the only time the key is shown. Store it in a secret manager now.")
    print(created["raw_api_key"])
    return 0


def expire_key(context: CliContext, args: argparse.Namespace) -> int:
    rows = context.call("GET", "/api-keys")["api_keys"]
    key = _pick(rows, args.name_or_uid)
    confirm_unless_forced(
        args.force,
        f"expiring {key['name']!r} ({key['uid']})",
        f"Expire {key['name']!r} ({key['uid']}, wk-**{key['key_suffix']})? It stops"
        " working at once and cannot be undone",
    )
    result = context.call("DELETE", f"/api-keys/{segment(key['uid'])}")
    emit_object(context.output_format, result, f"Expired {key['name']!r} ({key['uid']}).")
    return 0


def _pick(rows: list[dict[str, Any]], name_or_uid: str) -> dict[str, Any]:
    """Find a key by exact uid, then by name; ask which when several share the name."""
    for row in rows:
        if row["uid"] == name_or_uid:
            return row
    matches = [row for row in rows if row["name"] == name_or_uid]
    if not matches:
        raise CliError(
            f"no API key with uid or name {name_or_uid!r}: see `oz api-key list`",
            5,
            "resource_not_found",
        )
    if len(matches) == 1:
        return matches[0]

    listing = "\n".join(
        f"  {index}. {row['uid']}  wk-**{row['key_suffix']}  created {when(row['created_at'])}"
        for index, row in enumerate(matches, start=1)
    )
    if not is_interactive():
        raise CliError(
            f"{len(matches)} keys are named {name_or_uid!r}; expire one by uid:\n{listing}"
        )
    print(f"{len(matches)} keys are named {name_or_uid!r}:\n{listing}")
    return matches[choose("Which one", len(matches))]

"""`oz api-key list|create|expire`."""

from __future__ import annotations

from typing import Any

import click

from oz.cli.context import CliError, get_context, is_interactive
from oz.cli.output import Column, emit_object, emit_rows, warn, when

SORT_CHOICES = ("name", "created-at", "last-used-at", "expires-at", "scope")


def scope_label(row: dict[str, Any]) -> str:
    scope = row["scope"]
    return f"{scope['name']} (agent)" if scope["type"] == "agent" else scope["name"]


KEY_COLUMNS: list[Column] = [
    ("UID", lambda row: row["uid"]),
    ("Name", lambda row: row["name"]),
    ("Key", lambda row: f"wk-**{row['key_suffix']}"),
    ("Scope", scope_label),
    ("Created", lambda row: when(row["created_at"])),
    ("Last used", lambda row: when(row["last_used_at"])),
    ("Expires at", lambda row: when(row["expires_at"])),
]


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    fields = ("uid", "name", "key_suffix", "scope", "created_at", "last_used_at", "expires_at")
    return {name: row[name] for name in fields}


@click.group("api-key")
def api_key() -> None:
    """Create, list and expire API keys."""


@api_key.command("list")
@click.option(
    "--sort-by",
    type=click.Choice(SORT_CHOICES),
    default="created-at",
    show_default=True,
    help="Column to sort by.",
)
def list_keys(sort_by: str) -> None:
    """List your personal keys and your teams' agent keys."""
    context = get_context()
    rows = [
        json_row(row)
        for row in context.call("GET", "/api-keys", query={"sort_by": sort_by})["api_keys"]
    ]
    emit_rows(context.output_format, rows, KEY_COLUMNS, title="API keys")


@api_key.command("create")
@click.argument("name")
@click.option("--expires-in", metavar="DURATION", help="Lifetime such as 90m, 12h, 1d, 30d or 90d.")
@click.option("--expires-at", metavar="RFC3339", help="Expiry time, such as 2030-01-31T12:00:00Z.")
@click.option("--no-expiration", is_flag=True, help="The key never expires.")
@click.option(
    "--agent", "agent_uid", metavar="UID", help="Create an agent key that acts as this cloud agent."
)
def create_key(
    name: str,
    expires_in: str | None,
    expires_at: str | None,
    no_expiration: bool,
    agent_uid: str | None,
) -> None:
    """Create an API key named NAME. The key is shown once."""
    chosen = [
        flag
        for flag, value in (
            ("--expires-in", expires_in),
            ("--expires-at", expires_at),
            ("--no-expiration", no_expiration),
        )
        if value
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --expires-in, --expires-at and --no-expiration"
            + (f" (got {' and '.join(chosen)})" if chosen else "")
        )
    body: dict[str, Any] = {"name": name, "type": "agent" if agent_uid else "personal"}
    if agent_uid:
        body["agent_uid"] = agent_uid
    if expires_at:
        body["expires_at"] = expires_at
    else:
        body["expires_in"] = "never" if no_expiration else expires_in

    context = get_context()
    created = context.call("POST", "/api-keys", body=body)
    result = {"raw_api_key": created["raw_api_key"], "api_key": json_row(created["api_key"])}
    if context.output_format == "text":
        emit_object("text", result, created["raw_api_key"])
        return
    if context.output_format != "pretty":
        emit_object(context.output_format, result)
        return
    key = created["api_key"]
    click.echo(
        f"Created API key {key['name']!r} ({key['uid']}), scope {scope_label(key)},"
        f" expires {when(key['expires_at'])}."
    )
    warn("This is the only time the key is shown. Store it in a secret manager now.")
    click.echo(created["raw_api_key"])


@api_key.command("expire")
@click.argument("name_or_uid")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
def expire_key(name_or_uid: str, force: bool) -> None:
    """Expire (delete) a key by uid or name, at once and for good."""
    context = get_context()
    rows = context.call("GET", "/api-keys")["api_keys"]
    key = _pick(rows, name_or_uid)
    if not force:
        if not is_interactive():
            raise CliError(
                f"expiring {key['name']!r} ({key['uid']}) needs confirmation: pass --force"
                " when no terminal is attached"
            )
        click.confirm(
            f"Expire {key['name']!r} ({key['uid']}, wk-**{key['key_suffix']})? It stops"
            " working at once and cannot be undone",
            abort=True,
        )
    result = context.call("DELETE", f"/api-keys/{key['uid']}")
    emit_object(context.output_format, result, f"Expired {key['name']!r} ({key['uid']}).")


def _pick(rows: list[dict[str, Any]], name_or_uid: str) -> dict[str, Any]:
    """Find a key by exact uid, then by name; ask which when several share the name."""
    for row in rows:
        if row["uid"] == name_or_uid:
            return row
    matches = [row for row in rows if row["name"] == name_or_uid]
    if not matches:
        raise CliError(f"no API key with uid or name {name_or_uid!r}", 5)
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
    click.echo(f"{len(matches)} keys are named {name_or_uid!r}:\n{listing}")
    choice = click.prompt("Which one", type=click.IntRange(1, len(matches)))
    return matches[choice - 1]


api_key.add_command(expire_key, "delete")

"""`oz credits` and `oz credits ledger`."""

from __future__ import annotations

import argparse
from typing import Any

from oz.cli.context import CliContext, page_limit
from oz.cli.output import Column, credits_text, emit_object, emit_rows, when

POOL_COLUMNS: list[Column] = [
    ("Pool", lambda pool: pool["pool"] + (f" ({pool['cycle']})" if pool.get("cycle") else "")),
    ("Plan", lambda pool: pool.get("plan") or ""),
    ("Remaining", lambda pool: credits_text(pool["credits_remaining"])),
    ("Granted", lambda pool: credits_text(pool["credits_granted"])),
    (
        "Expires at",
        lambda pool: when(pool["expires_at"]) + (" (expired)" if pool["expired"] else ""),
    ),
]
LEDGER_COLUMNS: list[Column] = [
    ("ID", lambda entry: str(entry["id"])),
    ("Time", lambda entry: when(entry["created_at"])),
    ("Pool", lambda entry: entry["pool"]),
    ("Credits", lambda entry: credits_text(entry["credits"])),
    ("Reason", lambda entry: entry["reason"]),
    ("Run", lambda entry: entry["run_id"] or ""),
    (
        "Attributed to",
        lambda entry: (
            f"{entry['attributed']['type']}:{entry['attributed']['uid']}"
            if entry["attributed"]
            else ""
        ),
    ),
]


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "credits",
        parents=[common],
        help="Show your credit pools; `oz credits ledger` shows the ledger.",
        description="Show the credit pools that pay for your usage.",
    )
    group.set_defaults(handler=show_balances)
    actions = group.add_subparsers(dest="action", metavar="ACTION")
    entries = actions.add_parser(
        "ledger", parents=[common], help="Show ledger entries billed or attributed to you."
    )
    entries.add_argument(
        "-L", "--limit", type=page_limit, default=50, help="entries per page, 1 to 500 (default 50)"
    )
    entries.add_argument("--before", type=int, help="next_before of the previous page")
    entries.set_defaults(handler=show_ledger)
    buy = actions.add_parser(
        "buy",
        parents=[common],
        help="Buy an add-on pack for yourself, valid 12 months.",
    )
    buy.add_argument(
        "pack", type=int, choices=(400, 1000, 3000, 6500), help="credits: 400, 1000, 3000, 6500"
    )
    buy.set_defaults(handler=buy_pack)


def show_balances(context: CliContext, _args: argparse.Namespace) -> int:
    document = context.call("GET", "/billing/balances")
    if context.output_format in ("json", "ndjson") or "teams" not in document:
        emit_object(
            context.output_format,
            document,
            f"{credits_text(document['available_credits'])} credits available,"
            f" billed to {document['billed']['type']} {document['billed']['uid']}",
        )
        return 0
    emit_rows(context.output_format, document["pools"], POOL_COLUMNS, title="Credit pools")
    if context.output_format == "pretty":
        for team in document.get("teams", []):
            print(
                f"Available for runs in {team['team_name']} ({team['plan']}):"
                f" {credits_text(team['available_credits'])} credits"
            )
    return 0


def show_ledger(context: CliContext, args: argparse.Namespace) -> int:
    document = context.call(
        "GET", "/billing/ledger", query={"limit": args.limit, "before": args.before}
    )
    emit_rows(
        context.output_format,
        document["entries"],
        LEDGER_COLUMNS,
        json_document=document,
        title="Ledger",
    )
    next_before = document["page_info"]["next_before"]
    if next_before is not None and context.output_format == "pretty":
        print(f"Older entries: oz credits ledger --before {next_before}")
    return 0


def buy_pack(context: CliContext, args: argparse.Namespace) -> int:
    purchase = context.call("POST", "/billing/purchases", body={"credits": args.pack})
    emit_object(
        context.output_format,
        purchase,
        f"Bought {purchase['credits']} credits for ${purchase['usd']:g}"
        f" (lot {purchase['lot_uid']}).",
    )
    return 0

"""`oz run list|get|cancel`."""

from __future__ import annotations

import argparse
from typing import Any

from oz.cli.context import CliContext, identifier, page_limit, segment
from oz.cli.output import emit_object, emit_rows
from oz.cli.runs_view import RUN_COLUMNS, emit_run

STATES = (
    "QUEUED",
    "PENDING",
    "CLAIMED",
    "INPROGRESS",
    "SUCCEEDED",
    "FAILED",
    "BLOCKED",
    "ERROR",
    "CANCELLED",
)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("run", help="Inspect and cancel runs.", description="Runs.")
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list", parents=[common], help="List runs of your teams, most recently updated first."
    )
    listing.add_argument(
        "--state",
        dest="run_states",
        action="append",
        type=str.upper,
        choices=STATES,
        default=[],
        help="only runs in this state; repeat for several",
    )
    listing.add_argument(
        "-L", "--limit", type=page_limit, default=20, help="runs per page, 1 to 500 (default 20)"
    )
    listing.add_argument("--cursor", help="next_cursor of the previous page")
    listing.set_defaults(handler=list_runs)

    get = actions.add_parser("get", parents=[common], help="Show a run, with its output.")
    get.add_argument("run_id", metavar="RUN_ID", type=identifier)
    get.set_defaults(handler=get_run)

    cancel = actions.add_parser(
        "cancel", parents=[common], help="Cancel a queued or running cloud run."
    )
    cancel.add_argument("run_id", metavar="RUN_ID", type=identifier)
    cancel.set_defaults(handler=cancel_run)


def list_runs(context: CliContext, args: argparse.Namespace) -> int:
    query = {"state": args.run_states, "limit": args.limit, "cursor": args.cursor}
    page = context.call("GET", "/agent/runs", query=query)
    emit_rows(context.output_format, page["runs"], RUN_COLUMNS, json_document=page, title="Runs")
    next_cursor = page["page_info"].get("next_cursor")
    if next_cursor and context.output_format == "pretty":
        print(f"More runs: oz run list --cursor {next_cursor}")
    return 0


def get_run(context: CliContext, args: argparse.Namespace) -> int:
    emit_run(context.output_format, context.call("GET", f"/agent/runs/{segment(args.run_id)}"))
    return 0


def cancel_run(context: CliContext, args: argparse.Namespace) -> int:
    result = context.call("POST", f"/agent/runs/{segment(args.run_id)}/cancel")
    emit_object(
        context.output_format, {"run_id": result, "cancelled": True}, f"Cancelled run {result}."
    )
    return 0

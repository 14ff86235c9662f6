"""`oz run list|get|cancel`."""

from __future__ import annotations

import click

from oz.cli.context import get_context
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


@click.group("run")
def run_group() -> None:
    """Inspect and cancel runs."""


@run_group.command("list")
@click.option(
    "--state",
    "run_states",
    multiple=True,
    type=click.Choice(STATES),
    help="Only runs in this state; repeat for several.",
)
@click.option(
    "-L",
    "--limit",
    type=click.IntRange(1, 500),
    default=20,
    show_default=True,
    help="Runs per page.",
)
@click.option("--cursor", help="next_cursor of the previous page.")
def list_runs(run_states: tuple[str, ...], limit: int, cursor: str | None) -> None:
    """List runs of your teams, most recently updated first."""
    context = get_context()
    page = context.call(
        "GET", "/agent/runs", query={"state": list(run_states), "limit": limit, "cursor": cursor}
    )
    emit_rows(context.output_format, page["runs"], RUN_COLUMNS, json_document=page, title="Runs")
    next_cursor = page["page_info"].get("next_cursor")
    if next_cursor and context.output_format == "pretty":
        click.echo(f"More runs: oz run list --cursor {next_cursor}")


@run_group.command("get")
@click.argument("run_id")
def get_run(run_id: str) -> None:
    """Show a run, with its output."""
    context = get_context()
    emit_run(context.output_format, context.call("GET", f"/agent/runs/{run_id}"))


@run_group.command("cancel")
@click.argument("run_id")
def cancel_run(run_id: str) -> None:
    """Cancel a queued or running cloud run."""
    context = get_context()
    result = context.call("POST", f"/agent/runs/{run_id}/cancel")
    emit_object(
        context.output_format, {"run_id": result, "cancelled": True}, f"Cancelled run {result}."
    )

"""`oz agent`: run agents locally or in the cloud, and manage cloud agents."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import click

from oz.cli.context import CliError, get_context, is_interactive
from oz.cli.output import Column, emit_object, emit_rows, when
from oz.cli.runs_view import TERMINAL_STATES, emit_run, exit_for

POLL_SECONDS = 1.0

AGENT_COLUMNS: list[Column] = [
    ("UID", lambda agent: agent["uid"]),
    ("Name", lambda agent: agent["name"] + (" (default)" if agent.get("is_default") else "")),
    ("Description", lambda agent: agent.get("description") or ""),
    ("Created", lambda agent: when(agent["created_at"])),
]


@click.group()
def agent() -> None:
    """Run agents and manage cloud agents."""


@agent.command("run")
@click.option("-p", "--prompt", required=True, help="What the agent should do.")
@click.option("--title", help="Run title; defaults to the prompt's first line.")
def run_local(prompt: str, title: str | None) -> None:
    """Run an agent locally, in the current directory, and record the run.

    The harness is oz's built-in offline one unless OZ_HARNESS=command and
    OZ_HARNESS_COMMAND name another agent program.
    """
    from oz.harness.runner import run_harness, spec_from_env

    context = get_context()
    try:
        spec = spec_from_env(os.environ)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    body: dict[str, Any] = {"prompt": prompt, "source": "LOCAL", "execution_location": "LOCAL"}
    if title:
        body["title"] = title
    started = context.call("POST", "/agent/runs", body=body)
    run_id = started["run_id"]
    if context.output_format == "pretty":
        click.echo(f"Run {run_id} started locally in {Path.cwd()}", err=True)

    try:
        outcome = run_harness(spec, prompt, Path.cwd(), timeout_seconds=24 * 3600)
        report: dict[str, Any] = {
            "state": outcome.state,
            "status_message": outcome.status_message,
            "output": outcome.output,
        }
    except KeyboardInterrupt:
        report = {"state": "CANCELLED", "status_message": {"message": "Interrupted by the user"}}
    run = context.call("POST", f"/agent/runs/{run_id}/report", body=report)
    emit_run(context.output_format, run)
    exit_for(run)


@agent.command("run-cloud")
@click.option("-p", "--prompt", required=True, help="What the agent should do.")
@click.option(
    "--agent",
    "agent_uid",
    metavar="UID",
    help="Run as this cloud agent: usage is attributed to it.",
)
@click.option("-e", "--environment", metavar="ENV", help="Environment id to run in.")
@click.option("--host", metavar="WORKER_ID", help="Self-hosted worker that must run it.")
@click.option("--title", help="Run title; defaults to the prompt's first line.")
@click.option("--wait", is_flag=True, help="Wait for the run to end and show its output.")
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=3600,
    show_default=True,
    help="Seconds to wait with --wait.",
)
def run_cloud(
    prompt: str,
    agent_uid: str | None,
    environment: str | None,
    host: str | None,
    title: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Queue a run for a worker."""
    context = get_context()
    config = {
        key: value
        for key, value in (("environment_id", environment), ("worker_host", host))
        if value
    }
    body: dict[str, Any] = {"prompt": prompt, "source": "CLI", "config": config}
    if agent_uid:
        body["agent_identity_uid"] = agent_uid
    if title:
        body["title"] = title
    started = context.call("POST", "/agent/runs", body=body)
    if not wait:
        emit_object(
            context.output_format,
            started,
            f"Queued run {started['run_id']}. Follow it: oz run get {started['run_id']}",
        )
        return

    if context.output_format == "pretty":
        click.echo(f"Queued run {started['run_id']}; waiting for a worker...", err=True)
    deadline = time.monotonic() + timeout
    while True:
        run = context.call("GET", f"/agent/runs/{started['run_id']}")
        if run["state"] in TERMINAL_STATES:
            break
        if time.monotonic() > deadline:
            raise CliError(f"run {started['run_id']} is still {run['state']} after {timeout:g} s")
        time.sleep(POLL_SECONDS)
    emit_run(context.output_format, run)
    exit_for(run)


@agent.command("list")
def list_agents() -> None:
    """List your teams' cloud agents."""
    context = get_context()
    document = context.call("GET", "/agent/identities")
    emit_rows(
        context.output_format,
        document["agents"],
        AGENT_COLUMNS,
        json_document=document,
        title="Cloud agents",
    )


@agent.command("get")
@click.argument("uid")
def get_agent(uid: str) -> None:
    """Show a cloud agent."""
    context = get_context()
    found = context.call("GET", f"/agent/identities/{uid}")
    emit_object(
        context.output_format,
        found,
        f"{found['name']} ({found['uid']})\n  created: {when(found['created_at'])}",
    )


@agent.command("create")
@click.option("--name", required=True, help="Name of the cloud agent.")
@click.option("--description", help="What the agent is for.")
def create_agent(name: str, description: str | None) -> None:
    """Create a cloud agent (a service account of your team)."""
    context = get_context()
    body = {"name": name, **({"description": description} if description else {})}
    created = context.call("POST", "/agent/identities", body=body)
    emit_object(
        context.output_format,
        created,
        f"Created cloud agent {created['name']!r} ({created['uid']}).",
    )


@agent.command("delete")
@click.argument("uid")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
def delete_agent(uid: str, force: bool) -> None:
    """Delete a cloud agent and every API key bound to it."""
    context = get_context()
    if not force:
        if not is_interactive():
            raise CliError(
                "deleting a cloud agent needs confirmation: pass --force when no"
                " terminal is attached"
            )
        click.confirm(f"Delete cloud agent {uid} and every API key bound to it?", abort=True)
    context.call("DELETE", f"/agent/identities/{uid}")
    emit_object(
        context.output_format,
        {"uid": uid, "deleted": True},
        f"Deleted cloud agent {uid} and its API keys.",
    )

"""`oz agent`: run agents locally or in the cloud, and manage cloud agents."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from oz.cli.context import (
    EXIT_USAGE,
    CliContext,
    CliError,
    confirm_unless_forced,
    identifier,
    segment,
)
from oz.cli.output import Column, emit_object, emit_rows, info, when
from oz.cli.runs_view import TERMINAL_STATES, emit_run, exit_status

POLL_SECONDS = 1.0
LOCAL_TIMEOUT_SECONDS = 24 * 3600

AGENT_COLUMNS: list[Column] = [
    ("UID", lambda agent: agent["uid"]),
    ("Name", lambda agent: agent["name"] + (" (default)" if agent.get("is_default") else "")),
    ("Description", lambda agent: agent.get("description") or ""),
    ("Created", lambda agent: when(agent["created_at"])),
]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 second, got {text!r}")
    return value


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "agent",
        help="Run agents and manage cloud agents.",
        description="Run agents and manage cloud agents.",
    )
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)

    local = actions.add_parser(
        "run",
        parents=[common],
        help="Run an agent here, in the current directory, and record the run.",
        description="Run an agent locally, in the current directory, and record the run."
        " The harness is oz's built-in offline one unless OZ_HARNESS=command and"
        " OZ_HARNESS_COMMAND name another agent program.",
    )
    local.add_argument("-p", "--prompt", required=True, help="what the agent should do")
    local.add_argument("--title", help="run title; defaults to the prompt's first line")
    local.set_defaults(handler=run_local)

    cloud = actions.add_parser("run-cloud", parents=[common], help="Queue a run for a worker.")
    cloud.add_argument("-p", "--prompt", required=True, help="what the agent should do")
    cloud.add_argument(
        "--agent", dest="agent_uid", metavar="UID", type=identifier, help="run as this cloud agent"
    )
    cloud.add_argument(
        "-e", "--environment", metavar="ENV", type=identifier, help="environment id to run in"
    )
    cloud.add_argument(
        "--host", metavar="WORKER_ID", type=identifier, help="self-hosted worker that must run it"
    )
    cloud.add_argument("--title", help="run title; defaults to the prompt's first line")
    cloud.add_argument(
        "--wait", action="store_true", help="wait for the run to end and show its output"
    )
    cloud.add_argument(
        "--timeout", type=_seconds, default=3600.0, help="seconds to wait with --wait (3600)"
    )
    cloud.set_defaults(handler=run_cloud)

    listing = actions.add_parser("list", parents=[common], help="List your teams' cloud agents.")
    listing.set_defaults(handler=list_agents)

    get = actions.add_parser("get", parents=[common], help="Show a cloud agent.")
    get.add_argument("uid", metavar="UID", type=identifier)
    get.set_defaults(handler=get_agent)

    create = actions.add_parser(
        "create", parents=[common], help="Create a cloud agent (a service account of your team)."
    )
    create.add_argument("--name", required=True, help="name of the cloud agent")
    create.add_argument("--description", help="what the agent is for")
    create.set_defaults(handler=create_agent)

    delete = actions.add_parser(
        "delete", parents=[common], help="Delete a cloud agent and every API key bound to it."
    )
    delete.add_argument("uid", metavar="UID", type=identifier)
    delete.add_argument("--force", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=delete_agent)


def run_local(context: CliContext, args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from oz.harness.runner import run_harness, spec_from_env
    from oz.runs.usage_feed import USAGE_FILE_VARIABLE, UsageFeed

    try:
        spec = spec_from_env(os.environ)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    body: dict[str, Any] = {
        "prompt": args.prompt,
        "source": "LOCAL",
        "execution_location": "LOCAL",
    }
    if args.title:
        body["title"] = args.title
    started = context.call("POST", "/agent/runs", body=body)
    run_id = started["run_id"]
    if context.output_format == "pretty":
        info(f"Run {run_id} started locally in {Path.cwd()}")

    relay = _UsageRelay(context, run_id)
    try:
        with tempfile.TemporaryDirectory(prefix="oz-usage-") as usage_dir:
            relay.feed = UsageFeed(Path(usage_dir) / "usage.jsonl", run_id)
            outcome = run_harness(
                spec,
                args.prompt,
                Path.cwd(),
                timeout_seconds=LOCAL_TIMEOUT_SECONDS,
                should_cancel=relay.poll,
                extra_env={USAGE_FILE_VARIABLE: str(relay.feed.path)},
            )
            relay.send()
        if relay.ended is not None:
            emit_run(context.output_format, relay.ended)
            return exit_status(relay.ended)
        report: dict[str, Any] = {
            "state": outcome.state,
            "status_message": outcome.status_message,
            "output": outcome.output,
        }
    except KeyboardInterrupt:
        report = {"state": "CANCELLED", "status_message": {"message": "Interrupted by the user"}}
    run = context.call("POST", f"/agent/runs/{segment(run_id)}/report", body=report)
    emit_run(context.output_format, run)
    return exit_status(run)


class _UsageRelay:
    """Send the usage a local harness writes to the server while it works.

    When the server ends the run (its credits ran out), `poll` returns True so the
    harness is stopped, and `ended` is the run as the server recorded it.
    """

    def __init__(self, context: CliContext, run_id: str) -> None:
        self._context = context
        self._run_id = run_id
        self._last = time.monotonic()
        self.feed: Any = None
        self.ended: dict[str, Any] | None = None

    def poll(self) -> bool:
        if time.monotonic() - self._last < POLL_SECONDS:
            return False
        self._last = time.monotonic()
        return self.send()

    def send(self) -> bool:
        if self.feed is None or self.ended is not None:
            return self.ended is not None
        for line in self.feed.read_new():
            answer = self._context.call(
                "POST",
                f"/agent/runs/{segment(self._run_id)}/usage",
                body={
                    "report_id": line.report_id,
                    "inference_cost": line.inference_cost,
                    "compute_cost": line.compute_cost,
                },
            )
            if answer["state"] in TERMINAL_STATES:
                self.ended = self._context.call("GET", f"/agent/runs/{segment(self._run_id)}")
                return True
        return False


def run_cloud(context: CliContext, args: argparse.Namespace) -> int:
    config = {
        key: value
        for key, value in (("environment_id", args.environment), ("worker_host", args.host))
        if value
    }
    body: dict[str, Any] = {"prompt": args.prompt, "source": "CLI", "config": config}
    if args.agent_uid:
        body["agent_identity_uid"] = args.agent_uid
    if args.title:
        body["title"] = args.title
    started = context.call("POST", "/agent/runs", body=body)
    run_id = started["run_id"]
    if not args.wait:
        emit_object(
            context.output_format,
            started,
            f"Queued run {run_id}. Follow it: oz run get {run_id}",
        )
        return 0

    if context.output_format == "pretty":
        info(f"Queued run {run_id}; waiting for a worker...")
    deadline = time.monotonic() + args.timeout
    while True:
        run = context.call("GET", f"/agent/runs/{segment(run_id)}")
        if run["state"] in TERMINAL_STATES:
            break
        if time.monotonic() > deadline:
            raise CliError(
                f"run {run_id} is still {run['state']} after {args.timeout:g} s: follow it"
                f" with `oz run get {run_id}` or stop it with `oz run cancel {run_id}`"
            )
        time.sleep(POLL_SECONDS)
    emit_run(context.output_format, run)
    return exit_status(run)


def list_agents(context: CliContext, _args: argparse.Namespace) -> int:
    document = context.call("GET", "/agent/identities")
    emit_rows(
        context.output_format,
        document["agents"],
        AGENT_COLUMNS,
        json_document=document,
        title="Cloud agents",
    )
    return 0


def get_agent(context: CliContext, args: argparse.Namespace) -> int:
    found = context.call("GET", f"/agent/identities/{segment(args.uid)}")
    lines = [
        f"{found['name']} ({found['uid']})" + (" (default)" if found.get("is_default") else "")
    ]
    if found.get("description"):
        lines.append(f"  description: {found['description']}")
    lines.append(f"  created:     {when(found['created_at'])}")
    text = "\n".join(lines)
    emit_object(context.output_format, found, text)
    return 0


def create_agent(context: CliContext, args: argparse.Namespace) -> int:
    body = {"name": args.name, **({"description": args.description} if args.description else {})}
    created = context.call("POST", "/agent/identities", body=body)
    emit_object(
        context.output_format,
        created,
        f"Created cloud agent {created['name']!r} ({created['uid']}).",
    )
    return 0


def delete_agent(context: CliContext, args: argparse.Namespace) -> int:
    confirm_unless_forced(
        args.force,
        "deleting a cloud agent",
        f"Delete cloud agent {args.uid} and every API key bound to it?",
    )
    context.call("DELETE", f"/agent/identities/{segment(args.uid)}")
    emit_object(
        context.output_format,
        {"uid": args.uid, "deleted": True},
        f"Deleted cloud agent {args.uid} and its API keys.",
    )
    return 0

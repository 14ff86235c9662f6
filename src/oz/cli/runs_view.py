"""Terminal rendering of runs."""

from __future__ import annotations

from typing import Any

from oz.cli.output import Column, credits_text, emit_object, when

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "ERROR", "CANCELLED")


def creator_label(run: dict[str, Any]) -> str:
    creator = run.get("creator") or {}
    if creator.get("type") == "service_account":
        return f"service_account {creator.get('display_name')}"
    return f"user {creator.get('email') or creator.get('display_name')}"


RUN_COLUMNS: list[Column] = [
    ("Run ID", lambda run: run["run_id"]),
    ("Title", lambda run: run["title"]),
    ("State", lambda run: run["state"]),
    ("Creator", creator_label),
    ("Source", lambda run: run.get("source") or ""),
    ("Where", lambda run: run.get("execution_location") or ""),
    ("Created", lambda run: when(run["created_at"])),
]


def _where(run: dict[str, Any]) -> str:
    return "locally" if run.get("execution_location") == "LOCAL" else "by a worker"


def github_label(run: dict[str, Any]) -> str:
    identity = run.get("github_identity") or {}
    if identity.get("type") == "user":
        return f"user {identity.get('login')}"
    if identity.get("type") == "app":
        return f"GitHub App on {identity.get('org')}"
    return "none"


def describe(run: dict[str, Any], with_output: bool = True) -> str:
    status = run.get("status_message") or {}
    usage = run.get("request_usage") or {}
    lines = [
        f"Run {run['run_id']}: {run['state']}",
        f"  title:    {run['title']}",
        f"  creator:  {creator_label(run)}",
        f"  scope:    {(run.get('scope') or {}).get('type')} {(run.get('scope') or {}).get('uid')}",
        f"  source:   {run.get('source')}, executed {_where(run)}",
        f"  github:   {github_label(run)}",
        f"  created:  {when(run['created_at'])}",
    ]
    if status.get("message"):
        code = f" [{status['error_code']}]" if status.get("error_code") else ""
        lines.append(f"  status:   {status['message']}{code}")
        if status.get("inaccessible_repos"):
            lines.append(f"  repos:    {', '.join(status['inaccessible_repos'])} unreachable")
        if status.get("auth_url"):
            lines.append(f"  connect:  {status['auth_url']}")
    lines.append(
        f"  usage:    inference {credits_text(usage.get('inference_cost', 0))},"
        f" compute {credits_text(usage.get('compute_cost', 0))} credits"
    )
    if with_output and run.get("output"):
        lines += ["", run["output"].rstrip()]
    return "\n".join(lines)


def emit_run(output_format: str, run: dict[str, Any]) -> None:
    emit_object(output_format, run, describe(run))


def exit_status(run: dict[str, Any]) -> int:
    """Return the exit status for a finished run: 0 if it succeeded, else 1."""
    return 0 if run["state"] == "SUCCEEDED" else 1

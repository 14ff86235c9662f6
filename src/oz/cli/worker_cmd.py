"""`oz worker`: a self-hosted worker that executes its team's cloud runs on this machine."""

from __future__ import annotations

import argparse
import os
from typing import Any

from oz.cli.context import EXIT_USAGE, CliContext, CliError

WORKER_ID_MAX_LENGTH = 200
RESERVED_PREFIX = "warp"

DESCRIPTION = """\
Execute cloud runs on this machine. The worker authenticates with an agent key
(WARP_API_KEY) and claims the runs of the key's team that were started with
`--host WORKER_ID` or without a host. The harness comes from OZ_HARNESS and
OZ_HARNESS_COMMAND, as for `oz agent run`. SIGTERM or SIGINT stops claiming and
lets running runs finish for --grace-seconds; runs still running then end ERROR."""


def worker_id(text: str) -> str:
    """Argument type of `--worker-id`: 1 to 200 characters, not starting with `warp`."""
    if not text.strip() or len(text) > WORKER_ID_MAX_LENGTH:
        raise argparse.ArgumentTypeError(
            f"must be 1 to {WORKER_ID_MAX_LENGTH} characters and not blank"
        )
    if text.lower().startswith(RESERVED_PREFIX):
        raise argparse.ArgumentTypeError(
            f"{text!r} must not start with 'warp': that prefix names hosted workers"
        )
    return text


def _bounded(kind: type[int] | type[float], low: float, high: float) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:g} to {high:g}, got {text}")
        return value

    return parse


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "worker",
        parents=[common],
        help="Execute your team's cloud runs on this machine (a self-hosted worker).",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--worker-id",
        required=True,
        type=worker_id,
        metavar="ID",
        help="id runs are routed to with `oz agent run-cloud --host ID`",
    )
    parser.add_argument(
        "--max-concurrent-tasks",
        type=_bounded(int, 1, 64),
        default=1,
        metavar="N",
        help="runs executed at once, 1 to 64 (default 1)",
    )
    parser.add_argument(
        "--one-shot",
        action="store_true",
        help="execute at most one run, then exit: status 0 when it succeeded or none was"
        " queued, 1 otherwise",
    )
    parser.add_argument(
        "--grace-seconds",
        type=_bounded(float, 0, 86400),
        default=30.0,
        help="seconds running runs get to finish after SIGTERM or SIGINT (default 30)",
    )
    parser.add_argument(
        "--heartbeat-seconds",
        type=_bounded(float, 0.1, 600),
        default=5.0,
        help="seconds between heartbeats of a running run (default 5); keep it well"
        " below the server's OZ_WORKER_HEARTBEAT_TIMEOUT",
    )
    parser.add_argument(
        "--poll-seconds",
        type=_bounded(float, 0.1, 600),
        default=2.0,
        help="seconds between claims while no run is queued (default 2)",
    )
    parser.add_argument(
        "--workdir",
        metavar="DIR",
        help="directory to create each run's working directory in (default: the system's"
        " temporary directory)",
    )
    parser.set_defaults(handler=run_worker)


def run_worker(context: CliContext, args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    from oz.client.http import ApiError
    from oz.harness.runner import spec_from_env
    from oz.worker.api import WorkerApi
    from oz.worker.process import RemoteWorker, WorkerOptions

    try:
        harness = spec_from_env(os.environ)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    workdir = Path(args.workdir) if args.workdir else None
    if workdir is not None and not workdir.is_dir():
        raise CliError(f"--workdir {args.workdir!r} is not an existing directory", EXIT_USAGE)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    options = WorkerOptions(
        worker_id=args.worker_id,
        harness=harness,
        max_concurrent_tasks=args.max_concurrent_tasks,
        one_shot=args.one_shot,
        grace_seconds=args.grace_seconds,
        heartbeat_seconds=args.heartbeat_seconds,
        poll_seconds=args.poll_seconds,
        workdir=workdir,
    )
    worker = RemoteWorker(WorkerApi(context.client(), args.worker_id), options)
    worker.install_signal_handlers()
    try:
        return worker.run()
    except ApiError as exc:
        context.fail_api(exc)

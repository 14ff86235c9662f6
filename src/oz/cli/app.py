"""The `oz` command line: global options, subcommands and exit statuses.

Built on argparse from the standard library, because CI jobs start `oz` many times and
a larger framework would add tens of milliseconds to every start (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from oz import __version__
from oz.cli import (
    agents_cmd,
    credits_cmd,
    environments_cmd,
    github_cmd,
    keys_cmd,
    login_cmd,
    runs_cmd,
    settings_cmd,
    team_cmd,
    whoami_cmd,
    worker_cmd,
)
from oz.cli.context import (
    DEFAULT_ROOT_URL,
    OUTPUT_FORMATS,
    CliContext,
    CliError,
    resolve_api_key,
)

DESCRIPTION = """\
Oz: run cloud agents and manage API keys.

Authenticate with an API key in the WARP_API_KEY environment variable, or sign in
with `oz login`."""
EPILOG = """\
exit statuses: 0 success, 1 failure, 2 bad usage, 3 authentication required,
4 not authorized or out of credits, 5 not found, 6 server unreachable"""


def _add_global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """Add the global options; after a subcommand they only override what was given."""
    default = argparse.SUPPRESS if after_command else None
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        default=default,
        help="API key to authenticate with. Prefer the WARP_API_KEY environment variable:"
        " flags are visible in shell history and process lists.",
    )
    parser.add_argument(
        "--output-format",
        choices=OUTPUT_FORMATS,
        default=default,
        help="output format (default: $WARP_OUTPUT_FORMAT, else pretty)",
    )
    parser.add_argument(
        "--server-root-url",
        metavar="URL",
        default=default,
        help=f"root URL of the oz server (default: $WARP_SERVER_ROOT_URL, else {DEFAULT_ROOT_URL})",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if after_command else False,
        help="print the server's whole problem object on errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oz",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"oz {__version__}")
    _add_global_options(parser, after_command=False)

    # Leaf commands accept the global options too, as in `oz run list --api-key KEY`.
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, after_command=True)

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (
        whoami_cmd,
        login_cmd,
        keys_cmd,
        settings_cmd,
        agents_cmd,
        runs_cmd,
        environments_cmd,
        github_cmd,
        team_cmd,
        credits_cmd,
        worker_cmd,
    ):
        module.register(commands, common)
    return parser


def _context(parser: argparse.ArgumentParser, args: argparse.Namespace) -> CliContext:
    output_format = args.output_format or os.environ.get("WARP_OUTPUT_FORMAT") or "pretty"
    if output_format not in OUTPUT_FORMATS:
        parser.error(
            f"WARP_OUTPUT_FORMAT must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}"
        )
    key, source = resolve_api_key(args.api_key, os.environ.get("WARP_API_KEY"))
    root_url, root_url_source = DEFAULT_ROOT_URL, "the default server root URL"
    if args.server_root_url is not None and not args.server_root_url.strip():
        parser.error("--server-root-url must not be empty")
    for value, origin in (
        (args.server_root_url, "--server-root-url"),
        (os.environ.get("WARP_SERVER_ROOT_URL"), "WARP_SERVER_ROOT_URL"),
    ):
        if value:
            root_url, root_url_source = value, origin
            break
    return CliContext(
        output_format=output_format,
        root_url=root_url,
        debug=args.debug,
        api_key=key,
        api_key_source=source,
        root_url_source=root_url_source,
    )


def run(argv: list[str] | None = None) -> int:
    """Run `oz` with `argv` and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    context = _context(parser, args)
    try:
        status: int = args.handler(context, args)
    except CliError as exc:
        if context.output_format in ("json", "ndjson"):
            print(json.dumps(exc.document()), file=sys.stderr)
        print(exc.line(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (`head`, say) went away. Point stdout at /dev/null so the interpreter's
        # final flush does not fail again, as the Python documentation recommends.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status

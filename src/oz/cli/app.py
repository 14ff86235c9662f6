"""The `oz` command group and its global options."""

from __future__ import annotations

import os

import click

from oz import __version__
from oz.cli.context import DEFAULT_ROOT_URL, OUTPUT_FORMATS, CliContext, resolve_api_key


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oz")
@click.option(
    "--api-key",
    metavar="KEY",
    help="API key to authenticate with. Prefer the WARP_API_KEY environment variable:"
    " flags are visible in shell history and process lists.",
)
@click.option(
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    envvar="WARP_OUTPUT_FORMAT",
    default="pretty",
    show_default=True,
    help="Output format [env: WARP_OUTPUT_FORMAT].",
)
@click.option(
    "--server-root-url",
    envvar="WARP_SERVER_ROOT_URL",
    default=DEFAULT_ROOT_URL,
    show_default=True,
    help="Root URL of the oz server [env: WARP_SERVER_ROOT_URL].",
)
@click.option("--debug", is_flag=True, help="Show more detail on errors.")
@click.pass_context
def cli(
    ctx: click.Context,
    api_key: str | None,
    output_format: str,
    server_root_url: str,
    debug: bool,
) -> None:
    """Oz: run cloud agents and manage API keys.

    Authenticate with an API key in the WARP_API_KEY environment variable.
    """
    key, source = resolve_api_key(api_key, os.environ.get("WARP_API_KEY"))
    ctx.obj = CliContext(
        output_format=output_format,
        root_url=server_root_url,
        debug=debug,
        api_key=key,
        api_key_source=source,
    )


def _register() -> None:
    from oz.cli import agents_cmd, keys_cmd, runs_cmd, whoami_cmd

    cli.add_command(whoami_cmd.whoami)
    cli.add_command(keys_cmd.api_key)
    cli.add_command(agents_cmd.agent)
    cli.add_command(runs_cmd.run_group)


def run() -> None:
    _register()
    cli(prog_name="oz")

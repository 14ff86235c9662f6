"""The `oz` command group and its global options."""

from __future__ import annotations

import os
from typing import Any

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


def _override(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Apply a global option given after the subcommand, as in `oz run list --api-key K`."""
    if value is None or value is False:
        return value
    context = ctx.find_object(CliContext)
    assert context is not None
    assert param.name is not None
    if param.name == "api_key":
        key, source = resolve_api_key(value, None)
        if key is not None:
            context.api_key, context.api_key_source = key, source
    elif param.name == "server_root_url":
        context.root_url = value
    else:
        setattr(context, param.name, value)
    return value


def _global_options() -> list[click.Option]:
    return [
        click.Option(
            ["--api-key"],
            metavar="KEY",
            expose_value=False,
            callback=_override,
            help="Same as the global --api-key.",
        ),
        click.Option(
            ["--output-format", "output_format"],
            type=click.Choice(OUTPUT_FORMATS),
            expose_value=False,
            callback=_override,
            help="Same as the global --output-format.",
        ),
        click.Option(
            ["--server-root-url"],
            expose_value=False,
            callback=_override,
            help="Same as the global --server-root-url.",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            callback=_override,
            help="Same as the global --debug.",
        ),
    ]


def _add_global_options(command: click.Command) -> None:
    """Accept the global options after any subcommand too, as the Oz CLI does."""
    if isinstance(command, click.Group):
        for child in command.commands.values():
            _add_global_options(child)
        return
    command.params.extend(_global_options())


def _register() -> None:
    from oz.cli import agents_cmd, keys_cmd, runs_cmd, whoami_cmd

    for command in (whoami_cmd.whoami, keys_cmd.api_key, agents_cmd.agent, runs_cmd.run_group):
        _add_global_options(command)
        cli.add_command(command)


def run() -> None:
    _register()
    cli(prog_name="oz")

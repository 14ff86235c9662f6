"""`oz login` and `oz logout`: sign in through the browser (RFC 8628 device flow)."""

from __future__ import annotations

import argparse
import socket
import time
from typing import Any

from oz.cli.context import EXIT_CODES, EXIT_UNREACHABLE, EXIT_USAGE, CliContext, CliError
from oz.cli.output import emit_object, info

CLIENT_ID = "oz-cli"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_SECONDS = 5


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    login = commands.add_parser(
        "login",
        parents=[common],
        help="Sign in through the browser and keep the credential for this server.",
        description="Sign in through the browser: open the printed URL, check the code, and"
        " approve. The credential is kept in the OS keyring, or in a file only you can read"
        " when no keyring exists. WARP_API_KEY and --api-key take precedence over it.",
    )
    login.add_argument(
        "--no-browser", action="store_true", help="only print the URL; do not open a browser"
    )
    login.set_defaults(handler=login_command)

    logout = commands.add_parser(
        "logout",
        parents=[common],
        help="Revoke this server's stored `oz login` credential and forget it.",
    )
    logout.set_defaults(handler=logout_command)


def _client(context: CliContext) -> Any:
    from oz.client.http import ClientError, OzClient

    try:
        return OzClient(context.root_url, None)
    except ClientError as exc:
        raise CliError(f"{context.root_url_source}: {exc}", EXIT_USAGE) from None


def _post(client: Any, path: str, fields: dict[str, str]) -> tuple[int, Any]:
    from oz.client.http import ClientError

    try:
        status, body = client.post_form(path, fields)
    except ClientError as exc:
        raise CliError(str(exc), EXIT_UNREACHABLE) from None
    return int(status), body if isinstance(body, dict) else {}


def login_command(context: CliContext, args: argparse.Namespace) -> int:
    client = _client(context)
    name = f"oz CLI on {socket.gethostname()}"
    status, started = _post(
        client, "/oauth/device/code", {"client_id": CLIENT_ID, "client_name": name}
    )
    if status != 200:
        raise CliError(f"the server rejected the sign-in: {started.get('error_description')}")
    url = started["verification_uri_complete"]
    info(
        f"Open this page and approve the sign-in; check that it shows the code"
        f" {started['user_code']}:\n\n  {url}\n"
    )
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    info("Waiting for approval...")

    interval = float(started.get("interval", 5))
    deadline = time.monotonic() + float(started.get("expires_in", 600))
    while time.monotonic() < deadline:
        time.sleep(interval)
        status, answer = _post(
            client,
            "/oauth/token",
            {
                "grant_type": GRANT_TYPE,
                "device_code": started["device_code"],
                "client_id": CLIENT_ID,
            },
        )
        error = answer.get("error")
        if status == 200 and answer.get("access_token"):
            return _signed_in(context, str(answer["access_token"]))
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_SECONDS
            continue
        code = "authentication_required"
        raise CliError(
            f"sign-in failed: {answer.get('error_description') or error}", EXIT_CODES[code], code
        )
    raise CliError("the sign-in was not approved in time: run `oz login` again")


def _signed_in(context: CliContext, token: str) -> int:
    from oz.cli import credentials

    try:
        where = credentials.save(context.root_url, token)
    except (credentials.CredentialStoreError, OSError) as exc:
        raise CliError(f"signed in, but the credential could not be stored: {exc}") from None
    overriding_source = context.api_key_source if context.api_key is not None else None
    context.api_key, context.api_key_source = token, "oz login"
    me = context.call("GET", "/me")
    emit_object(
        context.output_format,
        {"uid": me["uid"], "email": me.get("email"), "stored_in": where},
        f"Signed in as {me.get('email') or me['uid']}. The credential is kept in {where}.",
    )
    if overriding_source is not None:
        info(f"Note: {overriding_source} is set and takes precedence over the stored credential.")
    return 0


def logout_command(context: CliContext, _args: argparse.Namespace) -> int:
    from oz.cli import credentials

    try:
        token = credentials.load(context.root_url)
    except credentials.CredentialStoreError as exc:
        raise CliError(str(exc)) from None
    if token is None:
        emit_object(
            context.output_format,
            {"signed_out": False},
            f"Not signed in to {credentials.server_key(context.root_url)}; nothing to do.",
        )
        return 0
    _post(_client(context), "/oauth/revoke", {"token": token})
    credentials.delete(context.root_url)
    emit_object(
        context.output_format,
        {"signed_out": True},
        "Signed out: the credential is revoked on the server and forgotten here.",
    )
    return 0

"""`ozd`: initialize, migrate and serve an oz server."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from oz import __version__
from oz.config import ConfigError, Settings, database_password, redact_url


def _settings(data_dir: Path | None) -> Settings:
    environ = dict(os.environ)
    if data_dir is not None:
        environ["OZ_DATA_DIR"] = str(data_dir)
    try:
        return Settings.from_env(environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Data directory (default: $OZ_DATA_DIR, else ~/.local/share/ozd).",
)


def _database_error(settings: Settings, exc: SQLAlchemyError) -> click.ClickException:
    """Turn a driver error into one line that names the database and where it was set."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    password = database_password(settings.database_url)
    if password:
        reason = reason.replace(password, "***")
    origin = "OZ_DATABASE_URL" if os.environ.get("OZ_DATABASE_URL") else "the data directory"
    return click.ClickException(
        f"cannot use the database {redact_url(settings.database_url)} (from {origin}): {reason}"
    )


def _listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket; close it again on any failure."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # The protocol must be named: asyncio sets TCP_NODELAY only on accepted sockets whose
    # `proto` is IPPROTO_TCP. Without it, Nagle's algorithm delays a response's body until
    # the client's delayed ACK of its headers, about 40 ms on every keep-alive request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    except BaseException:
        sock.close()
        raise
    return sock


def _write_port_file(port_file: Path, port: int) -> None:
    try:
        port_file.write_text(f"{port}\n")
    except OSError as exc:
        raise click.ClickException(
            f"cannot write --port-file {port_file}: {exc.strerror}"
        ) from None


def _read_password() -> str:
    """Read a new password: from a hidden prompt on a terminal, else from standard input.

    Never from a flag, which would leave it in shell history and process lists.
    """
    import sys

    from oz.auth.passwords import check_rules
    from oz.errors import InvalidRequest

    if sys.stdin.isatty():
        password: str = click.prompt(
            "New password", hide_input=True, confirmation_prompt=True, err=True
        )
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        check_rules(password)
    except InvalidRequest as exc:
        raise click.ClickException(str(exc.detail)) from None
    return password


with_password_option = click.option(
    "--with-password",
    is_flag=True,
    help="Also set the user's web sign-in password, read from a hidden prompt or from"
    " standard input.",
)


@click.group()
@click.version_option(__version__, prog_name="ozd")
def cli() -> None:
    """Run the oz server: API keys, authentication and attributed agent runs."""


@cli.command()
@data_dir_option
@click.option(
    "--owner-email",
    default="owner@localhost",
    show_default=True,
    help="Email of the first user, who owns the first team.",
)
@click.option("--team-name", default="My team", show_default=True, help="Name of the first team.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_password_option
def init(
    data_dir: Path | None, owner_email: str, team_name: str, as_json: bool, with_password: bool
) -> None:
    """Create the data directory, database, owner, team and a first personal key.

    Running it again changes nothing and prints no key. With --with-password it sets
    the owner's web sign-in password too, the first time only.
    """
    from oz.bootstrap import initialize
    from oz.errors import OzError

    settings = _settings(data_dir)
    password = _read_password() if with_password else None
    try:
        result = initialize(settings, owner_email, team_name, password)
    except (ConfigError, OzError) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _database_error(settings, exc) from None
    except OSError as exc:
        raise click.ClickException(f"cannot prepare the data directory: {exc}") from None

    if as_json:
        click.echo(
            json.dumps(
                {
                    "data_dir": str(result.data_dir),
                    "created": result.created,
                    "owner": {"uid": result.owner_uid, "email": result.owner_email},
                    "team_uid": result.team_uid,
                    "default_agent_uid": result.default_agent_uid,
                    "raw_api_key": result.raw_key,
                }
            )
        )
        return
    if not result.created:
        where = (
            str(result.data_dir)
            if settings.is_sqlite
            else f"the database {redact_url(settings.database_url)}"
        )
        click.echo(f"{where} is already initialized (owner {result.owner_email}); nothing changed.")
        if with_password:
            click.echo("The password was not set: use `ozd user set-password EMAIL`.", err=True)
        return
    click.echo(f"Initialized {result.data_dir}")
    click.echo(f"Owner: {result.owner_email}  Team: {result.team_uid}")
    click.echo("\nFirst personal API key (shown once, store it in a secret manager):\n")
    click.echo(f"    {result.raw_key}\n")
    click.echo("Use it with:  export WARP_API_KEY=<the key>")
    if with_password:
        click.echo(f"Sign in to the web app at /sign-in as {result.owner_email}.")


@cli.command()
@data_dir_option
def migrate(data_dir: Path | None) -> None:
    """Upgrade the database schema to the newest version."""
    from oz.db.engine import Database, schema_revision
    from oz.db.engine import migrate as run_migrations

    settings = _settings(data_dir)
    database = Database(settings.database_url)
    try:
        before = schema_revision(database)
        run_migrations(database)
        after = schema_revision(database)
    except SQLAlchemyError as exc:
        raise _database_error(settings, exc) from None
    finally:
        database.dispose()
    if before == after:
        click.echo(f"The database schema is already at the newest revision, {after}.")
    else:
        click.echo(f"Upgraded the database schema from {before or 'empty'} to revision {after}.")


@cli.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the port actually bound to this file once listening.",
)
@click.option("--no-worker", is_flag=True, help="Do not run the embedded worker.")
def serve(
    data_dir: Path | None, host: str, port: int, port_file: Path | None, no_worker: bool
) -> None:
    """Serve the REST API and run the embedded worker."""
    import uvicorn

    from oz import logs
    from oz.db.engine import migrate as run_migrations
    from oz.db.engine import schema_is_current
    from oz.server.app import build_state, create_app

    settings = _settings(data_dir)
    logs.configure(settings.log_format, settings.log_level)
    sock = _listen(host, port)
    bound_port = sock.getsockname()[1]
    if settings.public_url is None:
        settings = dataclasses.replace(settings, public_url=_public_url(host, bound_port))
    try:
        state = build_state(settings, start_worker=False if no_worker else None)
    except ConfigError as exc:
        sock.close()
        raise click.ClickException(str(exc)) from None
    try:
        if settings.is_sqlite:
            run_migrations(state.database)
        elif not schema_is_current(state.database):
            raise click.ClickException(
                "the database schema is not at the newest version: run `ozd migrate` first"
            )
        # Written only once the server can serve, so a waiting script never reads a port
        # that no server will accept requests on.
        if port_file is not None:
            _write_port_file(port_file, bound_port)
    except SQLAlchemyError as exc:
        sock.close()
        raise _database_error(settings, exc) from None
    except click.ClickException:
        sock.close()
        raise

    # uvicorn runs on uvloop and parses HTTP with httptools, both dependencies of oz.
    config = uvicorn.Config(
        create_app(state), log_config=None, access_log=False, timeout_graceful_shutdown=10
    )
    server = uvicorn.Server(config)
    logging.getLogger("oz.server").info("ozd listening on http://%s:%d", host, bound_port)
    server.run(sockets=[sock])


def _public_url(host: str, port: int) -> str | None:
    """Return the URL of a server listening on `host`, or None when it listens on every
    address."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a comparison, not a bind
        return None  # reached under a host name that only OZ_PUBLIC_URL can give
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@cli.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@data_dir_option
@click.argument("email")
@click.option("--team", "team_uid", required=True, help="Team uid to add the user to.")
@click.option("--role", type=click.Choice(["admin", "member"]), default="member", show_default=True)
@click.option("--with-key", is_flag=True, help="Also create a personal key and print it once.")
@with_password_option
def user_add(
    data_dir: Path | None,
    email: str,
    team_uid: str,
    role: str,
    with_key: bool,
    with_password: bool,
) -> None:
    """Add a user to a team."""
    from oz.apikeys.service import create_key
    from oz.auth.passwords import set_password
    from oz.db.engine import Database
    from oz.db.models import Team
    from oz.errors import OzError
    from oz.identity.teams import add_member, create_user
    from oz.principal import Principal

    settings = _settings(data_dir)
    password = _read_password() if with_password else None
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            if session.get(Team, team_uid) is None:
                raise click.ClickException(f"team {team_uid!r} not found")
            new_user = create_user(session, email)
            add_member(session, team_uid, new_user, role)
            if password is not None:
                set_password(session, new_user.uid, password)
            click.echo(json.dumps({"uid": new_user.uid, "email": new_user.email, "role": role}))
            if with_key:
                principal = Principal("user", new_user.uid, new_user.display_name, new_user.email)
                _, raw = create_key(
                    session, settings.read_secret(), principal, "ozd user add", expires_in="never"
                )
                click.echo("API key (shown once, store it in a secret manager):", err=True)
                click.echo(raw.value)
    except (OzError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()


@user.command("delete")
@data_dir_option
@click.argument("email")
def user_delete(data_dir: Path | None, email: str) -> None:
    """Delete a user; their personal keys stop working at once."""
    from oz.auth import revocations
    from oz.db.engine import Database
    from oz.errors import OzError
    from oz.identity.teams import delete_user, find_user_by_email

    settings = _settings(data_dir)
    revocations.use_marker(settings.data_dir)
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            found = find_user_by_email(session, email)
            if found is None:
                raise click.ClickException(f"no user with email {email!r}")
            delete_user(session, found.uid)
    except OzError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    click.echo(f"Deleted {email}; their personal keys no longer work.")


@user.command("set-password")
@data_dir_option
@click.argument("email")
def user_set_password(data_dir: Path | None, email: str) -> None:
    """Set a user's web sign-in password.

    The password is read from a hidden prompt on a terminal, else from the first line
    of standard input. It ends the user's web sessions and any sign-in lockout.
    """
    from oz.auth.passwords import set_password
    from oz.auth.sign_in import reset_sign_in
    from oz.db.engine import Database
    from oz.errors import OzError
    from oz.identity.teams import find_user_by_email

    settings = _settings(data_dir)
    database = Database(settings.database_url)
    try:
        with database.read() as session:
            if find_user_by_email(session, email) is None:
                raise click.ClickException(f"no user with email {email!r}")
        password = _read_password()
        with database.transaction() as session:
            found = find_user_by_email(session, email)
            if found is None:
                raise click.ClickException(f"no user with email {email!r}")
            set_password(session, found.uid, password)
            reset_sign_in(session, found.uid, found.email)
    except OzError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _database_error(settings, exc) from None
    finally:
        database.dispose()
    click.echo(f"Set the password of {email}; they can sign in at /sign-in.")


@cli.group()
def team() -> None:
    """Manage teams."""


@team.command("plan")
@data_dir_option
@click.option("--team", "team_uid", required=True, help="Team uid (see `ozd init --json`).")
@click.argument("plan", type=click.Choice(["free", "build", "max", "business", "enterprise"]))
def team_plan(data_dir: Path | None, team_uid: str, plan: str) -> None:
    """Put a team on PLAN."""
    from oz.db.engine import Database
    from oz.db.models import Team

    settings = _settings(data_dir)
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            found = session.get(Team, team_uid)
            if found is None:
                raise click.ClickException(f"team {team_uid!r} not found")
            previous, found.plan = found.plan, plan
    except SQLAlchemyError as exc:
        raise _database_error(settings, exc) from None
    finally:
        database.dispose()
    if previous == plan:
        click.echo(f"Team {team_uid} is already on {plan}; nothing changed.")
        return
    click.echo(
        f"Team {team_uid} moved from {previous} to {plan}. Users who already have this"
        " month's plan-included credits keep them; the new amount applies from next month."
    )


def _first_team_of(session: Session, user_uid: str) -> str:
    from oz.identity.teams import teams_of

    teams = teams_of(session, user_uid)
    if not teams:
        raise click.ClickException("the user belongs to no team: add them with `ozd user add`")
    return teams[0].uid


@cli.group()
def credits() -> None:
    """Grant credits (the self-hosted payment provider)."""


@credits.command("grant")
@data_dir_option
@click.option("--user", "email", help="Grant add-on credits to this user, valid 12 months.")
@click.option("--team", "team_uid", help="Grant credits to this Enterprise team's pool.")
@click.option("--note", help="Why, for the ledger (at most 200 characters).")
@click.argument("amount", type=click.FloatRange(min=0.001, max=10_000_000))
def credits_grant(
    data_dir: Path | None, email: str | None, team_uid: str | None, note: str | None, amount: float
) -> None:
    """Grant AMOUNT credits to a user or a team pool, recorded in the ledger."""
    from oz.billing.charges import grant
    from oz.billing.plans import cycle_of, to_milli
    from oz.clock import utcnow
    from oz.db.engine import Database
    from oz.db.models import Purchase, Team
    from oz.identity.teams import find_user_by_email
    from oz.uids import new_uid

    if (email is None) == (team_uid is None):
        raise click.UsageError("give exactly one of --user and --team")
    if note is not None and len(note) > 200:
        raise click.UsageError("--note must be at most 200 characters")
    settings = _settings(data_dir)
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            if email is not None:
                found = find_user_by_email(session, email)
                if found is None:
                    raise click.ClickException(
                        f"no user with email {email!r}: add one with `ozd user add`"
                    )
                owner_type, owner_uid = "user", found.uid
            else:
                pool_team = session.get(Team, team_uid)
                if pool_team is None:
                    raise click.ClickException(f"team {team_uid!r} not found")
                if pool_team.plan != "enterprise":
                    raise click.ClickException(
                        f"team {team_uid} is on {pool_team.plan}, and only Enterprise teams"
                        " spend a team pool: run `ozd team plan --team"
                        f" {team_uid} enterprise` first, or grant credits to users with --user"
                    )
                owner_type, owner_uid = "team", pool_team.uid
            now = utcnow()
            purchase_uid = None
            if owner_type == "user":
                # The self-hosted provider: an operator's grant is a purchase that cost
                # nothing, so it shows among purchases and counts nothing against the cap.
                purchase = Purchase(
                    uid=new_uid(),
                    team_uid=_first_team_of(session, owner_uid),
                    user_uid=owner_uid,
                    credits=round(amount),
                    amount_cents=0,
                    month=cycle_of(now),
                    status="approved",
                    trigger="operator",
                    provider="self-hosted",
                    message=note,
                    created_at=now,
                )
                session.add(purchase)
                session.flush()
                purchase_uid = purchase.uid
            lot = grant(
                session,
                now,
                owner_type=owner_type,
                owner_uid=owner_uid,
                credits_milli=to_milli(amount),
                reason="purchase" if owner_type == "user" else "grant",
                note=note or "granted by an operator",
                purchase_uid=purchase_uid,
            )
            if purchase_uid is not None:
                purchase.lot_uid = lot.uid
            lot_uid = lot.uid
    except SQLAlchemyError as exc:
        raise _database_error(settings, exc) from None
    finally:
        database.dispose()
    click.echo(f"Granted {amount:g} credits to {owner_type} {email or team_uid} (lot {lot_uid}).")


def main() -> None:
    cli(prog_name="ozd")


if __name__ == "__main__":
    main()

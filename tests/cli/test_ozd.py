"""`ozd init` and `ozd migrate`: set-up that never destroys data."""

from __future__ import annotations

import json
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from oz.cli.ozd import cli
from tests.support.secrets import remember


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("OZ_DATA_DIR", "OZ_DATABASE_URL", "OZ_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    from tests.support.databases import PostgresDatabases

    postgres = PostgresDatabases()
    postgres.create()
    yield postgres.url
    postgres.drop()


def init(runner: CliRunner, data_dir: Path, *extra: str) -> dict[str, object]:
    result = runner.invoke(cli, ["init", "--data-dir", str(data_dir), "--json", *extra])
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.output)
    return document


def test_init_creates_owner_team_agent_and_key(runner: CliRunner, tmp_path: Path) -> None:
    document = init(runner, tmp_path / "data", "--owner-email", "Admin@Example.com")

    raw = remember(str(document["raw_api_key"]))
    assert raw.startswith("wk-")
    assert document["created"] is True
    assert document["owner"] == {"uid": document["owner"]["uid"], "email": "admin@example.com"}  # type: ignore[index]


def test_init_files_are_private(runner: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    init(runner, data_dir)

    assert stat.S_IMODE((data_dir / "server-secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "oz.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_init_twice_keeps_everything(runner: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = init(runner, data_dir)
    remember(str(first["raw_api_key"]))
    secret_before = (data_dir / "server-secret").read_bytes()

    second = init(runner, data_dir)

    assert second["created"] is False
    assert second["raw_api_key"] is None
    assert second["owner"] == first["owner"]
    assert second["team_uid"] == first["team_uid"]
    assert (data_dir / "server-secret").read_bytes() == secret_before


def test_init_pretty_output_shows_key_once(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["init", "--data-dir", str(tmp_path / "d")])
    key_lines = [
        line.strip() for line in result.output.splitlines() if line.strip().startswith("wk-")
    ]

    again = runner.invoke(cli, ["init", "--data-dir", str(tmp_path / "d")])

    assert result.exit_code == 0
    assert len(key_lines) == 1
    remember(key_lines[0])
    assert "already initialized" in again.output
    assert "wk-" not in again.output


def test_bad_variable_is_named(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["migrate", "--data-dir", str(tmp_path)], env={"OZ_LOG_FORMAT": "yaml"}
    )

    assert result.exit_code == 1
    assert "OZ_LOG_FORMAT must be one of text, json" in result.output


def test_invalid_owner_email_is_rejected(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["init", "--data-dir", str(tmp_path), "--owner-email", "nobody"])

    assert result.exit_code == 1
    assert "email 'nobody' is not an email address" in result.output


def test_serve_refuses_an_unmigrated_postgresql_schema(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.databases import PostgresDatabases

    # `ozd serve` replaces the root log handlers; the suite's own must stay.
    monkeypatch.setattr("oz.logs.configure", lambda *_: None)
    postgres = PostgresDatabases()
    postgres.create()
    try:
        result = runner.invoke(
            cli,
            [
                "serve",
                "--data-dir",
                str(tmp_path),
                "--no-worker",
                "--port-file",
                str(tmp_path / "port"),
            ],
            env={"OZ_DATABASE_URL": postgres.url, "OZ_SECRET": "s" * 32},
        )
    finally:
        postgres.drop()

    assert result.exit_code == 1
    assert "run `ozd migrate` first" in result.output
    assert not (tmp_path / "port").exists()  # nothing waits on a server that never served


@pytest.mark.parametrize(
    ("database_url", "reason"),
    [
        ("sqlite:////nonexistent-directory/oz.db", "unable to open database file"),
        ("postgresql+psycopg://oz:secret@127.0.0.1:1/oz", "connection"),
    ],
)
def test_serve_reports_an_unusable_database_in_one_line(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    reason: str,
) -> None:
    monkeypatch.setattr("oz.logs.configure", lambda *_: None)

    result = runner.invoke(
        cli,
        ["serve", "--data-dir", str(tmp_path), "--no-worker"],
        env={"OZ_DATABASE_URL": database_url, "OZ_SECRET": "s" * 32},
    )

    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot use the database")
    assert reason in result.output
    assert "secret@" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_relative_sqlite_url_is_rejected(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["migrate", "--data-dir", str(tmp_path)], env={"OZ_DATABASE_URL": "sqlite://x.db"}
    )

    assert result.exit_code == 1
    assert "OZ_DATABASE_URL must start with 'sqlite:///'" in result.output


def test_unwritable_port_file_is_reported(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("oz.logs.configure", lambda *_: None)
    init(runner, tmp_path / "data")

    result = runner.invoke(
        cli,
        [
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--no-worker",
            "--port",
            "0",
            "--port-file",
            "/nonexistent-directory/port",
        ],
    )

    assert result.exit_code == 1
    assert "cannot write --port-file /nonexistent-directory/port" in result.output


def test_grant_and_plan_commands(runner: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    document = init(runner, data_dir)
    remember(str(document["raw_api_key"]))

    granted = runner.invoke(
        cli, ["credits", "grant", "--data-dir", str(data_dir), "--user", "owner@localhost", "400"]
    )
    moved = runner.invoke(
        cli,
        ["team", "plan", "--data-dir", str(data_dir), "--team", str(document["team_uid"]), "max"],
    )
    both = runner.invoke(
        cli,
        ["credits", "grant", "--data-dir", str(data_dir), "--user", "x@y.z", "--team", "t", "1"],
    )

    assert granted.exit_code == 0, granted.output
    assert "Granted 400 credits to user owner@localhost" in granted.output
    assert moved.exit_code == 0, moved.output
    assert "moved from build to max" in moved.output
    assert both.exit_code == 2
    assert "exactly one of --user and --team" in both.output


def test_team_pool_grants_need_enterprise(runner: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    document = init(runner, data_dir)
    remember(str(document["raw_api_key"]))
    team = str(document["team_uid"])

    refused = runner.invoke(
        cli, ["credits", "grant", "--data-dir", str(data_dir), "--team", team, "1000"]
    )
    runner.invoke(cli, ["team", "plan", "--data-dir", str(data_dir), "--team", team, "enterprise"])
    granted = runner.invoke(
        cli, ["credits", "grant", "--data-dir", str(data_dir), "--team", team, "1000"]
    )

    assert refused.exit_code == 1
    assert f"ozd team plan --team {team} enterprise" in refused.output
    assert granted.exit_code == 0, granted.output


def sign_in(data_dir: Path, email: str, password: str) -> str:
    """Check a password against the data directory's database; return the user's uid."""
    from oz.auth.sign_in import authenticate
    from oz.db.engine import Database

    database = Database(f"sqlite:///{data_dir / 'oz.db'}")
    try:
        return authenticate(database, email, password).uid
    finally:
        database.dispose()


def test_init_with_password_reads_stdin(runner: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    result = runner.invoke(
        cli,
        ["init", "--data-dir", str(data_dir), "--json", "--with-password"],
        input="correct horse battery\n",
    )

    document = json.loads(result.output)
    remember(str(document["raw_api_key"]))
    assert result.exit_code == 0, result.output
    assert sign_in(data_dir, "owner@localhost", "correct horse battery") == document["owner"]["uid"]


def test_init_with_short_password_creates_nothing(runner: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    result = runner.invoke(
        cli, ["init", "--data-dir", str(data_dir), "--with-password"], input="short\n"
    )

    assert result.exit_code == 1
    assert "the password must be at least 12 characters, got 5" in result.output
    assert not data_dir.exists()


def test_set_password_replaces_it(runner: CliRunner, tmp_path: Path) -> None:
    from oz.errors import AuthenticationRequired

    data_dir = tmp_path / "data"
    document = init(runner, data_dir)
    remember(str(document["raw_api_key"]))

    first = runner.invoke(
        cli,
        ["user", "set-password", "owner@localhost", "--data-dir", str(data_dir)],
        input="first password!\n",
    )
    second = runner.invoke(
        cli,
        ["user", "set-password", "OWNER@localhost", "--data-dir", str(data_dir)],
        input="second password!\n",
    )

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "Set the password of OWNER@localhost" in second.output
    assert sign_in(data_dir, "owner@localhost", "second password!") == document["owner"]["uid"]  # type: ignore[index]
    with pytest.raises(AuthenticationRequired):
        sign_in(data_dir, "owner@localhost", "first password!")


def test_set_password_of_unknown_user_fails(runner: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    remember(str(init(runner, data_dir)["raw_api_key"]))

    result = runner.invoke(
        cli,
        ["user", "set-password", "nobody@localhost", "--data-dir", str(data_dir)],
        input="correct horse battery\n",
    )

    assert result.exit_code == 1
    assert "no user with email 'nobody@localhost'" in result.output


def test_user_add_with_password(runner: CliRunner, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    document = init(runner, data_dir)
    remember(str(document["raw_api_key"]))

    result = runner.invoke(
        cli,
        [
            "user",
            "add",
            "member@localhost",
            "--team",
            str(document["team_uid"]),
            "--with-password",
            "--data-dir",
            str(data_dir),
        ],
        input="member password!\n",
    )

    added = json.loads(result.output)
    assert result.exit_code == 0, result.output
    assert sign_in(data_dir, "member@localhost", "member password!") == added["uid"]


def test_init_pretty_output_names_the_sign_in(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        ["init", "--data-dir", str(tmp_path / "d"), "--with-password"],
        input="correct horse battery\n",
    )
    for line in result.output.splitlines():
        if line.strip().startswith("wk-"):
            remember(line.strip())

    assert result.exit_code == 0, result.output
    assert "Sign in to the web app at /sign-in as owner@localhost." in result.output
    assert "correct horse battery" not in result.output


def test_listening_socket_is_tcp_for_nodelay(tmp_path: Path) -> None:
    # asyncio turns Nagle's algorithm off on accepted sockets only when their protocol is
    # IPPROTO_TCP; with Nagle on, keep-alive responses waited about 40 ms for an ACK.
    from oz.cli.ozd import _listen

    sock = _listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_migrate_says_whether_it_upgraded(runner: CliRunner, tmp_path: Path) -> None:
    first = runner.invoke(cli, ["migrate", "--data-dir", str(tmp_path)])
    second = runner.invoke(cli, ["migrate", "--data-dir", str(tmp_path)])

    assert first.exit_code == 0, first.output
    assert first.output.startswith("Upgraded the database schema from empty to revision ")
    assert second.exit_code == 0, second.output
    assert second.output.startswith("The database schema is already at the newest revision")


def test_init_with_oz_secret_writes_no_secret_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        cli, ["init", "--data-dir", str(tmp_path), "--json"], env={"OZ_SECRET": "s" * 32}
    )

    assert result.exit_code == 0, result.output
    assert not (tmp_path / "server-secret").exists()
    assert (tmp_path / "oz.db").exists()


def test_init_of_initialized_postgresql_names_database(
    runner: CliRunner, tmp_path: Path, postgres_url: str
) -> None:
    env = {"OZ_DATABASE_URL": postgres_url, "OZ_SECRET": "s" * 32}
    first = runner.invoke(cli, ["init", "--data-dir", str(tmp_path / "a"), "--json"], env=env)
    remember(json.loads(first.output)["raw_api_key"])

    again = runner.invoke(cli, ["init", "--data-dir", str(tmp_path / "b")], env=env)

    assert again.exit_code == 0, again.output
    assert again.output.startswith("the database postgresql+psycopg://")
    assert "is already initialized (owner owner@localhost); nothing changed." in again.output

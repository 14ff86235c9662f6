"""Settings from OZ_* variables: defaults and errors that name the variable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from oz.config import ConfigError, Settings, redact_url


def test_defaults_use_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"OZ_DATA_DIR": str(tmp_path)})

    assert settings.database_url == f"sqlite:///{tmp_path}/oz.db"
    assert settings.log_format == "text"
    assert settings.harness.kind == "builtin"
    assert settings.worker_enabled
    assert settings.web_session_hours == 12
    assert settings.sign_in_client_failures == 20


def test_web_session_hours_is_read(tmp_path: Path) -> None:
    settings = Settings.from_env({"OZ_DATA_DIR": str(tmp_path), "OZ_WEB_SESSION_HOURS": "0.5"})

    assert settings.web_session_hours == 0.5


def test_client_sign_in_limit_turns_off(tmp_path: Path) -> None:
    settings = Settings.from_env({"OZ_DATA_DIR": str(tmp_path), "OZ_SIGN_IN_CLIENT_FAILURES": "0"})

    assert settings.sign_in_client_failures == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OZ_DATABASE_URL", "mysql://root@localhost/oz"),
        ("OZ_LOG_FORMAT", "xml"),
        ("OZ_LOG_LEVEL", "chatty"),
        ("OZ_HARNESS", "gpt"),
        ("OZ_WORKER", "maybe"),
        ("OZ_WORKER_CONCURRENCY", "0"),
        ("OZ_WORKER_CONCURRENCY", "two"),
        ("OZ_RUN_TIMEOUT", "-5"),
        ("OZ_AUTH_CACHE_SECONDS", "99999"),
        ("OZ_WEB_SESSION_HOURS", "0"),
        ("OZ_WEB_SESSION_HOURS", "a day"),
        ("OZ_SIGN_IN_CLIENT_FAILURES", "-1"),
        ("OZ_SIGN_IN_CLIENT_FAILURES", "many"),
        ("OZ_SECRET", "too-short"),
        ("OZ_WORKER_DIR", "/nonexistent/dir"),
        ("OZ_WORKER_ID", "warp-hosted-1"),
    ],
)
def test_bad_variable_is_named(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({"OZ_DATA_DIR": str(tmp_path), variable: value})


def test_command_harness_needs_a_command(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OZ_HARNESS_COMMAND"):
        Settings.from_env({"OZ_DATA_DIR": str(tmp_path), "OZ_HARNESS": "command"})


def test_bad_database_url_hides_its_password(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {"OZ_DATA_DIR": str(tmp_path), "OZ_DATABASE_URL": "mysql://u:hunter2@h/db"}
        )

    assert "hunter2" not in str(caught.value)


def test_missing_secret_says_to_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ozd init"):
        Settings.from_env({"OZ_DATA_DIR": str(tmp_path)}).read_secret()


def test_secret_readable_by_others_is_rejected(tmp_path: Path) -> None:
    secret = tmp_path / "server-secret"
    secret.write_bytes(os.urandom(32))
    secret.chmod(0o644)

    with pytest.raises(ConfigError, match="chmod 600"):
        Settings.from_env({"OZ_DATA_DIR": str(tmp_path)}).read_secret()


def test_settings_repr_hides_the_secret(tmp_path: Path) -> None:
    settings = Settings.from_env({"OZ_DATA_DIR": str(tmp_path), "OZ_SECRET": "s" * 40})

    assert "s" * 40 not in repr(settings)


def test_redact_url_masks_passwords() -> None:
    assert (
        redact_url("postgresql+psycopg://oz:pw@db:5432/oz")
        == "postgresql+psycopg://oz:***@db:5432/oz"
    )
    assert redact_url("sqlite:////tmp/oz.db") == "sqlite:////tmp/oz.db"


def test_redact_url_masks_query_passwords() -> None:
    redacted = redact_url("postgresql+psycopg://oz@db/oz?password=s3cret&sslmode=require")

    assert "s3cret" not in redacted
    assert "sslmode=require" in redacted


def test_unencoded_at_sign_in_database_url_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="%40") as caught:
        Settings.from_env(
            {"OZ_DATA_DIR": str(tmp_path), "OZ_DATABASE_URL": "postgresql+psycopg://u:p@ss@h/db"}
        )

    assert "p@ss" not in str(caught.value)

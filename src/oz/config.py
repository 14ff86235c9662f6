"""Server settings, read once from `OZ_*` environment variables and the data directory.

Every variable is validated at start; a bad value raises `ConfigError` naming the
variable and the values it accepts.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from oz.billing.plans import PlanCatalog, PlanError
from oz.github.app import GitHubApp
from oz.github.client import DEFAULT_API_URL, DEFAULT_WEB_URL
from oz.github.oauth import GitHubOAuthApp
from oz.harness.runner import HarnessSpec, spec_from_env

SECRET_FILE = "server-secret"
DATABASE_FILE = "oz.db"
SECRET_BYTES = 32


class ConfigError(ValueError):
    """An `OZ_*` variable or the data directory is invalid."""


@dataclass(frozen=True)
class Settings:
    """Validated server settings. `repr` never shows the secret."""

    data_dir: Path
    database_url: str
    log_format: str = "text"
    log_level: str = "INFO"
    harness: HarnessSpec = field(default_factory=HarnessSpec)
    # Directory the embedded worker runs agents in; None gives each run a new empty one.
    worker_dir: Path | None = None
    # Id the embedded worker claims runs under; None means `embedded-<hostname>`.
    worker_id: str | None = None
    worker_enabled: bool = True
    worker_concurrency: int = 2
    run_timeout_seconds: float = 3600.0
    # Silence after which a self-hosted worker's run ends ERROR.
    worker_heartbeat_timeout_seconds: float = 60.0
    auth_cache_seconds: float = 60.0
    # How long a web sign-in lasts before the browser must sign in again.
    web_session_hours: float = 12.0
    # Failed sign-ins from one client address, within 15 minutes, that lock it; 0 is off.
    sign_in_client_failures: int = 20
    catalog: PlanCatalog = field(default_factory=PlanCatalog)
    # GitHub's REST API; a GitHub Enterprise Server uses https://HOST/api/v3.
    github_api_url: str = DEFAULT_API_URL
    # GitHub's web and git host: repositories clone from here, OAuth authorizes here.
    github_url: str = DEFAULT_WEB_URL
    github_app: GitHubApp | None = None
    github_oauth: GitHubOAuthApp | None = None
    # The address people reach this server at, for links such as the OAuth callback.
    public_url: str | None = None
    payment_provider: str = "self-hosted"
    payment_url: str | None = None
    payment_secret_key: str | None = field(default=None, repr=False)
    secret_override: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("OZ_DATA_DIR") or default_data_dir()).expanduser()
        database_url = env.get("OZ_DATABASE_URL") or f"sqlite:///{data_dir / DATABASE_FILE}"
        if database_url.split("?", 1)[0].count("@") > 1:
            raise ConfigError(
                "OZ_DATABASE_URL contains more than one '@': percent-encode an '@' in the"
                " user name or password as %40"
            )
        if not database_url.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ConfigError(
                "OZ_DATABASE_URL must start with 'sqlite:///' or 'postgresql+psycopg://',"
                f" got {redact_url(database_url)!r}"
            )

        try:
            harness = spec_from_env(env)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        worker_id = env.get("OZ_WORKER_ID") or None
        if worker_id is not None and (
            worker_id.lower().startswith("warp") or not worker_id.strip() or len(worker_id) > 200
        ):
            raise ConfigError(
                f"OZ_WORKER_ID {worker_id!r} must be 1 to 200 characters and must not start"
                " with 'warp', which names hosted workers"
            )
        worker_dir = env.get("OZ_WORKER_DIR")
        if worker_dir is not None and not Path(worker_dir).is_dir():
            raise ConfigError(f"OZ_WORKER_DIR {worker_dir!r} is not an existing directory")

        secret = env.get("OZ_SECRET")
        if secret is not None and len(secret) < 32:
            raise ConfigError(
                "OZ_SECRET must be at least 32 characters; leave it unset to use"
                " the secret file in the data directory"
            )

        try:
            catalog = PlanCatalog.from_env(env)
        except PlanError as exc:
            raise ConfigError(str(exc)) from None
        payment_provider = _choice(
            env, "OZ_PAYMENT_PROVIDER", ("self-hosted", "http"), "self-hosted"
        )
        payment_url = env.get("OZ_PAYMENT_URL")
        payment_key = env.get("OZ_PAYMENT_SECRET_KEY")
        if payment_provider == "http" and not (
            payment_url and payment_url.startswith(("http://", "https://")) and payment_key
        ):
            raise ConfigError(
                "OZ_PAYMENT_PROVIDER=http needs OZ_PAYMENT_URL (an http:// or https:// URL)"
                " and OZ_PAYMENT_SECRET_KEY"
            )

        github_url = _url(env, "OZ_GITHUB_URL", DEFAULT_WEB_URL)
        default_api_url = (
            DEFAULT_API_URL if github_url == DEFAULT_WEB_URL else f"{github_url}/api/v3"
        )
        public_url = env.get("OZ_PUBLIC_URL")
        if public_url is not None:
            public_url = _url(env, "OZ_PUBLIC_URL", public_url)

        return cls(
            data_dir=data_dir,
            catalog=catalog,
            github_api_url=_url(env, "OZ_GITHUB_API_URL", default_api_url),
            github_url=github_url,
            github_app=_github_app(env),
            github_oauth=_github_oauth(env),
            public_url=public_url,
            payment_provider=payment_provider,
            payment_url=payment_url,
            payment_secret_key=payment_key,
            database_url=database_url,
            log_format=_choice(env, "OZ_LOG_FORMAT", ("text", "json"), "text"),
            log_level=_choice(
                env, "OZ_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True
            ),
            harness=harness,
            worker_dir=Path(worker_dir) if worker_dir else None,
            worker_id=worker_id,
            worker_enabled=_boolean(env, "OZ_WORKER", default=True),
            worker_concurrency=int(_number(env, "OZ_WORKER_CONCURRENCY", 2, 1, 64)),
            run_timeout_seconds=_number(env, "OZ_RUN_TIMEOUT", 3600, 1, 7 * 24 * 3600),
            worker_heartbeat_timeout_seconds=_number(
                env, "OZ_WORKER_HEARTBEAT_TIMEOUT", 60, 1, 3600
            ),
            auth_cache_seconds=_number(env, "OZ_AUTH_CACHE_SECONDS", 60, 0, 3600),
            web_session_hours=_number(env, "OZ_WEB_SESSION_HOURS", 12, 0.1, 720),
            sign_in_client_failures=int(_number(env, "OZ_SIGN_IN_CLIENT_FAILURES", 20, 0, 10_000)),
            secret_override=secret.encode() if secret is not None else None,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def read_secret(self) -> bytes:
        """Return the server secret from `OZ_SECRET` or the data directory's secret file."""
        if self.secret_override is not None:
            return self.secret_override

        path = self.data_dir / SECRET_FILE
        try:
            secret = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(
                f"no server secret at {path}: run `ozd init` or set OZ_DATA_DIR"
                " to an initialized data directory"
            ) from None
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"{path} must be readable by its owner only: chmod 600 {path}")
        if len(secret) < SECRET_BYTES:
            raise ConfigError(
                f"{path} contains fewer than {SECRET_BYTES} bytes: it is corrupt;"
                " restore it from a backup"
            )
        return secret


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ozd"


def redact_url(url: str) -> str:
    """Return `url` with its password, in the credentials or the query, replaced by `***`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url.split("://", 1)[0] + "://***"
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True)


def database_password(url: str) -> str | None:
    """Return the password in a database URL, to scrub it from driver messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    query_password = parsed.query.get("password")
    if isinstance(query_password, str):
        return query_password
    return parsed.password


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, default).rstrip("/")
    if not value.startswith(("http://", "https://")) or value in ("http:/", "https:/"):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value


def _github_app(env: Mapping[str, str]) -> GitHubApp | None:
    """Read the deployment's GitHub App: its id and the path of its private key (PEM)."""
    app_id = env.get("OZ_GITHUB_APP_ID", "").strip()
    key_file = env.get("OZ_GITHUB_APP_PRIVATE_KEY_FILE", "").strip()
    if not app_id and not key_file:
        return None
    if not app_id.isdigit() or not key_file:
        raise ConfigError(
            "a GitHub App needs both OZ_GITHUB_APP_ID (its numeric App ID) and"
            " OZ_GITHUB_APP_PRIVATE_KEY_FILE (the path of its .pem private key)"
        )
    try:
        private_key = Path(key_file).expanduser().read_text()
    except OSError as exc:
        raise ConfigError(
            f"OZ_GITHUB_APP_PRIVATE_KEY_FILE {key_file!r} cannot be read: {exc.strerror}"
        ) from None
    if "PRIVATE KEY-----" not in private_key:
        raise ConfigError(
            f"OZ_GITHUB_APP_PRIVATE_KEY_FILE {key_file!r} is not a PEM private key: download"
            " one from the App's settings page on GitHub"
        )
    return GitHubApp(app_id, private_key)


def _github_oauth(env: Mapping[str, str]) -> GitHubOAuthApp | None:
    """Read the OAuth app users connect their GitHub accounts through."""
    client_id = env.get("OZ_GITHUB_CLIENT_ID", "").strip()
    client_secret = env.get("OZ_GITHUB_CLIENT_SECRET", "").strip()
    if not client_id and not client_secret:
        return None
    if not client_id or not client_secret:
        raise ConfigError(
            "GitHub sign-in needs both OZ_GITHUB_CLIENT_ID and OZ_GITHUB_CLIENT_SECRET, from"
            " the OAuth app's (or GitHub App's) settings page"
        )
    return GitHubOAuthApp(client_id, client_secret)


def _choice(
    env: Mapping[str, str],
    name: str,
    choices: tuple[str, ...],
    default: str,
    *,
    upper: bool = False,
) -> str:
    value = env.get(name, default)
    if upper:
        value = value.upper()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = env.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be on or off (1/0, true/false), got {value!r}")


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    value = env.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number

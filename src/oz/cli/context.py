"""Shared state of every `oz` command, the API key's source, and errors as exit statuses."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from oz.client.http import ApiError, OzClient

DEFAULT_ROOT_URL = "http://127.0.0.1:8000"
OUTPUT_FORMATS = ("json", "ndjson", "pretty", "text")

# Exit status per Oz error code; any other API error exits 1 and bad usage exits 2.
EXIT_CODES = {
    "authentication_required": 3,
    "external_authentication_required": 3,
    "not_authorized": 4,
    "insufficient_credits": 4,
    "budget_exceeded": 4,
    "feature_not_available": 4,
    "resource_not_found": 5,
}
EXIT_USAGE = 2
EXIT_UNREACHABLE = 6


class CliError(Exception):
    """A failure reported as one line on standard error, with its exit status.

    `code` is the Oz error code when one fits, such as `authentication_required` for a
    malformed key that the CLI rejects before contacting the server.
    """

    def __init__(self, message: str, exit_code: int = 1, code: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.code = code

    problem: dict[str, Any] | None = None
    # What to do next, printed on a line of its own after the error.
    hint: str | None = None

    def line(self) -> str:
        line = f"Error: {self}" + (f" [{self.code}]" if self.code else "")
        return f"{line}\n{self.hint}" if self.hint else line

    def document(self) -> dict[str, Any]:
        """Return the JSON error document: the server's problem, or one made here."""
        return {"error": self.problem or {"error": str(self), "code": self.code}}


class CliContext:
    """Shared state of every command: output format, server URL, the API key and its source.

    A plain class, not a dataclass: `dataclasses` imports `inspect`, which costs every
    `oz` start about 9 ms.
    """

    def __init__(
        self,
        output_format: str,
        root_url: str,
        debug: bool = False,
        api_key: str | None = None,
        api_key_source: str | None = None,
        root_url_source: str = "--server-root-url",
    ) -> None:
        self.output_format = output_format
        self.root_url = root_url
        self.root_url_source = root_url_source
        self.debug = debug
        self.api_key = api_key
        self.api_key_source = api_key_source

    def _load_login(self) -> None:
        """Use the credential `oz login` stored for this server, if there is one."""
        from oz.cli import credentials

        try:
            token = credentials.load(self.root_url)
        except credentials.CredentialStoreError as exc:
            raise CliError(str(exc)) from None
        if token is not None:
            self.api_key, self.api_key_source = token, "oz login"

    def __repr__(self) -> str:
        return (
            f"CliContext({self.output_format!r}, {self.root_url!r}, key from {self.api_key_source})"
        )

    def client(self) -> OzClient:
        """Return a client with a checked API key, or fail before contacting the server."""
        from oz import keys
        from oz.client.http import ClientError, OzClient

        unauthenticated = "authentication_required"
        if self.api_key is None:
            self._load_login()
        if self.api_key is None:
            raise CliError(
                "no API key: set the WARP_API_KEY environment variable (recommended), pass"
                " --api-key, or sign in with `oz login`",
                EXIT_CODES[unauthenticated],
                unauthenticated,
            )
        # `ozs_` credentials come from `oz login`; the server checks them.
        if not self.api_key.startswith("ozs_"):
            try:
                keys.parse(self.api_key)
            except keys.KeyFormatError as exc:
                raise CliError(
                    f"{self.api_key_source}: {exc}", EXIT_CODES[unauthenticated], unauthenticated
                ) from None
        try:
            return OzClient(self.root_url, self.api_key)
        except ClientError as exc:
            raise CliError(f"{self.root_url_source}: {exc}", EXIT_USAGE) from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API; turn its errors into exits with a readable message."""
        from oz.client.http import ApiError, ClientError

        try:
            return self.client().request(method, path, **kwargs)
        except ApiError as exc:
            self.fail_api(exc)
        except ClientError as exc:
            raise CliError(str(exc), EXIT_UNREACHABLE) from None

    def fail_api(self, error: ApiError) -> NoReturn:
        if self.debug and self.output_format not in ("json", "ndjson"):
            print(json.dumps(error.problem, indent=2), file=sys.stderr)
        code = error.code
        field = error.problem.get("field")
        message = error.message + (f" (field {field})" if field else "")
        if code == "authentication_required" and self.api_key_source:
            message += f"; the key came from {self.api_key_source}"
        failure = CliError(message, EXIT_CODES.get(code, 1), code)
        if error.problem.get("auth_url"):
            failure.hint = f"Connect GitHub: {error.problem['auth_url']}"
        failure.problem = error.problem
        raise failure


def resolve_api_key(flag_value: str | None, env_value: str | None) -> tuple[str | None, str | None]:
    """Return the key and where it came from; the flag beats the environment variable."""
    for value, source in ((flag_value, "--api-key"), (env_value, "WARP_API_KEY")):
        if value is not None and value.strip():
            return value.strip(), source
    return None, None


def identifier(text: str) -> str:
    """Argument type of ids and names: not empty after trimming."""
    import argparse

    value = text.strip()
    if not value:
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def page_limit(text: str) -> int:
    """Argument type of `-L/--limit`: a whole number from 1 to 500."""
    import argparse

    if not text.isdigit() or not 1 <= int(text) <= 500:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 500, got {text!r}")
    return int(text)


def segment(value: str) -> str:
    """Return `value` encoded as one URL path segment, so `a/b` or `x?y` stay one id."""
    from urllib.parse import quote

    return quote(value, safe="")


def team_query(team: str | None) -> str:
    """Return the `?team=` query naming `team`, or nothing for the caller's first team."""
    return f"?team={segment(team)}" if team else ""


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm(question: str) -> None:
    """Ask a yes/no question on the terminal; raise CliError unless the answer is yes."""
    answer = input(f"{question} [y/N]: ").strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("Aborted.")


def confirm_unless_forced(force: bool, action: str, question: str) -> None:
    """Ask `question` unless `force`; without a terminal, fail and name `--force`."""
    if force:
        return
    if not is_interactive():
        raise CliError(f"{action} needs confirmation: pass --force when no terminal is attached")
    confirm(question)


def choose(question: str, count: int) -> int:
    """Ask for a number from 1 to `count` on the terminal; return it as a 0-based index."""
    while True:
        answer = input(f"{question} [1-{count}]: ").strip()
        if answer.isdigit() and 1 <= int(answer) <= count:
            return int(answer) - 1
        print(f"Enter a number from 1 to {count}.", file=sys.stderr)

"""A small HTTP client for the oz REST API, on the standard library for fast start-up.

The `oz` CLI runs many times in CI jobs, so this module avoids heavy imports.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from oz import __version__

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT_SECONDS = 30.0
QueryValue = str | int | Sequence[str] | None


class ClientError(Exception):
    """The server could not be reached or sent an unreadable response."""


class ApiError(Exception):
    """The server returned an error as problem+json."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(self.message)

    @property
    def code(self) -> str:
        type_uri = str(self.problem.get("type", ""))
        slug = type_uri.rstrip("/").rsplit("/", 1)[-1]
        return slug.replace("-", "_") or f"http_{self.status}"

    @property
    def message(self) -> str:
        return str(self.problem.get("error") or self.problem.get("title") or f"HTTP {self.status}")


class OzClient:
    """Call the oz REST API with a bearer API key."""

    def __init__(
        self,
        root_url: str,
        api_key: str | None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        url = root_url.strip().rstrip("/")
        # The SDK's base URL ends in /api/v1; the CLI adds that itself, so accept both.
        url = url.removesuffix(API_PREFIX)
        parts = urlsplit(url)
        try:
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018  # raises ValueError for a port out of range
        except ValueError as exc:
            raise ClientError(f"server root URL {root_url!r} is invalid: {exc}") from None
        if not valid:
            raise ClientError(
                f"server root URL {root_url!r} is not an http:// or https:// URL,"
                " such as http://127.0.0.1:8000"
            )
        self.root_url = url
        self._parts = parts
        self._api_key = api_key
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"OzClient({self.root_url!r})"

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, QueryValue] | None = None,
    ) -> Any:
        """Send a request to `/api/v1<path>`; return the decoded JSON body or None."""
        target = self._parts.path + API_PREFIX + path
        if query:
            pairs = [(k, v) for k, v in query.items() if v is not None]
            target += "?" + urlencode(pairs, doseq=True)
        headers = {"Accept": "application/json", "User-Agent": f"oz-cli/{__version__}"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"

        status, data = self._send(method, target, payload, headers)
        decoded = _decode(data) if data else None
        if status >= 400:
            problem = (
                decoded if isinstance(decoded, dict) else {"error": data.decode(errors="replace")}
            )
            raise ApiError(status, problem)
        return decoded

    def post_form(self, path: str, fields: Mapping[str, str]) -> tuple[int, Any]:
        """POST a form to `path` outside the REST API, as OAuth endpoints take; return the
        status and the decoded JSON body."""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": f"oz-cli/{__version__}",
        }
        target = self._parts.path + path
        status, data = self._send("POST", target, urlencode(fields).encode(), headers)
        return status, _decode(data) if data else None

    def _send(
        self, method: str, target: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        connection_class = (
            http.client.HTTPSConnection
            if self._parts.scheme == "https"
            else http.client.HTTPConnection
        )
        connection = connection_class(
            self._parts.hostname or "", self._parts.port, timeout=self._timeout
        )
        try:
            connection.request(method, target, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise ClientError(
                f"cannot reach the oz server at {self.root_url}: {exc}."
                " Is `ozd serve` running there? Set --server-root-url or WARP_SERVER_ROOT_URL."
            ) from None
        finally:
            connection.close()


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        raise ClientError("the server sent a response that is not JSON") from None

"""A client for the GitHub REST API at a configurable base URL (GitHub Enterprise Server too).

Every call names the credential it sends: a user token, an installation token, or the
App's JWT. Tokens never appear in the errors raised here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_WEB_URL = "https://github.com"
API_VERSION = "2022-11-28"
TIMEOUT_SECONDS = 10.0


class GitHubError(Exception):
    """GitHub could not be reached or did not accept a request."""


class GitHubTokenRejected(GitHubError):
    """GitHub returned 401 for a token: it is wrong, expired or revoked."""


class GitHubNotFound(GitHubError):
    """GitHub returned 404: the resource does not exist or the credential cannot see it."""


@dataclass(frozen=True)
class GitHubUser:
    id: int
    login: str
    name: str | None
    email: str | None


class GitHubClient:
    def __init__(self, base_url: str = DEFAULT_API_URL) -> None:
        self.base_url = base_url.rstrip("/")

    def request(
        self, method: str, path: str, credential: str | None, expect: int = 200
    ) -> dict[str, Any]:
        """Call `path` with `Authorization: Bearer credential`; return the JSON body."""
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if credential is not None:
            headers["Authorization"] = f"Bearer {credential}"
        try:
            response = httpx.request(
                method, f"{self.base_url}{path}", headers=headers, timeout=TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise GitHubError(f"GitHub at {self.base_url} is unreachable: {exc}") from None
        if response.status_code == 401:
            raise GitHubTokenRejected(
                f"GitHub rejected the credential for {method} {path}: it is wrong, expired or"
                f" revoked ({_message(response)})"
            )
        if response.status_code == 404:
            raise GitHubNotFound(f"GitHub has no {path} visible to this credential")
        if response.status_code != expect:
            raise GitHubError(
                f"GitHub returned HTTP {response.status_code} for {method} {path}:"
                f" {_message(response)}"
            )
        body = response.json()
        if not isinstance(body, dict):
            raise GitHubError(f"GitHub returned an unexpected body for {method} {path}")
        return body

    def get_user(self, token: str) -> GitHubUser:
        """Return the account a user token belongs to (`GET /user`)."""
        body = self.request("GET", "/user", token)
        return GitHubUser(
            id=int(body["id"]),
            login=str(body["login"]),
            name=body.get("name"),
            email=body.get("email"),
        )

    def get_user_by_login(self, login: str, credential: str | None) -> GitHubUser:
        body = self.request("GET", f"/users/{quote(login, safe='')}", credential)
        return GitHubUser(int(body["id"]), str(body["login"]), body.get("name"), None)

    def get_repository(self, full_name: str, credential: str | None) -> dict[str, Any]:
        """Return a repository the credential can see (`GET /repos/{owner}/{repo}`)."""
        owner, _, name = full_name.partition("/")
        return self.request(
            "GET", f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}", credential
        )


def _message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or response.reason_phrase or "no message")

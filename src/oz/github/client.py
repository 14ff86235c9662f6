"""A client for the GitHub REST API at a configurable base URL (GitHub Enterprise Server too)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TIMEOUT_SECONDS = 10.0


class GitHubError(Exception):
    """GitHub could not be reached or did not accept a request."""


class GitHubTokenRejected(GitHubError):
    """GitHub returned 401 for a token: it is wrong, expired or revoked."""


@dataclass(frozen=True)
class GitHubUser:
    id: int
    login: str
    name: str | None
    email: str | None


class GitHubClient:
    def __init__(self, base_url: str = DEFAULT_API_URL) -> None:
        self.base_url = base_url.rstrip("/")

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def get_user(self, token: str) -> GitHubUser:
        """Return the account a user token belongs to (`GET /user`)."""
        try:
            response = httpx.get(
                f"{self.base_url}/user", headers=self._headers(token), timeout=TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise GitHubError(f"GitHub at {self.base_url} is unreachable: {exc}") from None
        if response.status_code == 401:
            raise GitHubTokenRejected("GitHub rejected the token: it is wrong, expired or revoked")
        if response.status_code != 200:
            raise GitHubError(f"GitHub returned HTTP {response.status_code} for GET /user")
        body = response.json()
        return GitHubUser(
            id=int(body["id"]),
            login=str(body["login"]),
            name=body.get("name"),
            email=body.get("email"),
        )

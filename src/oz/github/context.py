"""The GitHub settings of a server: its API client, its App, and account connection links."""

from __future__ import annotations

from dataclasses import dataclass

from oz.config import Settings
from oz.github.app import GitHubApp
from oz.github.client import GitHubClient
from oz.github.identity import GitHubLinks


@dataclass(frozen=True)
class GitHubContext:
    client: GitHubClient
    app: GitHubApp | None
    links: GitHubLinks

    @property
    def github_url(self) -> str:
        return self.links.github_url


def github_context(settings: Settings, secret: bytes) -> GitHubContext:
    links = GitHubLinks(settings.github_url, secret, settings.github_oauth, settings.public_url)
    return GitHubContext(GitHubClient(settings.github_api_url), settings.github_app, links)

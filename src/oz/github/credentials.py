"""Obtain a run's GitHub credentials when it starts, and hand them to its processes.

Credentials reach the clone, the setup commands and the harness only through their
environment:

- `GITHUB_TOKEN`, and the git author and committer variables of the identity;
- git configuration in `GIT_CONFIG_*` variables that makes `python -m
  oz.github.git_credential` git's credential helper for the GitHub host, so clones and
  pushes authenticate without a token in any URL, file or argument list.

A run without GitHub credentials gets the same helper, which rejects the request and prints
the reason, so a failed push names what to configure.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oz.errors import ExternalAuthenticationRequired, OzError, UpstreamUnavailable
from oz.github.app import GitHubApp, bot_account, create_installation_token
from oz.github.client import GitHubClient, GitHubError, GitHubNotFound, GitHubTokenRejected
from oz.github.identity import GitHubLinks, IdentityPlan
from oz.github.orgs import repository_owner
from oz.github.sealing import SealError, unseal

TOKENS_VARIABLE = "OZ_GIT_TOKENS"
REFUSAL_VARIABLE = "OZ_GIT_REFUSAL"


@dataclass(frozen=True)
class RunCredentials:
    """A run's GitHub identity and tokens; `repr` hides the tokens."""

    identity: dict[str, Any]
    # Tokens by repository owner (lower-case); "*" serves every owner.
    tokens: dict[str, str] = field(default_factory=dict, repr=False)
    author: tuple[str, str] | None = None
    refusal: str = ""

    @property
    def primary_token(self) -> str | None:
        return next(iter(self.tokens.values()), None)

    def environment(self, github_url: str) -> dict[str, str]:
        """Environment variables for every process of the run."""
        helper = f"!{shlex.quote(sys.executable)} -m oz.github.git_credential"
        env = {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": f"credential.{github_url}.helper",
            "GIT_CONFIG_VALUE_0": helper,
            "GIT_CONFIG_KEY_1": f"credential.{github_url}.useHttpPath",
            "GIT_CONFIG_VALUE_1": "true",
        }
        token = self.primary_token
        if token is None:
            env[REFUSAL_VARIABLE] = self.refusal
            return env
        env["GITHUB_TOKEN"] = token
        env[TOKENS_VARIABLE] = json.dumps(self.tokens)
        if self.author is not None:
            name, email = self.author
            env.update(
                GIT_AUTHOR_NAME=name,
                GIT_AUTHOR_EMAIL=email,
                GIT_COMMITTER_NAME=name,
                GIT_COMMITTER_EMAIL=email,
            )
        return env

    def scrub(self, text: str) -> str:
        """Replace every token of the run in `text`, such as a harness's output."""
        for token in self.tokens.values():
            text = text.replace(token, "***")
        return text


def obtain(
    plan: IdentityPlan,
    client: GitHubClient,
    app: GitHubApp | None,
    secret: bytes,
    links: GitHubLinks,
    now: datetime,
) -> RunCredentials:
    """Obtain the tokens of a planned identity and check they reach every repository.

    Raises ExternalAuthenticationRequired when GitHub refuses a credential or a
    repository, and UpstreamUnavailable when GitHub cannot be reached.
    """
    try:
        if plan.kind == "user":
            return _user_credentials(plan, client, secret, links, now)
        if plan.kind == "app":
            return _app_credentials(plan, client, app, now)
    except GitHubTokenRejected as exc:
        raise ExternalAuthenticationRequired(str(exc), provider="github") from None
    except GitHubError as exc:
        raise UpstreamUnavailable(str(exc)) from None
    return RunCredentials(
        {"type": "none"},
        refusal=(
            "this run has no GitHub credentials: agent runs get them once a team admin"
            " enables the repository's organization for the team's GitHub App (oz github"
            " org enable ORG); personal runs need a connected account (oz github connect)"
        ),
    )


def _user_credentials(
    plan: IdentityPlan, client: GitHubClient, secret: bytes, links: GitHubLinks, now: datetime
) -> RunCredentials:
    assert plan.sealed_token is not None
    assert plan.user_uid is not None
    reconnect = {"provider": "github", "auth_url": links.auth_url(plan.user_uid, now)}
    try:
        token = unseal(secret, plan.sealed_token, plan.user_uid)
    except SealError:
        raise ExternalAuthenticationRequired(
            f"the stored token of GitHub account {plan.login} cannot be opened (the server"
            " secret changed): connect GitHub again",
            **reconnect,
        ) from None
    try:
        _require_access(client, plan.repos, {"*": token})
    except GitHubTokenRejected:
        raise ExternalAuthenticationRequired(
            f"GitHub rejected the token of your connected account {plan.login}: it was"
            " revoked or expired; connect GitHub again",
            **reconnect,
        ) from None
    return RunCredentials(plan.record(), {"*": token}, plan.author)


def _app_credentials(
    plan: IdentityPlan, client: GitHubClient, app: GitHubApp | None, now: datetime
) -> RunCredentials:
    if app is None:
        raise ExternalAuthenticationRequired(
            "the team enabled GitHub organizations, but this server has no GitHub App: the"
            " operator must set OZ_GITHUB_APP_ID and OZ_GITHUB_APP_PRIVATE_KEY_FILE",
            provider="github",
        )
    tokens: dict[str, str] = {}
    for org, installation_id in plan.installations.items():
        try:
            tokens[org] = create_installation_token(client, app, installation_id, now).token
        except GitHubTokenRejected as exc:
            raise ExternalAuthenticationRequired(
                f"GitHub rejected the App's credentials for {org}: {exc}. Check"
                " OZ_GITHUB_APP_ID, the private key and this server's clock",
                provider="github",
            ) from None
    _require_access(client, plan.repos, tokens)
    bot = bot_account(client, app, now)
    return RunCredentials(plan.record(), tokens, (bot.login, bot.email))


def _require_access(client: GitHubClient, repos: tuple[str, ...], tokens: dict[str, str]) -> None:
    inaccessible = []
    for repo in repos:
        token = tokens.get(repository_owner(repo)) or tokens["*"]
        try:
            client.get_repository(repo, token)
        except GitHubNotFound:
            inaccessible.append(repo)
    if inaccessible:
        raise ExternalAuthenticationRequired(
            f"the run's GitHub identity cannot reach {', '.join(inaccessible)}: grant it"
            " access on GitHub, or check the names",
            provider="github",
            inaccessible_repos=inaccessible,
        )


def status_message(error: OzError) -> dict[str, Any]:
    """Return the status message of a run that ended on `error`, with its extras."""
    return {
        "message": error.detail or error.title,
        "error_code": error.code,
        "retryable": error.retryable,
        **error.extras,
    }

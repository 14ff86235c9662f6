"""The GitHub identity a run acts as, decided from its creator and its repositories.

- A run created by a user acts as the user's connected GitHub account. Without one it
  has no GitHub identity, and a run that must clone repositories is refused with
  `external_authentication_required` and a link to connect an account.
- A run of a cloud agent acts as the deployment's GitHub App when its team enabled
  organizations (team GitHub authorization). Every repository must then belong to an
  enabled organization, or the run is refused with `inaccessible_repos`. A team without
  authorization runs its agents with no GitHub credentials.

Deciding needs only the database; `credentials` then obtains the tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from oz.db.models import GitHubAccount
from oz.errors import ExternalAuthenticationRequired
from oz.github.oauth import CALLBACK_PATH, GitHubOAuthApp, authorize_url, issue_state
from oz.github.orgs import enabled_orgs, repository_owner


@dataclass(frozen=True)
class GitHubLinks:
    """Links to connect a GitHub account: the OAuth flow, or GitHub's token page."""

    github_url: str
    secret: bytes = field(repr=False)
    oauth: GitHubOAuthApp | None = None
    public_url: str | None = None

    def auth_url(self, user_uid: str | None, now: datetime) -> str:
        if self.oauth is not None and self.public_url is not None and user_uid is not None:
            state = issue_state(self.secret, user_uid, now)
            return authorize_url(
                self.github_url, self.oauth, self.public_url + CALLBACK_PATH, state
            )
        return f"{self.github_url}/settings/tokens/new?scopes=repo&description=oz"

    @property
    def connect_command(self) -> str:
        """The CLI command that connects an account on this server."""
        if self.oauth is None:
            return "oz github connect --token-stdin"
        return "oz github connect"


@dataclass(frozen=True)
class IdentityPlan:
    """The identity a run will act as on GitHub, before any token is obtained."""

    kind: str  # "user", "app" or "none"
    repos: tuple[str, ...] = ()
    user_uid: str | None = None
    # For "user": the account's login, commit author and sealed token.
    login: str | None = None
    author: tuple[str, str] | None = None
    sealed_token: str | None = field(default=None, repr=False)
    # For "app": the organizations to mint installation tokens for, in order.
    installations: dict[str, int] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """Return the identity as the run records it."""
        if self.kind == "user":
            return {"type": "user", "login": self.login}
        if self.kind == "app":
            return {"type": "app", "org": next(iter(self.installations))}
        return {"type": "none"}


def plan_identity(
    session: Session,
    *,
    creator_type: str,
    user_uid: str | None,
    team_uid: str,
    repos: tuple[str, ...],
    links: GitHubLinks | None,
    now: datetime,
) -> IdentityPlan:
    """Decide a run's GitHub identity, or raise ExternalAuthenticationRequired."""
    if creator_type == "user" and user_uid is not None:
        account = session.get(GitHubAccount, user_uid)
        if account is None:
            connect_command = links.connect_command if links else "oz github connect"
            if repos:
                raise ExternalAuthenticationRequired(
                    f"the run clones {', '.join(repos)}, and you have not connected a GitHub"
                    f" account: connect one at auth_url or with `{connect_command}`",
                    provider="github",
                    **({"auth_url": links.auth_url(user_uid, now)} if links else {}),
                )
            return IdentityPlan("none", repos)
        return IdentityPlan(
            "user",
            repos,
            user_uid=user_uid,
            login=account.login,
            author=commit_author(account),
            sealed_token=account.token_sealed,
        )

    orgs = enabled_orgs(session, team_uid)
    if not orgs:
        return IdentityPlan("none", repos)
    outside = [repo for repo in repos if repository_owner(repo) not in orgs]
    if outside:
        raise ExternalAuthenticationRequired(
            f"the team's GitHub App authorization does not cover {', '.join(outside)}: a team"
            " admin must enable the organization (oz github org enable ORG) after an owner"
            " of it installs the GitHub App",
            provider="github",
            inaccessible_repos=outside,
        )
    needed = [repository_owner(repo) for repo in repos] or list(orgs)
    installations = {org: orgs[org] for org in dict.fromkeys(needed)}
    return IdentityPlan("app", repos, installations=installations)


def commit_author(account: GitHubAccount) -> tuple[str, str]:
    """Return the name and email GitHub attributes the user's commits by.

    Without a public email, that is the account's noreply address.
    """
    name = account.name or account.login
    email = account.email or f"{account.github_id}+{account.login}@users.noreply.github.com"
    return name, email

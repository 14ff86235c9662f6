"""The GitHub identity a run acts as, and the credentials its harness receives.

- A run created by a user acts with that user's connected GitHub account, so its commits
  carry the account's name and email. Without a connected account it has no GitHub
  identity.
- A run of a cloud agent has no GitHub identity until team GitHub App authorization
  exists.

Credentials reach the harness only through its environment, never the prompt, the logs or
the run record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from oz.db.models import GitHubAccount, Run
from oz.github.sealing import SealError, unseal

NONE: dict[str, Any] = {"type": "none"}


def identity_for(session: Session, run: Run) -> dict[str, Any]:
    """Return the GitHub identity to record on a run when it starts."""
    if run.creator_type != "user" or run.creator_user_uid is None:
        # NOTE: agent runs get GitHub App installation tokens once team authorization exists.
        return dict(NONE)
    account = session.get(GitHubAccount, run.creator_user_uid)
    if account is None:
        return dict(NONE)
    return {"type": "user", "login": account.login}


def harness_environment(session: Session, secret: bytes, run: Run) -> dict[str, str]:
    """Return the environment variables that give the harness the run's GitHub identity."""
    if run.creator_type != "user" or run.creator_user_uid is None:
        return {}
    account = session.get(GitHubAccount, run.creator_user_uid)
    if account is None:
        return {}
    try:
        token = unseal(secret, account.token_sealed, account.user_uid)
    except SealError:
        return {}
    name = account.name or account.login
    email = account.email or f"{account.github_id}+{account.login}@users.noreply.github.com"
    return {
        "GITHUB_TOKEN": token,
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }

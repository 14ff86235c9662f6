"""Enable a GitHub organization for a team: ask GitHub for the App's installation, store it.

The REST API (`PUT /api/v1/github/orgs/{org}`) and the Admin Panel both call
`enable_team_org`, so they check and store the same way.
"""

from __future__ import annotations

from oz.clock import utcnow
from oz.db.engine import Database
from oz.db.models import GitHubOrg
from oz.errors import (
    ExternalAuthenticationRequired,
    FeatureNotAvailable,
    InvalidRequest,
    UpstreamUnavailable,
)
from oz.github.app import find_installation
from oz.github.client import GitHubError, GitHubNotFound, GitHubTokenRejected
from oz.github.context import GitHubContext
from oz.github.orgs import enable_org, normalize_org
from oz.identity.teams import require_admin
from oz.principal import Principal

NO_APP_MESSAGE = (
    "this server has no GitHub App: the operator must set OZ_GITHUB_APP_ID and"
    " OZ_GITHUB_APP_PRIVATE_KEY_FILE before organizations can be enabled"
)


def installation_of(github: GitHubContext, org: str, given: int | None) -> int:
    """Ask GitHub for the App's installation on `org`; check a given id against it."""
    app = github.app
    if app is None:
        raise FeatureNotAvailable(NO_APP_MESSAGE)
    try:
        found = find_installation(github.client, app, org, utcnow())
    except GitHubNotFound:
        raise InvalidRequest(
            f"the GitHub App is not installed on {org}: an owner of {org} must install it"
            " on GitHub first",
            field="org",
        ) from None
    except GitHubTokenRejected as exc:
        raise ExternalAuthenticationRequired(
            f"{exc}. Check OZ_GITHUB_APP_ID, the private key and this server's clock",
            provider="github",
        ) from None
    except GitHubError as exc:
        raise UpstreamUnavailable(str(exc)) from None
    if given is not None and given != found:
        raise InvalidRequest(
            f"installation_id {given} is not the App's installation on {org} ({found}):"
            " leave it out to use the installation GitHub reports",
            field="installation_id",
        )
    return found


def enable_team_org(
    database: Database,
    github: GitHubContext,
    principal: Principal,
    team_uid: str,
    org: str,
    installation_id: int | None = None,
) -> GitHubOrg:
    """Check that the caller administers the team, look up the installation, enable `org`.

    No transaction stays open during the request to GitHub, so the role is checked again
    before the write.
    """
    login = normalize_org(org)
    with database.read() as session:
        require_admin(session, principal, team_uid, "enable GitHub organizations")
    found = installation_of(github, login, installation_id)
    with database.transaction() as session:
        require_admin(session, principal, team_uid, "enable GitHub organizations")
        row = enable_org(session, team_uid, login, found, principal.uid)
        session.expunge(row)
        return row

"""Team GitHub authorization: the organizations a team enabled for its agent runs.

An owner of a GitHub organization installs the deployment's GitHub App on it; a team
admin then enables the organization for the team. Agent runs of the team act on that
organization's repositories with installation tokens of the App.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oz.clock import isoformat, utcnow
from oz.db.models import GitHubOrg
from oz.db.upsert import insert_for
from oz.errors import InvalidRequest, ResourceNotFound

# GitHub logins: letters, digits and single hyphens, not at either end, at most 39.
LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
REPOSITORY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def normalize_org(value: str, field: str = "org") -> str:
    """Return a GitHub organization login, lower-cased, or raise naming `field`."""
    org = value.strip()
    if not LOGIN_PATTERN.match(org):
        raise InvalidRequest(
            f"{field} {value!r} is not a GitHub organization login: use 1 to 39 letters,"
            " digits or single hyphens, as in https://github.com/ORG",
            field=field,
        )
    return org.lower()


def normalize_repository(value: str, field: str) -> str:
    """Return `owner/repo`, or raise naming `field`."""
    owner, slash, name = value.strip().removesuffix(".git").partition("/")
    if (
        not slash
        or not LOGIN_PATTERN.match(owner)
        or not REPOSITORY_NAME_PATTERN.match(name)
        or name in (".", "..")
    ):
        raise InvalidRequest(
            f"{field} {value!r} is not a GitHub repository: write it as owner/repo",
            field=field,
        )
    return f"{owner}/{name}"


def repository_owner(full_name: str) -> str:
    return full_name.split("/", 1)[0].lower()


def enabled_orgs(session: Session, team_uid: str) -> dict[str, int]:
    """Return the team's enabled organizations and their installation ids."""
    rows = session.execute(
        select(GitHubOrg.org, GitHubOrg.installation_id)
        .where(GitHubOrg.team_uid == team_uid)
        .order_by(GitHubOrg.org)
    )
    return {org: int(installation_id) for org, installation_id in rows}


def enable_org(
    session: Session, team_uid: str, org: str, installation_id: int, by_uid: str
) -> GitHubOrg:
    """Enable `org` for the team, or update its installation id."""
    insert = insert_for(session)
    values = {
        "team_uid": team_uid,
        "org": org,
        "installation_id": installation_id,
        "enabled_by": by_uid,
        "enabled_at": utcnow(),
    }
    statement = insert(GitHubOrg).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["team_uid", "org"],
        set_={"installation_id": installation_id, "enabled_by": by_uid},
    )
    session.execute(statement)
    row = session.get(GitHubOrg, (team_uid, org), populate_existing=True)
    assert row is not None
    return row


def disable_org(session: Session, team_uid: str, org: str) -> None:
    row = session.get(GitHubOrg, (team_uid, org))
    if row is None:
        raise ResourceNotFound(f"GitHub organization {org!r} is not enabled for this team")
    session.delete(row)


def org_view(row: GitHubOrg) -> dict[str, Any]:
    return {
        "org": row.org,
        "installation_id": row.installation_id,
        "enabled_by": row.enabled_by,
        "enabled_at": isoformat(row.enabled_at),
    }

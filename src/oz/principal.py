"""The principal a request acts as: a user, or a cloud agent of a team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PrincipalType = Literal["user", "service_account"]


@dataclass(frozen=True)
class TeamRef:
    uid: str
    name: str


@dataclass(frozen=True)
class Principal:
    """The authenticated caller.

    A personal key or a user session yields a `user` principal. An agent key yields a
    `service_account` principal bound to one cloud agent of one team.
    """

    type: PrincipalType
    uid: str
    display_name: str
    email: str | None = None
    team_uid: str | None = None
    key_uid: str | None = None
    # The teams as of the credential's lookup, oldest membership first, for describing
    # the caller (`GET /me`); None when not loaded. Authorization reads memberships from
    # the database instead.
    teams: tuple[TeamRef, ...] | None = None

    @property
    def is_human(self) -> bool:
        return self.type == "user"

    @property
    def label(self) -> str:
        return f"{self.type}:{self.uid}"

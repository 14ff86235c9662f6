"""A small world of users, a team and cloud agents, built through the services."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from oz.apikeys.service import KeyView, create_key
from oz.auth.passwords import set_password
from oz.db.engine import Database
from oz.db.models import CloudAgent, User
from oz.identity.agents import create_agent
from oz.identity.teams import add_member, create_team, create_user
from oz.principal import Principal
from tests.support.secrets import remember

SECRET = b"test-server-secret-of-32-bytes!!"


def user_principal(user: User) -> Principal:
    return Principal("user", user.uid, user.display_name, user.email)


@dataclass
class World:
    database: Database
    secret: bytes = field(default=SECRET, repr=False)
    owner: Principal = field(init=False)
    team_uid: str = field(init=False)
    default_agent_uid: str = field(init=False)

    def __post_init__(self) -> None:
        with self.database.transaction() as session:
            owner = create_user(session, "owner@example.com", "Owner")
            team = create_team(session, "Acme", owner)
            self.owner = user_principal(owner)
            self.team_uid = team.uid
            self.default_agent_uid = session.scalars(
                select(CloudAgent.uid).where(CloudAgent.team_uid == team.uid)
            ).one()

    def add_user(self, email: str, role: str = "member", team_uid: str | None = None) -> Principal:
        with self.database.transaction() as session:
            user = create_user(session, email)
            add_member(session, team_uid or self.team_uid, user, role)
            return user_principal(user)

    def add_team(self, owner_email: str) -> tuple[Principal, str]:
        """Create another team with its own owner; return the owner and the team uid."""
        with self.database.transaction() as session:
            user = create_user(session, owner_email)
            team = create_team(session, f"Team of {owner_email}", user)
            return user_principal(user), team.uid

    def set_password(self, password: str, user: Principal | None = None) -> None:
        with self.database.transaction() as session:
            set_password(session, (user or self.owner).uid, password)

    def add_agent(self, name: str, creator: Principal | None = None) -> str:
        with self.database.transaction() as session:
            return create_agent(session, creator or self.owner, name).uid

    def make_key(
        self,
        creator: Principal | None = None,
        *,
        agent_uid: str | None = None,
        expires_in: str = "never",
        name: str = "test key",
    ) -> tuple[KeyView, str]:
        with self.database.transaction() as session:
            view, raw = create_key(
                session,
                self.secret,
                creator or self.owner,
                name,
                key_type="agent" if agent_uid else "personal",
                agent_uid=agent_uid,
                expires_in=expires_in,
            )
        return view, remember(raw.value)

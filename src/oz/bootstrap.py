"""Prepare a data directory: secret file, schema, first owner, team and key."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from oz.apikeys.service import create_key
from oz.auth.passwords import set_password
from oz.config import SECRET_BYTES, SECRET_FILE, Settings
from oz.db.engine import Database, migrate
from oz.db.models import CloudAgent, User
from oz.identity.teams import create_team, create_user
from oz.principal import Principal


@dataclass(frozen=True)
class InitResult:
    """Outcome of `ozd init`; `raw_key` is None when the directory was already initialized."""

    data_dir: Path
    created: bool
    owner_uid: str
    owner_email: str
    team_uid: str
    default_agent_uid: str
    raw_key: str | None


def ensure_secret(data_dir: Path) -> Path:
    """Create the data directory and its secret file, readable by the owner only."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / SECRET_FILE
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
    return path


def initialize(
    settings: Settings, owner_email: str, team_name: str, password: str | None = None
) -> InitResult:
    """Initialize once; a second call changes nothing and returns the existing owner.

    `password`, when given, becomes the new owner's web sign-in password.
    """
    if settings.secret_override is None:
        ensure_secret(settings.data_dir)
    else:  # a secret file beside OZ_SECRET would silently differ from it
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = Database(settings.database_url)
    try:
        migrate(database)
        if settings.is_sqlite:
            Path(database.engine.url.database or "").chmod(0o600)
        with database.transaction() as session:
            if session.scalar(select(func.count()).select_from(User)):
                owner = session.scalars(select(User).order_by(User.created_at)).first()
                assert owner is not None
                agent = session.scalars(
                    select(CloudAgent).where(CloudAgent.is_default.is_(True))
                ).first()
                assert agent is not None
                return InitResult(
                    settings.data_dir,
                    False,
                    owner.uid,
                    owner.email,
                    agent.team_uid,
                    agent.uid,
                    None,
                )

            owner = create_user(session, owner_email)
            team = create_team(session, team_name, owner)
            if password is not None:
                set_password(session, owner.uid, password)
            agent = session.scalars(select(CloudAgent).where(CloudAgent.team_uid == team.uid)).one()
            principal = Principal("user", owner.uid, owner.display_name, owner.email)
            _, raw = create_key(
                session, settings.read_secret(), principal, "ozd init", expires_in="never"
            )
            return InitResult(
                settings.data_dir, True, owner.uid, owner.email, team.uid, agent.uid, raw.value
            )
    finally:
        database.dispose()

"""Turn a bearer token into a `Principal`, with a cache that revocation empties at once."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from oz import keys
from oz.auth import cli_sessions, revocations
from oz.auth.last_used import LastUseRecorder
from oz.clock import utcnow
from oz.db.engine import Database
from oz.db.models import ApiKey, CloudAgent, User
from oz.errors import AuthenticationRequired, UpstreamUnavailable
from oz.principal import Principal

BEARER = "bearer"


@dataclass(frozen=True)
class _CacheEntry:
    principal: Principal
    expires_at: datetime | None
    cached_until: float
    # The database's revocation epoch, read before the key: the entry is valid while
    # the epoch has not moved.
    revocation_epoch: int


class KeyVerifier:
    """Verify API keys against the database, caching recent successes.

    Revocation is immediate: a key delete announces itself after commit (see
    `oz.auth.revocations`), which empties the cache and bumps an epoch. A revocation
    by another process on the same data directory changes the marker file, which
    empties the cache at the next cache hit. A lookup that
    read the database before the delete committed finds the epoch changed and does not
    store its result, so no request that starts after a delete returned is accepted.
    """

    def __init__(
        self,
        database: Database,
        secret: bytes,
        cache_seconds: float,
        recorder: LastUseRecorder | None = None,
        marker: Path | None = None,
    ) -> None:
        self._database = database
        self._secret = secret
        self._cache_seconds = cache_seconds
        self._recorder = recorder
        self._cache: dict[str, _CacheEntry] = {}
        self._epoch = 0
        self._lock = threading.Lock()
        self._marker = marker
        self._marker_version = revocations.marker_version(marker) if marker else 0
        self._epoch_engine = None
        if database.engine.dialect.name == "postgresql":
            # One round trip per read: no BEGIN and ROLLBACK around it.
            self._epoch_engine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
        revocations.subscribe(self.invalidate)

    def close(self) -> None:
        revocations.unsubscribe(self.invalidate)

    def invalidate(self) -> None:
        with self._lock:
            self._epoch += 1
            self._cache.clear()

    def _marker_changed(self) -> bool:
        if self._marker is None:
            return False
        version = revocations.marker_version(self._marker)
        if version == self._marker_version:
            return False
        self._marker_version = version
        return True

    def authenticate_header(self, header: str | None) -> Principal:
        """Verify an `Authorization` header value."""
        if not header:
            raise AuthenticationRequired(
                "missing Authorization header: send 'Authorization: Bearer wk-...'"
            )
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != BEARER or not token.strip():
            raise AuthenticationRequired(
                "the Authorization header must be 'Bearer' followed by an API key"
            )
        return self.verify(token)

    def verify(self, token: str) -> Principal:
        if cli_sessions.is_session_token(token.strip()):
            return self._verify_session(token.strip())
        try:
            raw = keys.parse(token)
        except keys.KeyFormatError as exc:
            raise AuthenticationRequired(str(exc)) from None

        digest = keys.digest(raw, self._secret)
        now = utcnow()
        entry = self._cache.get(digest)
        if entry is not None and entry.cached_until > time.monotonic():
            if not self._marker_changed() and self._epoch_unchanged(entry):
                return self._accept(entry.principal, entry.expires_at, now)
            self.invalidate()

        with self._lock:
            epoch = self._epoch
        principal, expires_at, revocation_epoch = self._load(digest)
        with self._lock:
            if self._epoch == epoch and self._cache_seconds > 0:
                self._cache[digest] = _CacheEntry(
                    principal,
                    expires_at,
                    time.monotonic() + self._cache_seconds,
                    revocation_epoch,
                )
        return self._accept(principal, expires_at, now)

    def _epoch_unchanged(self, entry: _CacheEntry) -> bool:
        """Check a cached key against the database's revocation epoch.

        Only a shared PostgreSQL database can have replicas on other hosts. Processes that
        share a SQLite file are on one host, so the marker file reaches them. Without the
        database, refuse rather than trust the cache.
        """
        if self._epoch_engine is None:
            return True
        # NOTE: one primary-key read per cached request; notifications from the revoking
        # replica (LISTEN/NOTIFY with leases) could spare it.
        try:
            with self._epoch_engine.connect() as connection:
                value = connection.execute(revocations.EPOCH_QUERY).scalar()
        except SQLAlchemyError:
            raise UpstreamUnavailable(
                "the database cannot be reached, so the API key cannot be checked: retry"
            ) from None
        return int(value or 0) == entry.revocation_epoch

    def _verify_session(self, token: str) -> Principal:
        """Look up an `oz login` session on every request, so revoking it takes effect."""
        with self._database.read() as session:
            principal = cli_sessions.resolve(session, self._secret, token, utcnow())
        if principal is None:
            raise AuthenticationRequired(
                "the oz login session is not valid: it expired or was revoked; run `oz login` again"
            )
        return principal

    def _accept(
        self, principal: Principal, expires_at: datetime | None, now: datetime
    ) -> Principal:
        if expires_at is not None and expires_at <= now:
            raise AuthenticationRequired("the API key has expired: create a new one")
        if self._recorder is not None and principal.key_uid is not None:
            self._recorder.record(principal.key_uid, now)
        return principal

    def _load(self, digest: str) -> tuple[Principal, datetime | None, int]:
        with self._database.read() as session:
            revocation_epoch = revocations.read_epoch(session)
            row = session.execute(
                select(ApiKey, User, CloudAgent)
                .join(User, User.uid == ApiKey.creator_uid)
                .outerjoin(CloudAgent, CloudAgent.uid == ApiKey.agent_uid)
                .where(ApiKey.digest == digest, ApiKey.deleted_at.is_(None))
            ).one_or_none()
            if row is None:
                raise AuthenticationRequired(
                    "the API key is not valid: it is unknown, or it was deleted"
                    " (`oz api-key expire` deletes a key)"
                )
            key, user, agent = row

            if key.kind == "agent":
                if agent is None or agent.deleted_at is not None:
                    raise AuthenticationRequired(
                        "the API key's cloud agent was deleted: the key no longer works"
                    )
                principal = Principal(
                    type="service_account",
                    uid=agent.uid,
                    display_name=agent.name,
                    team_uid=agent.team_uid,
                    key_uid=key.uid,
                )
                return principal, key.expires_at, revocation_epoch

            if user.deleted_at is not None:
                raise AuthenticationRequired("the API key's user was deleted")
            principal = Principal(
                type="user",
                uid=user.uid,
                display_name=user.display_name,
                email=user.email,
                key_uid=key.uid,
            )
            return principal, key.expires_at, revocation_epoch

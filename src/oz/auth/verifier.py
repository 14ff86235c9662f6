"""Turn a bearer token into a `Principal`, with a cache that revocation empties at once."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from oz import keys
from oz.auth import cli_sessions, revocations
from oz.auth.epoch import UNREACHABLE_MESSAGE, EpochReader, PostgresEpoch
from oz.auth.last_used import LastUseRecorder
from oz.auth.marker import RevocationMarker
from oz.clock import utcnow
from oz.db.engine import Database
from oz.db.models import ApiKey, CloudAgent, Team, User
from oz.errors import AuthenticationRequired, UpstreamUnavailable
from oz.identity.teams import team_refs_of
from oz.principal import Principal, TeamRef

BEARER = "bearer"


def _bearer_token(header: str | None) -> str:
    if not header:
        raise AuthenticationRequired(
            "missing Authorization header: send 'Authorization: Bearer wk-...'"
        )
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != BEARER or not token.strip():
        raise AuthenticationRequired(
            "the Authorization header must be 'Bearer' followed by an API key"
        )
    return token


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

    Revocation is immediate. A key delete raises the database's revocation epoch in its
    transaction and, after commit, empties this process's cache (see
    `oz.auth.revocations`). Other processes on this host notice the marker file at their
    next cache hit. On PostgreSQL, whose replicas may run on other hosts, every cache hit
    also compares its entry's epoch with the database's. A lookup that read the database
    before the delete committed finds the local epoch changed and does not store its
    result. So no request that starts after a delete returned is accepted.
    """

    def __init__(
        self,
        database: Database,
        secret: bytes,
        cache_seconds: float,
        recorder: LastUseRecorder | None = None,
        marker: RevocationMarker | None = None,
    ) -> None:
        self._database = database
        self._secret = secret
        self._cache_seconds = cache_seconds
        self._recorder = recorder
        self._cache: dict[str, _CacheEntry] = {}
        self._epoch = 0
        self._lock = threading.Lock()
        self._marker = marker
        self._marker_seen = marker.read() if marker else b""
        self._epoch_engine = None
        self._postgres_epoch = None
        self._epoch_reader = None
        if database.engine.dialect.name == "postgresql":
            # One round trip per read: no BEGIN and ROLLBACK around it.
            self._epoch_engine = database.engine.execution_options(isolation_level="AUTOCOMMIT")
            self._postgres_epoch = PostgresEpoch(database.engine.url)
            self._epoch_reader = EpochReader(self._postgres_epoch.read)
        revocations.subscribe(self.invalidate)

    @property
    def epoch_reads(self) -> int:
        """Revocation-epoch reads the event-loop path has made (PostgreSQL only)."""
        return self._epoch_reader.reads if self._epoch_reader else 0

    def close(self) -> None:
        revocations.unsubscribe(self.invalidate)
        if self._postgres_epoch is not None:
            self._postgres_epoch.close()

    def invalidate(self) -> None:
        with self._lock:
            self._epoch += 1
            self._cache.clear()

    def _marker_changed(self) -> bool:
        if self._marker is None:
            return False
        current = self._marker.read()
        if current == self._marker_seen:
            return False
        self._marker_seen = current
        return True

    def authenticate_header(self, header: str | None) -> Principal:
        """Verify an `Authorization` header value."""
        return self.verify(_bearer_token(header))

    async def authenticate(self, header: str | None) -> Principal:
        """Verify an `Authorization` header from the event loop.

        A cached key is accepted in place, on PostgreSQL after an epoch read shared with
        concurrent requests. A cache miss and an `oz login` session are verified in a
        worker thread.
        """
        token = _bearer_token(header).strip()
        if not cli_sessions.is_session_token(token):
            digest = self._digest(token)
            entry = self._fresh_entry(digest)
            if entry is not None:
                if self._epoch_reader is None or (
                    await self._epoch_reader.read() == entry.revocation_epoch
                ):
                    return self._accept(entry.principal, entry.expires_at, utcnow())
                self.invalidate()
        return await to_thread.run_sync(self.verify, token)

    def verify(self, token: str) -> Principal:
        if cli_sessions.is_session_token(token.strip()):
            return self._verify_session(token.strip())
        digest = self._digest(token)
        principal = self._from_cache(digest)
        if principal is not None:
            return principal

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
        return self._accept(principal, expires_at, utcnow())

    def _digest(self, token: str) -> str:
        try:
            raw = keys.parse(token)
        except keys.KeyFormatError as exc:
            raise AuthenticationRequired(str(exc)) from None
        return keys.digest(raw, self._secret)

    def _fresh_entry(self, digest: str) -> _CacheEntry | None:
        """Return the key's cache entry, or None when it timed out or a revocation on this
        host emptied the cache. The caller checks the database's epoch."""
        entry = self._cache.get(digest)
        if entry is None or entry.cached_until <= time.monotonic():
            return None
        if self._marker_changed():
            self.invalidate()
            return None
        return entry

    def _from_cache(self, digest: str) -> Principal | None:
        """Return the cached principal of a key, or None when it must be looked up."""
        entry = self._fresh_entry(digest)
        if entry is None:
            return None
        if self._epoch_engine is not None and self._read_epoch() != entry.revocation_epoch:
            self.invalidate()
            return None
        return self._accept(entry.principal, entry.expires_at, utcnow())

    def _read_epoch(self) -> int:
        """Read the database's revocation epoch, or raise when it cannot be read.

        Only a shared PostgreSQL database can have replicas on other hosts. Processes that
        share a SQLite file are on one host, so the marker file reaches them. Without the
        database, refuse rather than trust the cache.
        """
        assert self._epoch_engine is not None
        try:
            with self._epoch_engine.connect() as connection:
                value = connection.execute(revocations.EPOCH_QUERY).scalar()
        except SQLAlchemyError:
            raise UpstreamUnavailable(UNREACHABLE_MESSAGE) from None
        return int(value or 0)

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
                select(ApiKey, User, CloudAgent, Team)
                .join(User, User.uid == ApiKey.creator_uid)
                .outerjoin(CloudAgent, CloudAgent.uid == ApiKey.agent_uid)
                .outerjoin(Team, Team.uid == CloudAgent.team_uid)
                .where(ApiKey.digest == digest, ApiKey.deleted_at.is_(None))
            ).one_or_none()
            if row is None:
                raise AuthenticationRequired(
                    "the API key is not valid: it is unknown, or it was deleted"
                    " (`oz api-key expire` deletes a key)"
                )
            key, user, agent, team = row

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
                    teams=(TeamRef(team.uid, team.name),) if team else (),
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
                teams=team_refs_of(session, user.uid),
            )
            return principal, key.expires_at, revocation_epoch

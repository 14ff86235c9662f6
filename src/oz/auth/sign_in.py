"""Sign-in with an email and a password, with a lockout after repeated failures.

Failures are counted per email address, whether or not a user has it, so neither the
error nor the lockout reveals whether an account exists. They are also counted per client
network address, so one client cannot try a password on many addresses. A successful
sign-in clears its email's count but not its client's: otherwise a client could clear
its count by signing in to its own account between guesses. Each step opens its own short
transaction. The slow password hash therefore runs outside any transaction, and a failure
is recorded even though the request that made it fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn, cast

from sqlalchemy import case, delete
from sqlalchemy.orm import InstrumentedAttribute, Session

from oz.auth import passwords
from oz.clock import ensure_utc, utcnow
from oz.db.engine import Database
from oz.db.models import SignInClientFailure, SignInFailure, User, UserPassword, WebSession
from oz.db.upsert import insert_for
from oz.errors import AuthenticationRequired, InvalidRequest, SignInLocked
from oz.identity.teams import find_user_by_email, normalize_email

MAX_FAILURES = 5
MAX_CLIENT_FAILURES = 20
LOCK_DURATION = timedelta(minutes=15)
CLIENT_MAX_LENGTH = 64
INCORRECT = "the email or password is incorrect"


def authenticate(
    database: Database,
    email: str,
    password: str,
    client: str | None = None,
    client_limit: int = MAX_CLIENT_FAILURES,
) -> User:
    """Return the user whose email and password these are.

    `client` is the network address the attempt came from, when known. `client_limit`
    failures from it within the lock's length lock it, and 0 counts none. Raises
    InvalidRequest for an address that is not an email, SignInLocked while the email or
    the client is locked (a correct password included), and AuthenticationRequired
    otherwise.
    """
    address = normalize_email(email)
    client = client[:CLIENT_MAX_LENGTH] if client and client_limit > 0 else None
    now = utcnow()
    with database.read() as session:
        _raise_if_locked(session, SignInFailure, address, now)
        if client is not None:
            _raise_if_locked(session, SignInClientFailure, client, now)
        user = find_user_by_email(session, address)
        stored = session.get(UserPassword, user.uid) if user is not None else None
        stored_hash = stored.hash if stored is not None else None

    # Verified even for an unknown address, so its response takes as long.
    matched = passwords.verify(stored_hash, password)
    if user is None or not matched:
        _fail(database, address, now, AuthenticationRequired(INCORRECT), client, client_limit)

    assert stored_hash is not None
    rehashed = passwords.hash_password(password) if passwords.needs_rehash(stored_hash) else None
    with database.transaction() as session:
        session.execute(delete(SignInFailure).where(SignInFailure.email == address))
        record = session.get(UserPassword, user.uid)
        if rehashed is not None and record is not None:
            record.hash = rehashed
    return user


def change_password(database: Database, user: User, current: str, new: str) -> None:
    """Replace the user's password after checking the current one.

    A wrong current password counts as a failed sign-in of the user's email. Raises
    InvalidRequest naming `current_password` or `new_password`, or SignInLocked.
    """
    now = utcnow()
    with database.read() as session:
        _raise_if_locked(session, SignInFailure, user.email, now)
        stored = session.get(UserPassword, user.uid)
        stored_hash = stored.hash if stored is not None else None

    if not passwords.verify(stored_hash, current):
        wrong = InvalidRequest("the current password is incorrect", field="current_password")
        _fail(database, user.email, now, wrong)
    passwords.check_rules(new, field="new_password")
    if new == current:
        raise InvalidRequest(
            "the new password must differ from the current one", field="new_password"
        )

    with database.transaction() as session:
        session.execute(delete(SignInFailure).where(SignInFailure.email == user.email))
        passwords.set_password(session, user.uid, new)


# The start of a lock's message, per kind of lock.
LOCK_MESSAGES = {
    "email": "too many failed sign-ins for this email",
    "client": "too many failed sign-ins from your network address",
}


def _raise_if_locked(
    session: Session,
    model: type[SignInFailure] | type[SignInClientFailure],
    key: str,
    now: datetime,
) -> None:
    record = cast("SignInFailure | SignInClientFailure | None", session.get(model, key))
    if record is not None and record.locked_until is not None:
        until = ensure_utc(record.locked_until)
        if until > now:
            raise _locked("email" if model is SignInFailure else "client", until, now)


def _locked(lock: str, until: datetime, now: datetime) -> SignInLocked:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    return SignInLocked(
        f"{LOCK_MESSAGES[lock]}: try again in {minutes} minutes", locked_until=until, lock=lock
    )


def _fail(
    database: Database,
    address: str,
    now: datetime,
    error: Exception,
    client: str | None = None,
    client_limit: int = MAX_CLIENT_FAILURES,
) -> NoReturn:
    """Record a failed attempt, then raise `error`, or SignInLocked if this one locks."""
    # One transaction per row, so that none locks one row while waiting for another,
    # which could deadlock on PostgreSQL.
    with database.transaction() as session:
        email_locked = _record_failure(
            session, SignInFailure, SignInFailure.email, address, now, MAX_FAILURES
        )
    client_locked = None
    if client is not None:
        with database.transaction() as session:
            client_locked = _record_failure(
                session,
                SignInClientFailure,
                SignInClientFailure.client,
                client,
                now,
                client_limit,
            )
    with database.transaction() as session:
        _forget_stale_failures(session, now)
    if email_locked is not None:
        raise _locked("email", email_locked, now)
    if client_locked is not None:
        raise _locked("client", client_locked, now)
    raise error


def _record_failure(
    session: Session,
    model: type[SignInFailure] | type[SignInClientFailure],
    key_column: InstrumentedAttribute[str],
    key: str,
    now: datetime,
    limit: int,
) -> datetime | None:
    """Count a failure of `key`, and return the end of the lock when it starts one."""
    # Failures older than a lock's length are forgotten, so a slow trickle never locks.
    stale = model.last_failure_at < now - LOCK_DURATION
    statement = (
        insert_for(session)(model)
        .values({key_column.key: key, "failures": 1, "last_failure_at": now, "locked_until": None})
        .on_conflict_do_update(
            index_elements=[key_column],
            set_={
                "failures": case((stale, 1), else_=model.failures + 1),
                "last_failure_at": now,
            },
        )
    )
    session.execute(statement)
    record = cast(
        "SignInFailure | SignInClientFailure | None",
        session.get(model, key, populate_existing=True),
    )
    assert record is not None
    if record.failures < limit:
        return None

    record.failures = 0
    record.locked_until = now + LOCK_DURATION
    return record.locked_until


def _forget_stale_failures(session: Session, now: datetime) -> None:
    """Delete the rows of addresses that stopped failing, so the tables stay small."""
    for model in (SignInFailure, SignInClientFailure):
        session.execute(
            delete(model).where(
                model.last_failure_at < now - LOCK_DURATION,
                model.locked_until.is_(None) | (model.locked_until < now),
            )
        )


def reset_sign_in(session: Session, user_uid: str, email: str) -> None:
    """End the user's web sessions and lift any lockout, as after an operator's reset."""
    session.execute(delete(WebSession).where(WebSession.user_uid == user_uid))
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))

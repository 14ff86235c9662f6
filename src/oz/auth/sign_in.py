"""Sign-in with an email and a password, with a lockout after repeated failures.

Failures are counted per email address, whether or not a user has it, so neither the
error nor the lockout reveals whether an account exists. Each step opens its own short
transaction. The slow password hash therefore runs outside any transaction, and a failure
is recorded even though the request that made it fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import case, delete
from sqlalchemy.orm import Session

from oz.auth import passwords
from oz.clock import ensure_utc, utcnow
from oz.db.engine import Database
from oz.db.models import SignInFailure, User, UserPassword, WebSession
from oz.db.upsert import insert_for
from oz.errors import AuthenticationRequired, InvalidRequest, SignInLocked
from oz.identity.teams import find_user_by_email, normalize_email

# NOTE: failures are counted per email address only. One client may still try a
# password on many addresses, because nothing limits attempts per client address yet.
MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
INCORRECT = "the email or password is incorrect"


def authenticate(database: Database, email: str, password: str) -> User:
    """Return the user whose email and password these are.

    Raises InvalidRequest for an address that is not an email, SignInLocked while the
    address is locked (a correct password included), and AuthenticationRequired otherwise.
    """
    address = normalize_email(email)
    now = utcnow()
    with database.read() as session:
        _raise_if_locked(session, address, now)
        user = find_user_by_email(session, address)
        stored = session.get(UserPassword, user.uid) if user is not None else None
        stored_hash = stored.hash if stored is not None else None

    # Verified even for an unknown address, so its response takes as long.
    matched = passwords.verify(stored_hash, password)
    if user is None or not matched:
        _fail(database, address, now, AuthenticationRequired(INCORRECT))

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
        _raise_if_locked(session, user.email, now)
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


def _raise_if_locked(session: Session, address: str, now: datetime) -> None:
    record = session.get(SignInFailure, address)
    if record is not None and record.locked_until is not None:
        until = ensure_utc(record.locked_until)
        if until > now:
            raise _locked(until, now)


def _locked(until: datetime, now: datetime) -> SignInLocked:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    return SignInLocked(
        f"too many failed sign-ins for this email: try again in {minutes} minutes",
        locked_until=until,
    )


def _fail(database: Database, address: str, now: datetime, error: Exception) -> NoReturn:
    """Record a failed attempt, then raise `error`, or SignInLocked if this one locks."""
    with database.transaction() as session:
        locked_until = _record_failure(session, address, now)
    # A separate transaction, so that it never locks one address's row while waiting
    # for another's, which could deadlock on PostgreSQL.
    with database.transaction() as session:
        _forget_stale_failures(session, now)
    if locked_until is not None:
        raise _locked(locked_until, now)
    raise error


def _record_failure(session: Session, address: str, now: datetime) -> datetime | None:
    """Count a failure; return the end of the lock when this failure starts one."""
    # Failures older than a lock's length are forgotten, so a slow trickle never locks.
    stale = SignInFailure.last_failure_at < now - LOCK_DURATION
    statement = (
        insert_for(session)(SignInFailure)
        .values(email=address, failures=1, last_failure_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[SignInFailure.email],
            set_={
                "failures": case((stale, 1), else_=SignInFailure.failures + 1),
                "last_failure_at": now,
            },
        )
    )
    session.execute(statement)
    record = session.get(SignInFailure, address, populate_existing=True)
    assert record is not None
    if record.failures < MAX_FAILURES:
        return None

    record.failures = 0
    record.locked_until = now + LOCK_DURATION
    return record.locked_until


def _forget_stale_failures(session: Session, now: datetime) -> None:
    """Delete the rows of addresses that stopped failing, so the table stays small."""
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.last_failure_at < now - LOCK_DURATION,
            SignInFailure.locked_until.is_(None) | (SignInFailure.locked_until < now),
        )
    )


def reset_sign_in(session: Session, user_uid: str, email: str) -> None:
    """End the user's web sessions and lift any lockout, as after an operator's reset."""
    session.execute(delete(WebSession).where(WebSession.user_uid == user_uid))
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))

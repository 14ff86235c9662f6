"""Passwords of local accounts: the length rule and argon2id hashes.

Passwords are low-entropy secrets that people choose, so unlike API keys they get a slow,
memory-hard hash: argon2id with argon2-cffi's default parameters (RFC 9106's low-memory
profile: 3 passes over 64 MiB, 4 lanes), about 0.1 s per hash on one core.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from oz.clock import utcnow
from oz.db.models import UserPassword
from oz.errors import InvalidRequest

MIN_LENGTH = 12
# argon2 hashes any length, but a cap keeps a pasted megabyte from being hashed.
MAX_LENGTH = 1024

DEFAULT_HASHER = PasswordHasher()
_hasher = DEFAULT_HASHER
# Unknown accounts are checked against this hash, so they take as long as known ones.
# It is made at first use, because each hash costs about 0.1 s.
_unknown_account_hash: str | None = None


def set_hasher(hasher: PasswordHasher | None) -> None:
    """Replace the hasher (tests use cheaper parameters); None restores the default."""
    global _hasher, _unknown_account_hash
    _hasher = hasher or DEFAULT_HASHER
    _unknown_account_hash = None


def _hash_of_no_account() -> str:
    global _unknown_account_hash
    if _unknown_account_hash is None:
        _unknown_account_hash = _hasher.hash("no account has this password")
    return _unknown_account_hash


def check_rules(password: str, field: str = "password") -> None:
    """Raise InvalidRequest, naming `field`, unless `password` has an allowed length."""
    if len(password) < MIN_LENGTH:
        raise InvalidRequest(
            f"the password must be at least {MIN_LENGTH} characters, got {len(password)}",
            field=field,
        )
    if len(password) > MAX_LENGTH:
        raise InvalidRequest(
            f"the password must be at most {MAX_LENGTH} characters, got {len(password)}",
            field=field,
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """Return whether `password` matches `stored_hash`; None (no password) never matches."""
    try:
        return _hasher.verify(stored_hash or _hash_of_no_account(), password) and (
            stored_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Return whether the hash was made with other parameters than the current ones."""
    return _hasher.check_needs_rehash(stored_hash)


def set_password(session: Session, user_uid: str, password: str) -> None:
    """Check the rules and store the password's hash, replacing any previous one."""
    check_rules(password)
    record = session.get(UserPassword, user_uid)
    if record is None:
        session.add(UserPassword(user_uid=user_uid, hash=hash_password(password)))
        return
    record.hash = hash_password(password)
    record.changed_at = utcnow()

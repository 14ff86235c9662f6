"""GitHub accounts approved in a browser for `oz github connect`, waiting for their code.

An authorization URL started from the terminal names only the user who asked for it, not
the browser that will open it. If the callback connected the account at once, a URL
passed to someone else would connect their GitHub account to the asker. So the callback
keeps the checked token here and shows a one-time code. The account is connected only
when the asker enters that code, and the page asks the person at the browser to close it
if they did not start connecting themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from oz.db.models import GitHubAccount, GitHubPendingConnection
from oz.errors import InvalidRequest, ResourceNotFound
from oz.github.accounts import require_human, store_account
from oz.github.client import GitHubUser
from oz.github.sealing import derive_key, seal, unseal
from oz.principal import Principal

LIFETIME = timedelta(minutes=10)
# Letters without vowels or look-alikes, as for device codes: 20^12 codes, about 52 bits.
CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
CODE_LETTERS = 12
CODE_GROUP = 4
UNKNOWN_CODE = (
    "no GitHub connection is waiting for this code: it is mistyped, older than ten"
    " minutes, or was started by another user; run `oz github connect` again"
)


def _new_code() -> str:
    letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LETTERS))
    groups = [letters[start : start + CODE_GROUP] for start in range(0, CODE_LETTERS, CODE_GROUP)]
    return "-".join(groups)


def normalize_code(text: str) -> str:
    """Return the code's letters in upper case, without the dashes and spaces people type."""
    return "".join(char for char in text.upper() if char.isalnum())


def _digest(secret: bytes, code: str) -> str:
    key = derive_key(secret, b"oz github connect code v1")
    return hmac.new(key, normalize_code(code).encode(), hashlib.sha256).hexdigest()


def create_pending(
    session: Session, secret: bytes, user_uid: str, user: GitHubUser, token: str, now: datetime
) -> str:
    """Keep a checked token for `user_uid` until its code is entered; return the code."""
    session.execute(
        delete(GitHubPendingConnection).where(GitHubPendingConnection.expires_at <= now)
    )
    code = _new_code()
    digest = _digest(secret, code)
    session.add(
        GitHubPendingConnection(
            code_digest=digest,
            user_uid=user_uid,
            github_id=user.id,
            login=user.login,
            name=user.name,
            email=user.email,
            token_sealed=seal(secret, token.strip(), digest),
            expires_at=now + LIFETIME,
        )
    )
    return code


def confirm_pending(
    session: Session, secret: bytes, principal: Principal, code: str, now: datetime
) -> GitHubAccount:
    """Connect the account waiting for `code`, if the caller started it; raise otherwise."""
    require_human(principal)
    if len(normalize_code(code)) != CODE_LETTERS:
        raise InvalidRequest(
            f"code must be the {CODE_LETTERS} letters the approval page shows, such as"
            " BCDF-GHJK-LMNP",
            field="code",
        )
    pending = session.get(GitHubPendingConnection, _digest(secret, code))
    if pending is None or pending.user_uid != principal.uid or pending.expires_at <= now:
        raise ResourceNotFound(UNKNOWN_CODE)
    token = unseal(secret, pending.token_sealed, pending.code_digest)
    user = GitHubUser(pending.github_id, pending.login, pending.name, pending.email)
    session.delete(pending)
    return store_account(session, secret, principal.uid, user, token)

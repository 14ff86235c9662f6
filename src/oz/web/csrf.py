"""CSRF tokens for every POST form, derived from the server secret and what they bind to.

A signed-in form's token binds to its session. The sign-in form's token binds to a
random cookie set with the form, because no session exists yet. A token is an HMAC, so
nothing is stored, and a token of one session is rejected in another.
"""

from __future__ import annotations

import hashlib
import hmac

FIELD = "csrf_token"


def token_for(secret: bytes, binding: str) -> str:
    return hmac.new(secret, b"oz csrf\0" + binding.encode(), hashlib.sha256).hexdigest()


def is_valid(secret: bytes, binding: str | None, submitted: str | None) -> bool:
    """Return whether `submitted` is the token of `binding`, in constant time."""
    if not binding or not submitted:
        return False
    return hmac.compare_digest(token_for(secret, binding), submitted)


class CsrfRejected(Exception):
    """A POST form arrived without the CSRF token of the session or form that sent it."""

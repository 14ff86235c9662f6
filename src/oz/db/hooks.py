"""Run callbacks once a session's transaction has committed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Call `callback` after `session` commits; a rollback drops it."""

    def after_commit(_session: Session) -> None:
        callback()

    def after_rollback(_session: Session, _previous_transaction: object) -> None:
        if event.contains(session, "after_commit", after_commit):
            event.remove(session, "after_commit", after_commit)

    event.listen(session, "after_commit", after_commit, once=True)
    event.listen(session, "after_soft_rollback", after_rollback, once=True)

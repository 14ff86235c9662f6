"""Runs and automatic reloads: top up a run's payer before admission and before charges.

Reloads commit in their own transactions (see `oz.billing.reload`), so these functions
take the database, not a session.
"""

from __future__ import annotations

from oz.billing.charges import OutOfCredits
from oz.billing.plans import ADMISSION_MINIMUM_MILLI, PlanCatalog, to_milli
from oz.billing.reload import Reload, Reloader
from oz.clock import utcnow
from oz.db.engine import Database
from oz.db.models import Run
from oz.errors import BudgetExceeded
from oz.github.identity import GitHubLinks
from oz.principal import Principal
from oz.runs.service import RunRequest, create_run


def start_run(
    database: Database,
    catalog: PlanCatalog,
    reloader: Reloader | None,
    principal: Principal,
    request: RunRequest,
    github_links: GitHubLinks | None = None,
) -> Run:
    """Admit and record a run; when credits are short, try one automatic reload first.

    Raises `BudgetExceeded` when the team's monthly spend cap is what blocks the reload.
    """
    try:
        with database.transaction() as session:
            return create_run(session, principal, request, catalog, github_links)
    except OutOfCredits as exc:
        if reloader is None:
            raise
        payer = exc.payer
        outcome = reloader.top_up(
            payer.team_uid,
            payer.attributed_type,
            payer.attributed_uid,
            ADMISSION_MINIMUM_MILLI,
            utcnow(),
        )
        if outcome is Reload.CAPPED:
            raise BudgetExceeded(
                "the team's monthly spend cap is reached, so no credits can be reloaded:"
                " ask a team admin to raise the cap"
            ) from exc
        if outcome is not Reload.RELOADED:
            raise
    with database.transaction() as session:
        return create_run(session, principal, request, catalog, github_links)


def fund_usage(
    database: Database, reloader: Reloader | None, run_uid: str, credits: float
) -> Reload:
    """Reload the run's payer, if needed and allowed, so `credits` of usage can be paid."""
    if reloader is None:
        return Reload.OFF
    with database.read() as session:
        run = session.get(Run, run_uid)
        if run is None:
            return Reload.NOT_NEEDED
        team_uid, creator_type = run.team_uid, run.creator_type
        creator_uid = run.creator_user_uid or run.creator_agent_uid
    assert creator_uid is not None
    return reloader.top_up(team_uid, creator_type, creator_uid, to_milli(credits), utcnow())

"""Self-hosted workers: `oz worker` processes that execute a team's runs over the REST API.

A self-hosted worker authenticates with an agent key and claims the runs of that key's
team that are routed to its id (`config.worker_host`) or to no worker. The claim records
the run's first heartbeat. Only runs claimed this way accept heartbeats, usage and the
final report, and only from the worker id that claimed them.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from oz.billing.plans import PlanCatalog
from oz.clock import utcnow
from oz.db.engine import Database
from oz.db.models import Run
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.github.context import GitHubContext
from oz.principal import Principal
from oz.runs import execution, states
from oz.runs.service import WORKER_HOST_RESERVED_PREFIX
from oz.runs.starting import StartedRun, start_claimed

WORKER_ID_MAX_LENGTH = 200
# Runs one claim request may end before their harness (a bad environment, say) before
# it returns nothing, so one request stays short.
CLAIM_ATTEMPTS = 5


def validate_worker_id(worker_id: str) -> str:
    """Return `worker_id`, or raise InvalidRequest naming what is wrong with it."""
    if not 1 <= len(worker_id) <= WORKER_ID_MAX_LENGTH or not worker_id.strip():
        raise InvalidRequest(
            f"worker id must be 1 to {WORKER_ID_MAX_LENGTH} characters and not blank",
            field="worker_id",
        )
    if worker_id.lower().startswith(WORKER_HOST_RESERVED_PREFIX):
        raise InvalidRequest(
            f"worker id {worker_id!r} must not start with 'warp': that prefix names hosted workers",
            field="worker_id",
        )
    return worker_id


def worker_team(principal: Principal) -> str:
    """Return the team a worker's key serves; raise NotAuthorized for a personal key."""
    if principal.type != "service_account" or principal.team_uid is None:
        raise NotAuthorized(
            "self-hosted workers authenticate with an agent key: create one with"
            " `oz api-key create NAME --agent AGENT_UID`"
        )
    return principal.team_uid


def claim(
    database: Database,
    catalog: PlanCatalog,
    github: GitHubContext,
    secret: bytes,
    principal: Principal,
    worker_id: str,
) -> StartedRun | None:
    """Claim and start the oldest run the worker may take; None when there is none.

    The run is INPROGRESS when this returns, with its environment and GitHub
    credentials, as the embedded worker would start it.
    """
    team_uid = worker_team(principal)
    validate_worker_id(worker_id)
    for _ in range(CLAIM_ATTEMPTS):
        with database.transaction() as session:
            run = execution.claim_next(session, worker_id, team_uid=team_uid, heartbeat=True)
            if run is None:
                return None
            uid = run.uid
        started = start_claimed(database, catalog, github, secret, uid, worker_id)
        if started is not None:
            return started
    return None


def claimed_run(session: Session, principal: Principal, worker_id: str, uid: str) -> Run:
    """Return a run that `worker_id` of the principal's team claimed, or raise."""
    team_uid = worker_team(principal)
    run = session.get(Run, uid)
    if run is None or run.team_uid != team_uid:
        raise ResourceNotFound(f"run {uid!r} not found")
    if run.claimed_by != worker_id or run.heartbeat_at is None:
        raise NotAuthorized(f"run {uid} is executed by another worker, not by {worker_id!r}")
    return run


def heartbeat(session: Session, principal: Principal, worker_id: str, uid: str) -> str:
    """Record that the worker still executes the run; return the run's state.

    A run that ended meanwhile (cancelled, or swept) keeps its state, and the worker
    stops its harness when it reads it.
    """
    run = claimed_run(session, principal, worker_id, uid)
    session.execute(
        update(Run)
        .where(Run.uid == uid, Run.claimed_by == worker_id)
        .where(Run.state.in_((states.CLAIMED, states.INPROGRESS)))
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(run)
    return run.state

"""Start a claimed run: mark it INPROGRESS, resolve its environment, obtain its credentials.

The embedded worker and the claim endpoint of self-hosted workers share these steps, so a
run gets the same environment and GitHub identity wherever it executes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from oz.billing.plans import PlanCatalog
from oz.clock import utcnow
from oz.db.engine import Database
from oz.db.models import Run
from oz.errors import OzError, ResourceUnavailable
from oz.github.context import GitHubContext
from oz.github.credentials import RunCredentials, obtain, status_message
from oz.github.identity import IdentityPlan, plan_identity
from oz.runs import execution, states
from oz.runs.environments import RunEnvironment, environment_id_of, run_environment

logger = logging.getLogger("oz.worker")


@dataclass(frozen=True)
class StartedRun:
    """A run in INPROGRESS with everything its harness needs; `repr` hides the tokens."""

    uid: str
    prompt: str
    environment: RunEnvironment
    credentials: RunCredentials


def start_claimed(
    database: Database,
    catalog: PlanCatalog,
    github: GitHubContext,
    secret: bytes,
    uid: str,
    worker_id: str,
) -> StartedRun | None:
    """Start a run `worker_id` claimed, or return None when it will not run.

    None means the run was cancelled after the claim, or its environment or GitHub
    identity could not be set up, in which case the run has ended FAILED (ERROR when
    the cause is on the platform's side).
    """
    with database.transaction() as session:
        if not execution.mark_started(session, uid, worker_id):
            return None
        run = session.get(Run, uid)
        assert run is not None
        prompt = run.prompt
        try:
            environment = run_environment(
                session,
                run.team_uid,
                environment_id_of(session, run.agent_config, run.creator_agent_uid),
                at_start=True,
            )
            plan: IdentityPlan | None = plan_identity(
                session,
                creator_type=run.creator_type,
                user_uid=run.creator_user_uid,
                team_uid=run.team_uid,
                repos=environment.repos,
                links=github.links,
                now=utcnow(),
            )
            failure: OzError | None = None
        except OzError as error:
            plan, failure = None, error
    logger.info("worker %s started run %s", worker_id, uid)

    if failure is not None or plan is None:
        assert failure is not None
        _end_before_harness(database, catalog, uid, worker_id, failure)
        return None
    try:
        credentials = obtain(plan, github.client, github.app, secret, github.links, utcnow())
    except OzError as error:
        _end_before_harness(database, catalog, uid, worker_id, error)
        return None
    with database.transaction() as session:
        execution.record_github_identity(session, uid, credentials.identity)
    return StartedRun(uid, prompt, environment, credentials)


def _end_before_harness(
    database: Database, catalog: PlanCatalog, uid: str, worker_id: str, failure: OzError
) -> None:
    """End a run whose environment or GitHub identity could not be set up."""
    state = states.ERROR if isinstance(failure, ResourceUnavailable) else states.FAILED
    result = execution.RunResult(state=state, status_message=status_message(failure))
    with database.transaction() as session:
        execution.complete(session, catalog, uid, worker_id, result)
    logger.info("worker %s ended run %s before its harness: %s", worker_id, uid, failure)

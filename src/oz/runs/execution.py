"""The executor's side of a run: claim, start, report and finish.

Workers claim queued runs with a conditional update, so two workers never claim the
same run. A local run is executed by the `oz` process that created it, which reports
its end with the same key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from oz.billing.charges import Charge, charge_usage
from oz.billing.plans import PlanCatalog, format_credits, to_milli
from oz.clock import utcnow
from oz.db.models import Run, UsageReport
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.principal import Principal
from oz.runs import states
from oz.runs.service import finish_run, get_run

OUTPUT_MAX_CHARS = 1_000_000
FINAL_REPORT = "final"  # the usage report id of a run's final report
CLAIM_CANDIDATES = 5


@dataclass(frozen=True)
class RunResult:
    """The end of a run, as its executor reports it."""

    state: str
    status_message: dict[str, Any] | None = None
    output: str | None = None
    inference_cost: float = 0.0
    compute_cost: float = 0.0


def claim_next(
    session: Session, worker_id: str, *, team_uid: str | None = None, heartbeat: bool = False
) -> Run | None:
    """Claim the oldest queued run this worker may take, or return None.

    `team_uid` limits the claim to one team's runs, as for a self-hosted worker. With
    `heartbeat`, the claim records the first heartbeat, so the sweep ends the run when
    its worker goes silent.
    """
    query = (
        select(Run.uid)
        .where(Run.state == states.QUEUED)
        .where(or_(Run.worker_host.is_(None), Run.worker_host == worker_id))
        .order_by(Run.created_at, Run.uid)
        .limit(CLAIM_CANDIDATES)
    )
    if team_uid is not None:
        query = query.where(Run.team_uid == team_uid)
    candidates = session.scalars(query).all()
    for uid in candidates:
        now = utcnow()
        claimed = session.execute(
            update(Run)
            .where(Run.uid == uid, Run.state == states.QUEUED)
            .values(
                state=states.CLAIMED,
                claimed_by=worker_id,
                updated_at=now,
                heartbeat_at=now if heartbeat else None,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(Run, uid, populate_existing=True)
    return None


def mark_started(session: Session, uid: str, worker_id: str) -> bool:
    """Move a claimed run to INPROGRESS; False if it was cancelled meanwhile."""
    now = utcnow()
    started = session.execute(
        update(Run)
        .where(Run.uid == uid, Run.state == states.CLAIMED, Run.claimed_by == worker_id)
        .values(state=states.INPROGRESS, started_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(started.rowcount == 1)  # type: ignore[attr-defined]


def record_github_identity(session: Session, uid: str, identity: dict[str, Any]) -> None:
    """Record the GitHub identity a started run acts as."""
    session.execute(
        update(Run)
        .where(Run.uid == uid)
        .values(github_identity=identity)
        .execution_options(synchronize_session=False)
    )


def current_state(session: Session, uid: str) -> str | None:
    return session.scalar(select(Run.state).where(Run.uid == uid))


def complete(
    session: Session,
    catalog: PlanCatalog,
    uid: str,
    executor: str,
    result: RunResult,
    *,
    capped: bool = False,
) -> bool:
    """Record how a run ended and charge its final usage; False if it had already ended.

    A run whose pools cannot pay for its final usage ends FAILED with
    `insufficient_credits`, whatever the executor reported.
    """
    run = session.get(Run, uid, with_for_update=True)
    if run is None:
        raise ResourceNotFound(f"run {uid!r} not found")
    if run.claimed_by != executor:
        raise NotAuthorized(f"run {uid} is executed by another worker")
    if run.state in states.TERMINAL_STATES:
        return False

    _validate_result(result)
    charge = _record_usage(session, catalog, run, FINAL_REPORT, result)
    if charge.shortfall_milli > 0:
        finish_run(run, states.FAILED, _out_of_credits(charge, capped))
    else:
        finish_run(run, result.state, result.status_message)
    if result.output is not None:
        run.output = _truncate(result.output)
    session.flush()
    return True


def report_usage(
    session: Session,
    catalog: PlanCatalog,
    principal: Principal,
    uid: str,
    report_id: str,
    result: RunResult,
    *,
    capped: bool = False,
) -> Charge:
    """Charge usage a local run's executor reports while the run works.

    A retried report (same `report_id`) is charged once. When the pools cannot cover it,
    the run ends FAILED with `insufficient_credits`.
    """
    check_usage(session, principal, uid)
    run = _local_run_of(session, principal, uid)
    return _charge_report(session, catalog, run, report_id, result, capped)


def report_executor_usage(
    session: Session,
    catalog: PlanCatalog,
    uid: str,
    executor: str,
    report_id: str,
    result: RunResult,
    *,
    capped: bool = False,
) -> Charge | None:
    """Charge usage a worker's harness reported while the run works.

    Returns None when the run already ended, so there is nothing left to charge.
    """
    run = session.get(Run, uid, with_for_update=True)
    if run is None:
        raise ResourceNotFound(f"run {uid!r} not found")
    if run.claimed_by != executor:
        raise NotAuthorized(f"run {uid} is executed by another worker")
    if run.state in states.TERMINAL_STATES:
        return None
    return _charge_report(session, catalog, run, report_id, result, capped)


def _charge_report(
    session: Session,
    catalog: PlanCatalog,
    run: Run,
    report_id: str,
    result: RunResult,
    capped: bool,
) -> Charge:
    charge = _record_usage(session, catalog, run, report_id, result)
    if charge.shortfall_milli > 0 and run.state not in states.TERMINAL_STATES:
        finish_run(run, states.FAILED, _out_of_credits(charge, capped))
    session.flush()
    return charge


def _record_usage(
    session: Session, catalog: PlanCatalog, run: Run, report_id: str, result: RunResult
) -> Charge:
    amount = to_milli(result.inference_cost) + to_milli(result.compute_cost)
    charge = charge_usage(session, catalog, run, report_id, amount, utcnow())
    if not charge.repeated:
        run.inference_cost += max(result.inference_cost, 0.0)
        run.compute_cost += max(result.compute_cost, 0.0)
        run.updated_at = utcnow()
    return charge


def _out_of_credits(charge: Charge, capped: bool) -> dict[str, Any]:
    """Describe a run stopped by unpaid usage; `capped` when the spend cap blocked a reload."""
    unpaid = f"{format_credits(charge.shortfall_milli)} credits of usage could not be paid"
    if capped:
        return {
            "message": f"the team's monthly spend cap is reached: {unpaid}; ask a team admin"
            " to raise the cap",
            "error_code": "budget_exceeded",
            "retryable": False,
        }
    return {
        "message": f"the run's credits ran out: {unpaid}; buy add-on credits with"
        " `oz credits buy` where the server has a payment processor, or ask the server's"
        " operator to grant some",
        "error_code": "insufficient_credits",
        "retryable": False,
    }


def _local_run_of(session: Session, principal: Principal, uid: str) -> Run:
    run = get_run(session, principal, uid)
    if run.execution_location != states.LOCAL or run.api_key_uid != principal.key_uid:
        raise NotAuthorized(
            f"run {uid} is not a local run of this key: only its executor may report it"
        )
    return run


def check_report(session: Session, principal: Principal, uid: str, result: RunResult) -> bool:
    """Raise for a report that `report_local` would reject, before anything is paid.

    Returns False for a retry of a final report that was already recorded: the caller
    returns the run as it is, so a lost response can be retried safely.
    """
    run = _local_run_of(session, principal, uid)
    _validate_result(result)
    if run.state not in states.TERMINAL_STATES:
        return True
    final = session.get(UsageReport, (uid, FINAL_REPORT))
    usage = to_milli(result.inference_cost) + to_milli(result.compute_cost)
    stopped_for_credits = (run.status_message or {}).get("error_code") in (
        "insufficient_credits",
        "budget_exceeded",
    )
    same_end = run.state == result.state or stopped_for_credits
    if final is not None and final.requested_milli == usage and same_end:
        return False
    raise InvalidRequest(f"run {uid} already ended in state {run.state}")


def check_usage(session: Session, principal: Principal, uid: str) -> None:
    """Raise unless the principal executes this local run and it is still working."""
    run = _local_run_of(session, principal, uid)
    if run.state in states.TERMINAL_STATES:
        raise InvalidRequest(
            f"run {uid} already ended in state {run.state}: usage is reported while a run"
            " works, and its last usage comes with its final report"
        )


def report_local(
    session: Session,
    catalog: PlanCatalog,
    principal: Principal,
    uid: str,
    result: RunResult,
    *,
    capped: bool = False,
) -> Run:
    """Record the end of a local run, reported by the key that created it."""
    run = _local_run_of(session, principal, uid)
    if run.state in states.TERMINAL_STATES:
        raise InvalidRequest(f"run {uid} already ended in state {run.state}")
    complete(session, catalog, uid, f"local:{principal.key_uid}", result, capped=capped)
    return run


def _validate_result(result: RunResult) -> None:
    if result.state not in states.REPORTED_END_STATES:
        raise InvalidRequest(
            f"state must be one of {', '.join(states.REPORTED_END_STATES)}", field="state"
        )
    for field in ("inference_cost", "compute_cost"):
        if getattr(result, field) < 0:
            raise InvalidRequest(f"request_usage.{field} must not be negative", field=field)
    message = result.status_message
    if message is not None and not isinstance(message.get("message"), str):
        raise InvalidRequest(
            "status_message.message must be a string", field="status_message.message"
        )


def _truncate(output: str) -> str:
    if len(output) <= OUTPUT_MAX_CHARS:
        return output
    return output[:OUTPUT_MAX_CHARS] + "\n[output truncated]"

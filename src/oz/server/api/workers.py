"""`/workers/{worker_id}`: self-hosted workers claim runs, send heartbeats, report usage and ends.

Every call needs an agent key, and a worker reaches only the runs of its key's team. The
claim response contains the run's GitHub tokens, so it is sent with `Cache-Control:
no-store`, and the access log records its path and status only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from oz.billing.plans import to_credits
from oz.billing.reload import Reload
from oz.runs import execution, funding, self_hosted
from oz.runs.starting import StartedRun
from oz.server.api.runs import ReportBody, UsageReportBody
from oz.server.deps import CurrentPrincipal, State

router = APIRouter(tags=["workers"])


def _assignment(started: StartedRun, github_url: str, timeout_seconds: float) -> dict[str, Any]:
    credentials = started.credentials
    environment = started.environment
    return {
        "run": {"run_id": started.uid, "prompt": started.prompt},
        "environment": {
            "uid": environment.uid,
            "repos": list(environment.repos),
            "setup_commands": list(environment.setup_commands),
        },
        "github": {
            "github_url": github_url,
            "identity": credentials.identity,
            "tokens": credentials.tokens,
            "author": list(credentials.author) if credentials.author else None,
            "refusal": credentials.refusal,
        },
        "timeout_seconds": timeout_seconds,
    }


@router.post(
    "/workers/{worker_id}/claim",
    summary="Claim and start the oldest run this self-hosted worker may execute",
    responses={204: {"description": "no run is queued for this worker"}},
)
def claim_run(worker_id: str, principal: CurrentPrincipal, state: State) -> Response:
    started = self_hosted.claim(
        state.database,
        state.settings.catalog,
        state.github,
        state.secret,
        principal,
        worker_id,
    )
    if started is None:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    body = _assignment(started, state.github.github_url, state.settings.run_timeout_seconds)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post(
    "/workers/{worker_id}/runs/{run_id}/heartbeat",
    summary="Record that the worker still executes the run; returns the run's state",
)
def heartbeat(
    worker_id: str, run_id: str, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    with state.database.transaction() as session:
        run_state = self_hosted.heartbeat(session, principal, worker_id, run_id)
    return {"run_id": run_id, "state": run_state}


@router.post(
    "/workers/{worker_id}/runs/{run_id}/usage",
    summary="Report usage of a run while the worker executes it; a retried report_id is"
    " charged once",
)
def report_usage(
    worker_id: str,
    run_id: str,
    body: UsageReportBody,
    principal: CurrentPrincipal,
    state: State,
) -> dict[str, Any]:
    with state.database.read() as session:
        self_hosted.claimed_run(session, principal, worker_id, run_id)
    result = execution.RunResult(
        state="SUCCEEDED", inference_cost=body.inference_cost, compute_cost=body.compute_cost
    )
    reload = funding.fund_usage(
        state.database, state.reloader, run_id, body.inference_cost + body.compute_cost
    )
    with state.database.transaction() as session:
        charge = execution.report_executor_usage(
            session,
            state.settings.catalog,
            run_id,
            worker_id,
            body.report_id,
            result,
            capped=reload is Reload.CAPPED,
        )
        run_state = self_hosted.claimed_run(session, principal, worker_id, run_id).state
    funding.fund_usage(state.database, state.reloader, run_id, 0)
    return {
        "run_id": run_id,
        "report_id": body.report_id,
        "charged_credits": to_credits(charge.charged_milli) if charge else 0.0,
        "shortfall_credits": to_credits(charge.shortfall_milli) if charge else 0.0,
        "repeated": charge.repeated if charge else False,
        "recorded": charge is not None,
        "state": run_state,
    }


@router.post(
    "/workers/{worker_id}/runs/{run_id}/report",
    summary="Report how a run ended; a run that already ended keeps its state",
)
def report_end(
    worker_id: str,
    run_id: str,
    body: ReportBody,
    principal: CurrentPrincipal,
    state: State,
) -> dict[str, Any]:
    result = body.result()
    with state.database.read() as session:
        self_hosted.claimed_run(session, principal, worker_id, run_id)
    reload = funding.fund_usage(
        state.database, state.reloader, run_id, result.inference_cost + result.compute_cost
    )
    with state.database.transaction() as session:
        recorded = execution.complete(
            session,
            state.settings.catalog,
            run_id,
            worker_id,
            result,
            capped=reload is Reload.CAPPED,
        )
        run_state = self_hosted.claimed_run(session, principal, worker_id, run_id).state
    funding.fund_usage(state.database, state.reloader, run_id, 0)
    return {"run_id": run_id, "state": run_state, "recorded": recorded}

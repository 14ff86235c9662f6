"""`/agent/runs`: start, read, list and cancel runs; executors report how they ended."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from oz.billing.charges import run_breakdown
from oz.billing.plans import to_credits
from oz.billing.reload import Reload
from oz.clock import isoformat
from oz.db.models import Run, User
from oz.github.identity import GitHubLinks
from oz.runs import execution, funding, states
from oz.runs.listing import RunQuery, list_runs
from oz.runs.service import RunRequest, cancel_run, get_run
from oz.server.deps import CurrentPrincipal, Links, State

router = APIRouter(tags=["runs"])


class RunBody(BaseModel):
    # The hosted service accepts more fields (skill, metadata, attachments, ...); they
    # are accepted and ignored so clients written for it work unchanged.
    model_config = ConfigDict(extra="ignore")

    prompt: str = Field(description="what the agent should do")
    config: dict[str, Any] | None = Field(
        None, description="agent config: name, environment_id, model_id, worker_host, ..."
    )
    title: str | None = None
    team: str | bool | None = Field(None, description="team uid to run in")
    agent_identity_uid: str | None = Field(None, description="run as this cloud agent")
    source: str = Field("API", description="where the run was started: API, CLI, LOCAL, ...")
    execution_location: Literal["LOCAL", "REMOTE"] = Field(
        "REMOTE", description="LOCAL runs are executed and reported by the caller"
    )


# Usage of one report, in credits: far above any real run, far below float trouble.
MAX_REPORT_CREDITS = 1_000_000


class UsageBody(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    inference_cost: float = Field(default=0.0, ge=0, le=MAX_REPORT_CREDITS, description="credits")
    compute_cost: float = Field(default=0.0, ge=0, le=MAX_REPORT_CREDITS, description="credits")


class StatusMessageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str
    error_code: str | None = None
    retryable: bool | None = None


class ReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["SUCCEEDED", "FAILED", "ERROR", "CANCELLED"]
    status_message: StatusMessageBody | None = None
    output: str | None = None
    request_usage: UsageBody | None = None

    def result(self) -> execution.RunResult:
        """Return the reported end of the run, with its final usage."""
        usage = self.request_usage or UsageBody()
        status_message = None
        if self.status_message is not None:
            status_message = self.status_message.model_dump(exclude_none=True)
        return execution.RunResult(
            state=self.state,
            status_message=status_message,
            output=self.output,
            inference_cost=usage.inference_cost,
            compute_cost=usage.compute_cost,
        )


def run_item(session: Session, run: Run) -> dict[str, Any]:
    """Render a run as the Oz RunItem object."""
    email = None
    if run.creator_user_uid is not None:
        user = session.get(User, run.creator_user_uid)
        email = user.email if user else None
    item: dict[str, Any] = {
        "run_id": run.uid,
        "task_id": run.uid,
        "title": run.title,
        "state": run.state,
        "prompt": run.prompt,
        "created_at": isoformat(run.created_at),
        "updated_at": isoformat(run.updated_at),
        "started_at": isoformat(run.started_at),
        "ended_at": isoformat(run.ended_at),
        "status_message": run.status_message,
        "source": run.source,
        "execution_location": run.execution_location,
        "creator": {
            "type": run.creator_type,
            "uid": run.creator_user_uid or run.creator_agent_uid,
            "display_name": run.creator_name,
            "email": email,
        },
        "api_key_uid": run.api_key_uid,
        "request_usage": {
            "inference_cost": run.inference_cost,
            "compute_cost": run.compute_cost,
        },
        "scope": {"type": run.scope_type, "uid": run.scope_uid},
        "github_identity": run.github_identity or {"type": "none"},
        "agent_config": run.agent_config or {},
        "artifacts": [],
        "is_run_type_cancellable": run.execution_location == states.REMOTE,
        "output": run.output,
    }
    if run.started_at is not None and run.ended_at is not None:
        item["run_time"] = f"PT{(run.ended_at - run.started_at).total_seconds():.3f}S"
    return item


def _start(
    body: RunBody, principal: CurrentPrincipal, state: State, links: GitHubLinks
) -> dict[str, Any]:
    request = RunRequest(
        prompt=body.prompt,
        config=body.config or {},
        title=body.title,
        team_uid=body.team if isinstance(body.team, str) else None,
        agent_identity_uid=body.agent_identity_uid,
        source=body.source,
        execution_location=body.execution_location,
    )
    run = funding.start_run(
        state.database, state.settings.catalog, state.reloader, principal, request, links
    )
    return {"run_id": run.uid, "task_id": run.uid, "state": run.state, "at_capacity": False}


@router.post("/agent/runs", summary="Start a run")
def start_run(
    body: RunBody, principal: CurrentPrincipal, state: State, links: Links
) -> dict[str, Any]:
    return _start(body, principal, state, links)


@router.post("/agent/run", summary="Start a run (older path of POST /agent/runs)")
def start_run_alias(
    body: RunBody, principal: CurrentPrincipal, state: State, links: Links
) -> dict[str, Any]:
    return _start(body, principal, state, links)


@router.get("/agent/runs", summary="List runs, newest first, with cursor pagination")
def list_agent_runs(
    principal: CurrentPrincipal,
    state: State,
    limit: Annotated[int, Query(description="1 to 500")] = 20,
    cursor: str | None = None,
    sort_by: str = "updated_at",
    sort_order: str = "desc",
    run_state: Annotated[list[str] | None, Query(alias="state")] = None,
    name: str | None = None,
    creator: str | None = None,
    source: str | None = None,
    execution_location: str | None = None,
    environment_id: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    q: str | None = None,
) -> dict[str, Any]:
    query = RunQuery(
        limit=limit,
        cursor=cursor,
        sort_by=sort_by,
        sort_order=sort_order,
        states=tuple(run_state or ()),
        name=name,
        creator=creator,
        source=source,
        execution_location=execution_location,
        environment_id=environment_id,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
        q=q,
    )
    with state.database.read() as session:
        page = list_runs(session, principal, query)
        return {
            "runs": [run_item(session, run) for run in page.runs],
            "page_info": {
                "has_next_page": page.next_cursor is not None,
                "next_cursor": page.next_cursor,
            },
        }


@router.get("/agent/runs/{run_id}", summary="Get a run, with which pools paid for it")
def get_agent_run(run_id: str, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    with state.database.read() as session:
        item = run_item(session, get_run(session, principal, run_id))
        item["billing"] = {"pools": run_breakdown(session, run_id)}
        return item


class UsageReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    report_id: str = Field(
        min_length=1, max_length=64, description="unique per report; a retry reuses it"
    )
    inference_cost: float = Field(default=0.0, ge=0, le=MAX_REPORT_CREDITS, description="credits")
    compute_cost: float = Field(default=0.0, ge=0, le=MAX_REPORT_CREDITS, description="credits")


@router.post(
    "/agent/runs/{run_id}/usage",
    summary="Report usage of a local run while it works (by the key that started it)",
)
def report_run_usage(
    run_id: str, body: UsageReportBody, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    result = execution.RunResult(
        state="SUCCEEDED", inference_cost=body.inference_cost, compute_cost=body.compute_cost
    )
    with state.database.read() as session:
        execution.check_usage(session, principal, run_id)
    reload = funding.fund_usage(
        state.database, state.reloader, run_id, body.inference_cost + body.compute_cost
    )
    with state.database.transaction() as session:
        charge = execution.report_usage(
            session,
            state.settings.catalog,
            principal,
            run_id,
            body.report_id,
            result,
            capped=reload is Reload.CAPPED,
        )
        run = get_run(session, principal, run_id)
    funding.fund_usage(state.database, state.reloader, run_id, 0)
    with state.database.read() as session:
        return {
            "run_id": run_id,
            "report_id": body.report_id,
            "charged_credits": to_credits(charge.charged_milli),
            "shortfall_credits": to_credits(charge.shortfall_milli),
            "repeated": charge.repeated,
            "state": run.state,
        }


@router.post("/agent/runs/{run_id}/cancel", summary="Cancel a queued or running cloud run")
def cancel_agent_run(run_id: str, principal: CurrentPrincipal, state: State) -> JSONResponse:
    with state.database.transaction() as session:
        run = cancel_run(session, principal, run_id)
    return JSONResponse(run.uid)


@router.post(
    "/agent/runs/{run_id}/report",
    summary="Report how a local run ended (by the key that started it)",
)
def report_run(
    run_id: str, body: ReportBody, principal: CurrentPrincipal, state: State
) -> dict[str, Any]:
    result = body.result()
    with state.database.read() as session:
        first_time = execution.check_report(session, principal, run_id, result)
    if first_time:
        credits = result.inference_cost + result.compute_cost
        reload = funding.fund_usage(state.database, state.reloader, run_id, credits)
        with state.database.transaction() as session:
            execution.report_local(
                session,
                state.settings.catalog,
                principal,
                run_id,
                result,
                capped=reload is Reload.CAPPED,
            )
        funding.fund_usage(state.database, state.reloader, run_id, 0)
    with state.database.read() as session:
        item = run_item(session, get_run(session, principal, run_id))
        item["billing"] = {"pools": run_breakdown(session, run_id)}
        return item

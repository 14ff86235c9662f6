"""`/billing`: the caller's credit pools and ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from oz.billing.statements import balances, ledger
from oz.clock import utcnow
from oz.server.deps import CurrentPrincipal, State

router = APIRouter(tags=["billing"])


@router.get("/billing/balances", summary="Credit pools that pay for your usage")
def get_balances(principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    # A write transaction: the current cycle's plan-included lot is created on first use.
    with state.database.transaction() as session:
        return balances(session, principal, state.settings.catalog, utcnow())


@router.get("/billing/ledger", summary="Ledger entries billed or attributed to you")
def get_ledger(
    principal: CurrentPrincipal,
    state: State,
    limit: Annotated[int, Query(description="1 to 500")] = 50,
    before: Annotated[int | None, Query(description="next_before of the previous page")] = None,
) -> dict[str, Any]:
    with state.database.read() as session:
        return ledger(session, principal, limit, before)

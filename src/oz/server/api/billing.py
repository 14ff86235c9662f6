"""`/billing`: the caller's credit pools and ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import select

from oz.billing.settings import SettingsChange, settings_of, settings_view, update_settings
from oz.billing.statements import balances, ledger
from oz.clock import isoformat, utcnow
from oz.db.models import Purchase
from oz.errors import FeatureNotAvailable, InvalidRequest, NotAuthorized, ResourceUnavailable
from oz.identity.teams import require_admin, require_team
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


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    team: str | None = Field(None, description="team uid; defaults to your first team")
    auto_reload: StrictBool | None = None
    reload_pack_credits: int | None = Field(None, description="400, 1000, 3000 or 6500")
    reload_threshold_credits: int | None = Field(None, description="reload at or below this")
    monthly_cap_usd: float | None = Field(
        None, ge=0, le=1_000_000, description="team-wide, per calendar month"
    )


@router.get("/billing/settings", summary="A team's auto-reload and spend cap (admins)")
def get_settings(
    principal: CurrentPrincipal, state: State, team: str | None = None
) -> dict[str, Any]:
    with state.database.transaction() as session:
        team_uid = require_team(session, principal, team)
        require_admin(session, principal, team_uid, "read billing settings")
        return settings_view(session, settings_of(session, team_uid), utcnow())


@router.put("/billing/settings", summary="Change a team's auto-reload and spend cap (admins)")
def put_settings(body: SettingsBody, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    change = SettingsChange(
        auto_reload=body.auto_reload,
        reload_pack_credits=body.reload_pack_credits,
        reload_threshold_credits=body.reload_threshold_credits,
        monthly_cap_usd=body.monthly_cap_usd,
    )
    with state.database.transaction() as session:
        settings = update_settings(session, principal, body.team, change)
        return settings_view(session, settings, utcnow())


@router.get("/billing/purchases", summary="A team's purchases, newest first (admins)")
def get_purchases(
    principal: CurrentPrincipal, state: State, team: str | None = None
) -> dict[str, Any]:
    with state.database.read() as session:
        team_uid = require_team(session, principal, team)
        require_admin(session, principal, team_uid, "read the team's purchases")
        rows = session.scalars(
            select(Purchase)
            .where(Purchase.team_uid == team_uid)
            .order_by(Purchase.created_at.desc())
            .limit(200)
        )
        return {
            "purchases": [
                {
                    "uid": row.uid,
                    "user_uid": row.user_uid,
                    "credits": row.credits,
                    "usd": row.amount_cents / 100,
                    "status": row.status,
                    "trigger": row.trigger,
                    "provider": row.provider,
                    "message": row.message,
                    "created_at": isoformat(row.created_at),
                }
                for row in rows
            ]
        }


class PurchaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credits: int = Field(description="pack size: 400, 1000, 3000 or 6500")
    team: str | None = Field(None, description="team whose monthly cap applies")


@router.post(
    "/billing/purchases",
    status_code=201,
    summary="Buy an add-on pack for yourself (valid 12 months), within the team's cap",
)
def buy_pack(body: PurchaseBody, principal: CurrentPrincipal, state: State) -> dict[str, Any]:
    if not principal.is_human:
        raise NotAuthorized("only a user may buy credits; agent keys may not")
    with state.database.read() as session:
        team_uid = require_team(session, principal, body.team)
    assert state.reloader is not None
    purchase = state.reloader.buy(team_uid, principal.uid, body.credits, utcnow())
    reason = purchase.message or "no reason given"
    if purchase.provider == "self-hosted" and purchase.status != "approved":
        raise FeatureNotAvailable(reason, purchase_uid=purchase.uid)
    if purchase.status == "failed":
        raise ResourceUnavailable(
            f"the payment did not complete: {reason}; check with the payment processor"
            " before trying again",
            purchase_uid=purchase.uid,
        )
    if purchase.status != "approved":
        raise InvalidRequest(
            f"the payment processor declined the payment: {reason}",
            field="credits",
            purchase_uid=purchase.uid,
        )
    return {
        "uid": purchase.uid,
        "credits": purchase.credits,
        "usd": purchase.amount_cents / 100,
        "status": purchase.status,
        "lot_uid": purchase.lot_uid,
    }

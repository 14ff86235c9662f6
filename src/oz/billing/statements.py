"""Billing views for a caller: their credit pools and their ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from oz.billing.plans import PlanCatalog, to_credits
from oz.billing.pools import available_milli, ensure_included_lot, payer_for
from oz.clock import isoformat
from oz.db.models import CreditLot, LedgerEntry
from oz.errors import InvalidRequest
from oz.identity.teams import teams_of
from oz.principal import Principal

LEDGER_MAX_LIMIT = 500


def _lot_row(lot: CreditLot, now: datetime, **extra: Any) -> dict[str, Any]:
    expired = lot.expires_at is not None and lot.expires_at <= now
    return {
        "pool": lot.kind,
        "lot_uid": lot.uid,
        "credits_granted": to_credits(lot.granted_milli),
        "credits_remaining": 0.0 if expired else to_credits(lot.remaining_milli),
        "expires_at": isoformat(lot.expires_at),
        "created_at": isoformat(lot.created_at),
        "expired": expired,
        **extra,
    }


def balances(
    session: Session, principal: Principal, catalog: PlanCatalog, now: datetime
) -> dict[str, Any]:
    """Return the pools that pay for the caller's usage, with what is left in each.

    An agent key gets only who pays for its runs and how much is available, not the
    payer's individual pools.
    """
    if principal.type == "service_account":
        assert principal.team_uid is not None
        payer = payer_for(session, principal.team_uid, "service_account", principal.uid)
        return {
            "billed": {"type": payer.billed_type, "uid": payer.billed_uid},
            "plan": payer.plan,
            "available_credits": to_credits(available_milli(session, payer, catalog, now)),
            "pools": [],
        }

    pools: list[dict[str, Any]] = []
    teams: list[dict[str, Any]] = []
    for team in teams_of(session, principal.uid):
        payer = payer_for(session, team.uid, "user", principal.uid)
        teams.append(
            {
                "team_uid": team.uid,
                "team_name": team.name,
                "plan": team.plan,
                "available_credits": to_credits(available_milli(session, payer, catalog, now)),
            }
        )
        if team.plan == "enterprise":
            lots = session.scalars(
                select(CreditLot)
                .where(CreditLot.kind == "team", CreditLot.owner_uid == team.uid)
                .order_by(CreditLot.created_at)
            )
            pools += [_lot_row(lot, now, team_uid=team.uid, plan=team.plan) for lot in lots]
            continue
        included = ensure_included_lot(session, payer, catalog, now)
        pools.append(
            _lot_row(included, now, team_uid=team.uid, plan=team.plan, cycle=included.cycle)
        )
    addons = session.scalars(
        select(CreditLot)
        .where(CreditLot.kind == "addon", CreditLot.owner_uid == principal.uid)
        .order_by(CreditLot.expires_at, CreditLot.created_at)
    )
    pools += [_lot_row(lot, now) for lot in addons]
    return {
        "billed": {"type": "user", "uid": principal.uid},
        "pools": pools,
        # What a personal run may spend in each team: add-ons pay only outside Enterprise.
        "teams": teams,
        "available_credits": teams[0]["available_credits"] if teams else 0.0,
    }


def ledger(
    session: Session, principal: Principal, limit: int = 50, before: int | None = None
) -> dict[str, Any]:
    """Return ledger entries billed to the caller or attributed to them, newest first."""
    if not 1 <= limit <= LEDGER_MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {LEDGER_MAX_LIMIT}", field="limit")
    enterprise_teams: list[str] = []
    if principal.is_human:
        enterprise_teams = [
            team.uid for team in teams_of(session, principal.uid) if team.plan == "enterprise"
        ]
    mine = or_(
        (LedgerEntry.billed_type == "user") & (LedgerEntry.billed_uid == principal.uid),
        LedgerEntry.attributed_uid == principal.uid,
        (LedgerEntry.billed_type == "team") & LedgerEntry.billed_uid.in_(enterprise_teams),
    )
    query = (
        select(LedgerEntry, CreditLot.kind)
        .join(CreditLot, CreditLot.uid == LedgerEntry.lot_uid)
        .where(mine)
        .order_by(LedgerEntry.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    rows = session.execute(query).all()
    entries = [
        {
            "id": entry.id,
            "created_at": isoformat(entry.created_at),
            "pool": kind,
            "lot_uid": entry.lot_uid,
            "credits": to_credits(entry.amount_milli),
            "reason": entry.reason,
            "run_id": entry.run_uid,
            "report_id": entry.usage_report_id,
            "purchase_id": entry.purchase_uid,
            "attributed": {"type": entry.attributed_type, "uid": entry.attributed_uid}
            if entry.attributed_type
            else None,
            "billed": {"type": entry.billed_type, "uid": entry.billed_uid},
            "note": entry.note,
        }
        for entry, kind in rows[:limit]
    ]
    next_before = entries[-1]["id"] if len(rows) > limit else None
    return {
        "entries": entries,
        "page_info": {"has_next_page": next_before is not None, "next_before": next_before},
    }

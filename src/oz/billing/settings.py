"""A team's billing settings: auto-reload, the reload pack and the monthly spend cap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oz.billing.plans import cycle_of
from oz.clock import isoformat, utcnow
from oz.db.models import BillingNotice, Purchase, TeamBilling
from oz.db.upsert import insert_for
from oz.errors import InvalidRequest
from oz.identity.teams import require_admin, require_team
from oz.principal import Principal

# Add-on packs: credits and their price in cents.
PACKS = {400: 1_000, 1000: 2_000, 3000: 5_000, 6500: 10_000}
MAX_CAP_CENTS = 100_000_000  # $1,000,000 a month


def settings_of(session: Session, team_uid: str, *, lock: bool = False) -> TeamBilling:
    """Return the team's settings row, created with the defaults on first use."""
    query = select(TeamBilling).where(TeamBilling.team_uid == team_uid)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is not None:
        return found
    session.execute(
        insert_for(session)(TeamBilling)
        .values(
            team_uid=team_uid,
            auto_reload=False,
            reload_pack_credits=400,
            reload_threshold_credits=100,
            monthly_cap_cents=20_000,
            decline_streak=0,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    found = session.scalar(query.with_for_update() if lock else query)
    assert found is not None
    return found


def month_spend_cents(session: Session, team_uid: str, moment: datetime) -> int:
    """Return what the team's approved purchases cost in the calendar month of `moment`."""
    total = session.scalar(
        select(func.coalesce(func.sum(Purchase.amount_cents), 0)).where(
            Purchase.team_uid == team_uid,
            Purchase.month == cycle_of(moment),
            Purchase.status == "approved",
        )
    )
    return int(total or 0)


@dataclass(frozen=True)
class SettingsChange:
    auto_reload: bool | None = None
    reload_pack_credits: int | None = None
    reload_threshold_credits: int | None = None
    monthly_cap_usd: float | None = None


def update_settings(
    session: Session, principal: Principal, team_uid: str | None, change: SettingsChange
) -> TeamBilling:
    """Change a team's billing settings; team owners and admins only."""
    team = require_team(session, principal, team_uid)
    require_admin(session, principal, team, "change billing settings")
    settings = settings_of(session, team, lock=True)

    pack = change.reload_pack_credits or settings.reload_pack_credits
    threshold = (
        settings.reload_threshold_credits
        if change.reload_threshold_credits is None
        else change.reload_threshold_credits
    )
    if pack not in PACKS:
        raise InvalidRequest(
            f"reload_pack_credits must be one of {', '.join(map(str, PACKS))}, got {pack}",
            field="reload_pack_credits",
        )
    if not 0 <= threshold <= 10_000:
        raise InvalidRequest(
            "reload_threshold_credits must be from 0 to 10000", field="reload_threshold_credits"
        )
    if pack <= threshold:
        changed_threshold_only = (
            change.reload_threshold_credits is not None and change.reload_pack_credits is None
        )
        raise InvalidRequest(
            f"a pack of {pack} credits would not lift the balance above the reload threshold"
            f" of {threshold}: pick a larger pack or a lower threshold",
            field="reload_threshold_credits" if changed_threshold_only else "reload_pack_credits",
        )
    if change.monthly_cap_usd is not None:
        cents = round(change.monthly_cap_usd * 100)
        if not 0 <= cents <= MAX_CAP_CENTS:
            raise InvalidRequest(
                "monthly_cap_usd must be from 0 to 1000000", field="monthly_cap_usd"
            )
        settings.monthly_cap_cents = cents

    if change.auto_reload is not None:
        settings.auto_reload = change.auto_reload
    settings.reload_pack_credits = pack
    settings.reload_threshold_credits = threshold
    settings.updated_at = utcnow()
    session.flush()
    return settings


def settings_view(session: Session, settings: TeamBilling, now: datetime) -> dict[str, Any]:
    notices = session.scalars(
        select(BillingNotice)
        .where(BillingNotice.team_uid == settings.team_uid)
        .order_by(BillingNotice.created_at.desc())
        .limit(20)
    )
    return {
        "team_uid": settings.team_uid,
        "auto_reload": settings.auto_reload,
        "reload_pack_credits": settings.reload_pack_credits,
        "reload_pack_usd": PACKS[settings.reload_pack_credits] / 100,
        "reload_threshold_credits": settings.reload_threshold_credits,
        "monthly_cap_usd": settings.monthly_cap_cents / 100,
        "month": cycle_of(now),
        "month_spend_usd": month_spend_cents(session, settings.team_uid, now) / 100,
        "declined_until": isoformat(settings.declined_until),
        "notices": [
            {
                "kind": notice.kind,
                "message": notice.message,
                "created_at": isoformat(notice.created_at),
            }
            for notice in notices
        ],
        "packs": [{"credits": credits, "usd": cents / 100} for credits, cents in PACKS.items()],
    }

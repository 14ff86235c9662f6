"""The waterfall: which credit lots pay for a run, in which order.

- Personal usage on Free, Build, Max or Business: the user's plan-included credits of
  the current cycle, then the user's add-on lots, earliest-expiring first.
- Agent usage on those plans: the same pools of the team's owner. The usage stays
  attributed to the cloud agent; only the bill goes to the owner.
- Enterprise: the team's pool, for every member and cloud agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from oz.billing.plans import PlanCatalog, cycle_end, cycle_of
from oz.db.models import CreditLot, Membership, Team
from oz.db.upsert import insert_for
from oz.errors import InternalError


@dataclass(frozen=True)
class Payer:
    """The payer of usage, and the principal the usage is attributed to."""

    billed_type: str  # "user" or "team"
    billed_uid: str
    team_uid: str
    plan: str
    attributed_type: str  # "user" or "service_account"
    attributed_uid: str


def team_owner_uid(session: Session, team_uid: str) -> str:
    owner = session.scalar(
        select(Membership.user_uid).where(
            Membership.team_uid == team_uid, Membership.role == "owner"
        )
    )
    if owner is None:
        raise InternalError(f"team {team_uid} has no owner")
    return owner


def payer_for(session: Session, team_uid: str, creator_type: str, creator_uid: str) -> Payer:
    """Return who pays for usage of a run created by `creator_type:creator_uid` in a team."""
    team = session.get(Team, team_uid)
    if team is None:
        raise InternalError(f"team {team_uid} not found")
    if team.plan == "enterprise":
        billed_type, billed_uid = "team", team.uid
    elif creator_type == "user":
        billed_type, billed_uid = "user", creator_uid
    else:
        billed_type, billed_uid = "user", team_owner_uid(session, team.uid)
    return Payer(billed_type, billed_uid, team.uid, team.plan, creator_type, creator_uid)


def ensure_included_lot(
    session: Session, payer: Payer, catalog: PlanCatalog, now: datetime
) -> CreditLot:
    """Return the payer's plan-included lot of the current cycle, creating it if needed.

    Each cycle gets a new lot of the plan's amount, so unused credits do not roll over.
    """
    cycle = cycle_of(now)
    existing = select(CreditLot).where(
        CreditLot.kind == "included",
        CreditLot.owner_uid == payer.billed_uid,
        CreditLot.team_uid == payer.team_uid,
        CreditLot.cycle == cycle,
    )
    lot = session.scalar(existing)
    if lot is not None:
        return lot

    amount = catalog.included_milli(payer.plan)
    values = {
        "uid": _new_uid(),
        "kind": "included",
        "owner_type": "user",
        "owner_uid": payer.billed_uid,
        "team_uid": payer.team_uid,
        "cycle": cycle,
        "granted_milli": amount,
        "remaining_milli": amount,
        "expires_at": cycle_end(now),
        "created_at": now,
    }
    # Two first uses in one cycle may race; the unique constraint keeps one lot.
    session.execute(insert_for(session)(CreditLot).values(**values).on_conflict_do_nothing())
    lot = session.scalar(existing)
    assert lot is not None
    return lot


def _new_uid() -> str:
    from oz.uids import new_uid

    return new_uid()


def _spendable(query: Select[CreditLot], now: datetime) -> Select[CreditLot]:
    return query.where(
        CreditLot.remaining_milli > 0,
        or_(CreditLot.expires_at.is_(None), CreditLot.expires_at > now),
    ).order_by(CreditLot.expires_at.is_(None), CreditLot.expires_at, CreditLot.created_at)


def funding_lots(
    session: Session,
    payer: Payer,
    catalog: PlanCatalog,
    now: datetime,
    *,
    lock: bool = False,
) -> list[CreditLot]:
    """Return the lots that pay for the payer's usage, in waterfall order.

    With `lock`, the lots are locked until the transaction ends, so concurrent debits
    of one pool take turns. Every caller locks in this same order, so they cannot deadlock.
    """
    if payer.billed_type == "team":
        query = _spendable(
            select(CreditLot).where(
                CreditLot.kind == "team",
                CreditLot.owner_type == "team",
                CreditLot.owner_uid == payer.billed_uid,
            ),
            now,
        )
        return list(session.scalars(query.with_for_update() if lock else query))

    included = ensure_included_lot(session, payer, catalog, now)
    if lock:
        session.refresh(included, with_for_update=True)
    addons = _spendable(
        select(CreditLot).where(
            CreditLot.kind == "addon",
            CreditLot.owner_type == "user",
            CreditLot.owner_uid == payer.billed_uid,
        ),
        now,
    )
    lots = [included] if included.remaining_milli > 0 else []
    return lots + list(session.scalars(addons.with_for_update() if lock else addons))


def available_milli(session: Session, payer: Payer, catalog: PlanCatalog, now: datetime) -> int:
    return sum(lot.remaining_milli for lot in funding_lots(session, payer, catalog, now))

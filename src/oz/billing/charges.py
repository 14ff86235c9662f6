"""Admission of runs, usage charges and credit grants, all written to the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oz.billing.plans import (
    ADMISSION_MINIMUM_MILLI,
    CLOUD_PLANS,
    PlanCatalog,
    format_credits,
    to_credits,
)
from oz.billing.pools import Payer, available_milli, funding_lots, payer_for
from oz.db.models import ApiKey, CreditLot, LedgerEntry, Run, UsageReport, User
from oz.db.upsert import insert_for
from oz.errors import FeatureNotAvailable, InsufficientCredits, InvalidRequest

ADDON_VALIDITY = timedelta(days=365)


class OutOfCredits(InsufficientCredits):
    """The run's waterfall has less than it needs; `payer` names whose pools those are."""

    def __init__(self, detail: str, payer: Payer) -> None:
        super().__init__(detail)
        self.payer = payer


def admit(
    session: Session,
    catalog: PlanCatalog,
    now: datetime,
    *,
    team_uid: str,
    creator_type: str,
    creator_uid: str,
    remote: bool,
) -> Payer:
    """Check that a new run may start: its plan allows it and its pools hold 20 credits."""
    payer = payer_for(session, team_uid, creator_type, creator_uid)
    if remote and payer.plan not in CLOUD_PLANS:
        raise FeatureNotAvailable(
            f"cloud agents need the Build, Max, Business or Enterprise plan; this team is on"
            f" {payer.plan.title()}: run the agent locally with `oz agent run`, or ask the"
            " server's operator to change the plan (`ozd team plan`)"
        )
    available = available_milli(session, payer, catalog, now)
    if available < ADMISSION_MINIMUM_MILLI:
        raise OutOfCredits(
            f"a run needs at least {format_credits(ADMISSION_MINIMUM_MILLI)} credits and"
            f" {payer_label(session, payer)} has {format_credits(available)}:"
            f" {refill_hint(payer)}",
            payer,
        )
    return payer


def payer_label(session: Session, payer: Payer) -> str:
    """Name the payer for people: the team's pool, or the user's email."""
    if payer.billed_type == "team":
        return "the team's Enterprise pool"
    user = session.get(User, payer.billed_uid)
    return f"user {user.email}" if user is not None else f"user {payer.billed_uid}"


def refill_hint(payer: Payer) -> str:
    if payer.billed_type == "team":
        return "ask the server's operator to fund it with `ozd credits grant --team`"
    return (
        "buy add-on credits with `oz credits buy` where the server has a payment"
        " processor, or ask the server's operator to grant some with `ozd credits grant`"
    )


@dataclass(frozen=True)
class Charge:
    """The outcome of one usage report."""

    requested_milli: int
    charged_milli: int
    repeated: bool = False

    @property
    def shortfall_milli(self) -> int:
        return self.requested_milli - self.charged_milli


def charge_usage(
    session: Session,
    catalog: PlanCatalog,
    run: Run,
    report_id: str,
    amount_milli: int,
    now: datetime,
) -> Charge:
    """Charge a run's usage report to its waterfall, once per `report_id`.

    Lots are debited in waterfall order and never below zero; what they cannot cover is
    the shortfall. Usage after the run's key was deleted is charged to no one.
    """
    if amount_milli < 0:
        raise InvalidRequest("usage must not be negative", field="request_usage")
    created = session.execute(
        insert_for(session)(UsageReport)
        .values(
            run_uid=run.uid,
            report_id=report_id,
            requested_milli=amount_milli,
            charged_milli=0,
            created_at=now,
        )
        .on_conflict_do_nothing()
        .returning(UsageReport.report_id)
    ).scalar_one_or_none()
    if created is None:
        earlier = session.get(UsageReport, (run.uid, report_id))
        assert earlier is not None
        if earlier.requested_milli != amount_milli:
            raise InvalidRequest(
                f"report_id {report_id!r} was already used for"
                f" {format_credits(earlier.requested_milli)} credits of usage, not"
                f" {format_credits(amount_milli)}: a retry must resend the same report, and"
                " new usage needs a new report_id",
                field="report_id",
            )
        return Charge(earlier.requested_milli, earlier.charged_milli, repeated=True)
    if amount_milli == 0 or _key_deleted(session, run):
        return Charge(amount_milli, 0)

    creator_uid = run.creator_user_uid or run.creator_agent_uid
    assert creator_uid is not None
    payer = payer_for(session, run.team_uid, run.creator_type, creator_uid)
    needed = amount_milli
    for lot in funding_lots(session, payer, catalog, now, lock=True):
        take = min(lot.remaining_milli, needed)
        if take <= 0:
            continue
        lot.remaining_milli -= take
        session.add(
            LedgerEntry(
                lot_uid=lot.uid,
                amount_milli=-take,
                reason="usage",
                run_uid=run.uid,
                usage_report_id=report_id,
                attributed_type=payer.attributed_type,
                attributed_uid=payer.attributed_uid,
                billed_type=payer.billed_type,
                billed_uid=payer.billed_uid,
                created_at=now,
            )
        )
        needed -= take
        if needed == 0:
            break

    charged = amount_milli - needed
    report = session.get(UsageReport, (run.uid, report_id))
    assert report is not None
    report.charged_milli = charged
    session.flush()
    return Charge(amount_milli, charged)


def _key_deleted(session: Session, run: Run) -> bool:
    if run.api_key_uid is None:
        return False
    deleted_at = session.scalar(select(ApiKey.deleted_at).where(ApiKey.uid == run.api_key_uid))
    return deleted_at is not None


def grant(
    session: Session,
    now: datetime,
    *,
    owner_type: str,
    owner_uid: str,
    credits_milli: int,
    reason: str,
    note: str | None = None,
    purchase_uid: str | None = None,
) -> CreditLot:
    """Add credits: an add-on lot for a user (valid 12 months) or a team pool lot."""
    if credits_milli <= 0:
        raise InvalidRequest("credits must be more than zero", field="credits")
    lot = CreditLot(
        kind="team" if owner_type == "team" else "addon",
        owner_type=owner_type,
        owner_uid=owner_uid,
        granted_milli=credits_milli,
        remaining_milli=credits_milli,
        expires_at=None if owner_type == "team" else now + ADDON_VALIDITY,
        created_at=now,
    )
    session.add(lot)
    session.flush()
    session.add(
        LedgerEntry(
            lot_uid=lot.uid,
            amount_milli=credits_milli,
            reason=reason,
            purchase_uid=purchase_uid,
            attributed_type=owner_type if owner_type == "user" else None,
            attributed_uid=owner_uid if owner_type == "user" else None,
            billed_type=owner_type,
            billed_uid=owner_uid,
            note=note,
            created_at=now,
        )
    )
    session.flush()
    return lot


def run_breakdown(session: Session, run_uid: str) -> list[dict[str, object]]:
    """Return which pools paid how much for a run."""
    rows = session.execute(
        select(
            CreditLot.uid,
            CreditLot.kind,
            LedgerEntry.billed_type,
            LedgerEntry.billed_uid,
            func.sum(LedgerEntry.amount_milli),
        )
        .join(CreditLot, CreditLot.uid == LedgerEntry.lot_uid)
        .where(LedgerEntry.run_uid == run_uid, LedgerEntry.reason == "usage")
        .group_by(CreditLot.uid, CreditLot.kind, LedgerEntry.billed_type, LedgerEntry.billed_uid)
        .order_by(func.min(LedgerEntry.id))
    ).all()
    return [
        {
            "lot_uid": lot_uid,
            "pool": kind,
            "billed": {"type": billed_type, "uid": billed_uid},
            # PostgreSQL sums BIGINT into NUMERIC, which reaches Python as Decimal.
            "credits": to_credits(-int(total)),
        }
        for lot_uid, kind, billed_type, billed_uid, total in rows
    ]

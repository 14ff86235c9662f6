"""Automatic reloads: buy the team's pack when a payer's add-on balance runs low.

A reload runs in its own transaction, committed before the charge or admission that
needed it, so a payment that went through is never rolled back with a failed request.
The team's settings row is locked for the whole reload, payment call included, so
concurrent reloads of one team take turns and the monthly spend cap is never passed.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from oz.billing.charges import grant
from oz.billing.payments import APPROVED, PaymentProvider, PaymentRequest
from oz.billing.plans import MILLI, PlanCatalog, cycle_of
from oz.billing.pools import Payer, _spendable, available_milli, payer_for
from oz.billing.settings import PACKS, month_spend_cents, settings_of
from oz.clock import isoformat
from oz.db.engine import Database
from oz.db.models import BillingNotice, CreditLot, Purchase, TeamBilling
from oz.errors import BudgetExceeded, InvalidRequest
from oz.uids import new_uid

logger = logging.getLogger("oz.billing")

BACKOFF_FIRST = timedelta(hours=1)
BACKOFF_MAX = timedelta(hours=24)
MAX_PACKS_PER_TOP_UP = 10


class Reload(enum.Enum):
    NOT_NEEDED = "not_needed"
    OFF = "off"
    RELOADED = "reloaded"
    CAPPED = "capped"
    DECLINED = "declined"
    BACKING_OFF = "backing_off"


def addon_milli(session: Session, payer: Payer, now: datetime) -> int:
    lots = session.scalars(
        _spendable(
            select(CreditLot).where(
                CreditLot.kind == "addon", CreditLot.owner_uid == payer.billed_uid
            ),
            now,
        )
    )
    return sum(lot.remaining_milli for lot in lots)


class Reloader:
    """Top up payers' add-on credits through a payment provider, within the spend cap."""

    def __init__(self, database: Database, provider: PaymentProvider, catalog: PlanCatalog) -> None:
        self._database = database
        self._provider = provider
        self._catalog = catalog

    def top_up(
        self,
        team_uid: str,
        creator_type: str,
        creator_uid: str,
        needed_milli: int,
        now: datetime,
    ) -> Reload:
        """Reload until the payer has `needed_milli` and its add-ons are above the threshold.

        Returns the last outcome: NOT_NEEDED when nothing had to be bought.
        """
        outcome = Reload.NOT_NEEDED
        for _ in range(MAX_PACKS_PER_TOP_UP):
            with self._database.transaction() as session:
                payer = payer_for(session, team_uid, creator_type, creator_uid)
                if payer.billed_type != "user":
                    return outcome
                configured = session.scalar(
                    select(TeamBilling.auto_reload).where(TeamBilling.team_uid == team_uid)
                )
                if not configured:
                    return Reload.OFF if outcome is Reload.NOT_NEEDED else outcome
                settings = settings_of(session, team_uid, lock=True)
                enough = available_milli(session, payer, self._catalog, now) >= needed_milli
                above = addon_milli(session, payer, now) > settings.reload_threshold_credits * MILLI
                if enough and above:
                    return outcome
                step = self._reload(session, payer, now)
            if step is not Reload.RELOADED:
                return step
            outcome = step
        return outcome

    def buy(self, team_uid: str, user_uid: str, credits: int, now: datetime) -> Purchase:
        """Buy a pack for a user now, within the team's monthly spend cap.

        Raises `BudgetExceeded` when the purchase would pass the cap; a declined payment
        is returned as a purchase with that status.
        """
        if credits not in PACKS:
            raise InvalidRequest(
                f"pack must be one of {', '.join(map(str, PACKS))} credits, got {credits}",
                field="credits",
            )
        with self._database.transaction() as session:
            settings = settings_of(session, team_uid, lock=True)
            price = PACKS[credits]
            spent = month_spend_cents(session, team_uid, now)
            if spent + price > settings.monthly_cap_cents:
                raise BudgetExceeded(
                    f"a pack of {credits} credits costs ${price / 100:g} and the team has spent"
                    f" ${spent / 100:g} of its ${settings.monthly_cap_cents / 100:g} monthly cap:"
                    " ask a team admin to raise the cap"
                )
            payer = Payer("user", user_uid, team_uid, "", "user", user_uid)
            purchase = self._pay(session, payer, credits, "manual", now)
            if purchase.status == APPROVED:
                # A payment method that works again lifts the pause on automatic reloads.
                settings.decline_streak = 0
                settings.declined_until = None
            return purchase

    def _reload(self, session: Session, payer: Payer, now: datetime) -> Reload:
        settings = settings_of(session, payer.team_uid, lock=True)
        if settings.declined_until is not None and now < settings.declined_until:
            return Reload.BACKING_OFF
        credits = settings.reload_pack_credits
        price = PACKS[credits]
        if month_spend_cents(session, payer.team_uid, now) + price > settings.monthly_cap_cents:
            self._notify_once(
                session,
                payer.team_uid,
                f"cap_reached:{cycle_of(now)}",
                f"the monthly spend cap of ${settings.monthly_cap_cents / 100:g} stopped an"
                f" auto-reload of {credits} credits in {cycle_of(now)}: raise the cap to let"
                " runs continue",
            )
            return Reload.CAPPED

        purchase = self._pay(session, payer, credits, "auto_reload", now)
        if purchase.status == APPROVED:
            settings.decline_streak = 0
            settings.declined_until = None
            return Reload.RELOADED

        settings.decline_streak += 1
        backoff = min(BACKOFF_FIRST * 2 ** (settings.decline_streak - 1), BACKOFF_MAX)
        settings.declined_until = now + backoff
        if settings.decline_streak == 1:
            reason = (purchase.message or "no reason given").rstrip(".")
            self._notify_once(
                session,
                payer.team_uid,
                f"reload_{purchase.status}",
                f"an auto-reload of {credits} credits {purchase.status}: {reason}. The next"
                f" try is after {isoformat(settings.declined_until)}, or sooner once a"
                " purchase with `oz credits buy` goes through",
                repeat=True,
            )
        return Reload.DECLINED

    def _notify_once(
        self, session: Session, team_uid: str, kind: str, message: str, *, repeat: bool = False
    ) -> None:
        """Leave a notice for the team's admins, unless one of this kind exists already."""
        if not repeat and session.scalar(
            select(BillingNotice.uid).where(
                BillingNotice.team_uid == team_uid, BillingNotice.kind == kind
            )
        ):
            return
        session.add(BillingNotice(team_uid=team_uid, kind=kind, message=message[:400]))
        logger.warning("%s (team %s)", message, team_uid)

    def _pay(
        self, session: Session, payer: Payer, credits: int, trigger: str, now: datetime
    ) -> Purchase:
        """Charge the provider for a pack and record the purchase; grant it when approved."""
        price = PACKS[credits]
        request = PaymentRequest(payer.team_uid, payer.billed_uid, credits, price, new_uid())
        result = self._provider.charge(request)
        purchase = Purchase(
            uid=new_uid(),
            team_uid=payer.team_uid,
            user_uid=payer.billed_uid,
            credits=credits,
            amount_cents=price,
            month=cycle_of(now),
            status=result.status,
            trigger=trigger,
            provider=self._provider.name,
            provider_reference=result.reference,
            message=(result.message or "")[:400] or None,
            created_at=now,
        )
        session.add(purchase)
        if result.status == APPROVED:
            lot = grant(
                session,
                now,
                owner_type="user",
                owner_uid=payer.billed_uid,
                credits_milli=credits * MILLI,
                reason="purchase",
                note=f"{trigger}, {self._provider.name} {result.reference or ''}".strip(),
                purchase_uid=purchase.uid,
            )
            purchase.lot_uid = lot.uid
            logger.info(
                "bought %d credits for user %s of team %s (%s)",
                credits,
                payer.billed_uid,
                payer.team_uid,
                trigger,
            )
        session.flush()
        return purchase

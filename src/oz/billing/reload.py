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
from oz.db.engine import Database
from oz.db.models import BillingNotice, CreditLot, Purchase
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
        """Reload until the payer holds `needed_milli` and its add-ons sit above the threshold.

        Returns the last outcome: NOT_NEEDED when nothing had to be bought.
        """
        outcome = Reload.NOT_NEEDED
        for _ in range(MAX_PACKS_PER_TOP_UP):
            with self._database.transaction() as session:
                payer = payer_for(session, team_uid, creator_type, creator_uid)
                if payer.billed_type != "user":
                    return outcome
                settings = settings_of(session, team_uid, lock=True)
                enough = available_milli(session, payer, self._catalog, now) >= needed_milli
                above = addon_milli(session, payer, now) > settings.reload_threshold_credits * MILLI
                if enough and above:
                    return outcome
                if not settings.auto_reload:
                    return Reload.OFF
                step = self._reload(session, payer, now)
            if step is not Reload.RELOADED:
                return step
            outcome = step
        return outcome

    def _reload(self, session: Session, payer: Payer, now: datetime) -> Reload:
        settings = settings_of(session, payer.team_uid, lock=True)
        if settings.declined_until is not None and now < settings.declined_until:
            return Reload.BACKING_OFF
        credits = settings.reload_pack_credits
        price = PACKS[credits]
        if month_spend_cents(session, payer.team_uid, now) + price > settings.monthly_cap_cents:
            return Reload.CAPPED

        request = PaymentRequest(payer.team_uid, payer.billed_uid, credits, price, new_uid())
        result = self._provider.charge(request)
        purchase = Purchase(
            team_uid=payer.team_uid,
            user_uid=payer.billed_uid,
            credits=credits,
            amount_cents=price,
            month=cycle_of(now),
            status=result.status,
            trigger="auto_reload",
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
                note=f"auto-reload, {self._provider.name} {result.reference or ''}".strip(),
            )
            purchase.lot_uid = lot.uid
            settings.decline_streak = 0
            settings.declined_until = None
            logger.info(
                "auto-reload bought %d credits for user %s of team %s",
                credits,
                payer.billed_uid,
                payer.team_uid,
            )
            return Reload.RELOADED

        settings.decline_streak += 1
        backoff = min(BACKOFF_FIRST * 2 ** (settings.decline_streak - 1), BACKOFF_MAX)
        settings.declined_until = now + backoff
        if settings.decline_streak == 1:
            message = (
                f"auto-reload of {credits} credits for user {payer.billed_uid} was"
                f" {result.status}: {result.message or 'no reason given'}; retrying after"
                f" {settings.declined_until.isoformat()}"
            )
            session.add(
                BillingNotice(
                    team_uid=payer.team_uid, kind="reload_declined", message=message[:400]
                )
            )
            logger.warning("%s (team %s)", message, payer.team_uid)
        return Reload.DECLINED

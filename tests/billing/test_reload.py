"""Auto-reload through a payment processor, within the team-wide monthly spend cap."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from oz.billing.charges import charge_usage
from oz.billing.payments import HttpPaymentProvider
from oz.billing.plans import PlanCatalog, to_milli
from oz.billing.reload import Reload, Reloader
from oz.billing.settings import SettingsChange, update_settings
from oz.db.models import BillingNotice, CreditLot, LedgerEntry, Purchase
from oz.errors import BudgetExceeded, InsufficientCredits, InvalidRequest, NotAuthorized
from oz.principal import Principal
from oz.runs import states
from oz.runs.funding import start_run
from oz.runs.service import RunRequest, create_run
from tests.conftest import Clock
from tests.support.payments import SECRET_KEY, FakeProcessor, running_processor
from tests.support.world import World

CATALOG = PlanCatalog({"build": 100})
REQUEST = RunRequest(prompt="work", config={}, execution_location=states.LOCAL)


@pytest.fixture
def processor() -> Iterator[FakeProcessor]:
    with running_processor(FakeProcessor()) as running:
        yield running


@pytest.fixture
def reloader(world: World, processor: FakeProcessor) -> Reloader:
    provider = HttpPaymentProvider(processor.url, SECRET_KEY, timeout_seconds=1.0)
    return Reloader(world.database, provider, CATALOG)


def configure(world: World, **change: object) -> None:
    with world.database.transaction() as session:
        update_settings(session, world.owner, world.team_uid, SettingsChange(**change))  # type: ignore[arg-type]


def spend_everything(world: World, clock: Clock) -> None:
    """Use up the owner's plan-included credits with one local run."""
    with world.database.transaction() as session:
        run = create_run(session, world.owner, REQUEST, CATALOG)
        charge_usage(session, CATALOG, run, "all", to_milli(100), clock.now)


def purchases(world: World) -> list[tuple[str, int, int]]:
    with world.database.read() as session:
        rows = session.execute(
            select(Purchase.status, Purchase.credits, Purchase.amount_cents).order_by(
                Purchase.created_at
            )
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def notices(world: World) -> int:
    with world.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(BillingNotice)) or 0)


def test_auto_reload_is_off_by_default(
    world: World, frozen_clock: Clock, reloader: Reloader
) -> None:
    spend_everything(world, frozen_clock)

    with pytest.raises(InsufficientCredits):
        start_run(world.database, CATALOG, reloader, world.owner, REQUEST)

    assert purchases(world) == []


def test_reload_buys_the_pack_and_admits_the_run(
    world: World, frozen_clock: Clock, reloader: Reloader, processor: FakeProcessor
) -> None:
    configure(world, auto_reload=True)
    spend_everything(world, frozen_clock)

    run = start_run(world.database, CATALOG, reloader, world.owner, REQUEST)

    assert run.state == states.INPROGRESS
    assert purchases(world) == [("approved", 400, 1000)]
    sent = processor.requests[0]
    assert sent["form"]["amount"] == "1000"  # type: ignore[index]
    assert sent["form"]["metadata[user_uid]"] == world.owner.uid  # type: ignore[index]
    assert sent["headers"]["idempotency-key"]  # type: ignore[index]
    with world.database.read() as session:
        lot = session.scalar(select(CreditLot).where(CreditLot.kind == "addon"))
        grants = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.reason == "purchase")
        )
    assert lot is not None
    assert lot.remaining_milli == 400_000
    assert grants == 1


def test_agent_usage_reloads_the_owners_pool(
    world: World, frozen_clock: Clock, reloader: Reloader
) -> None:
    configure(world, auto_reload=True)
    spend_everything(world, frozen_clock)
    agent = Principal("service_account", world.default_agent_uid, "bot", team_uid=world.team_uid)

    start_run(world.database, CATALOG, reloader, agent, REQUEST)

    with world.database.read() as session:
        owner = session.scalar(select(Purchase.user_uid))
    assert owner == world.owner.uid


def test_declined_payment_backs_off_and_notifies_once(
    world: World, frozen_clock: Clock, reloader: Reloader, processor: FakeProcessor
) -> None:
    configure(world, auto_reload=True)
    spend_everything(world, frozen_clock)
    processor.mode = "decline"

    first = reloader.top_up(world.team_uid, "user", world.owner.uid, 20_000, frozen_clock.now)
    frozen_clock.advance(minutes=30)
    during = reloader.top_up(world.team_uid, "user", world.owner.uid, 20_000, frozen_clock.now)
    frozen_clock.advance(minutes=31)
    after = reloader.top_up(world.team_uid, "user", world.owner.uid, 20_000, frozen_clock.now)

    assert (first, during, after) == (Reload.DECLINED, Reload.BACKING_OFF, Reload.DECLINED)
    assert len(processor.requests) == 2
    assert [row[0] for row in purchases(world)] == ["declined", "declined"]
    assert notices(world) == 1


def test_processor_timeout_counts_as_failed(
    world: World, frozen_clock: Clock, reloader: Reloader, processor: FakeProcessor
) -> None:
    configure(world, auto_reload=True)
    spend_everything(world, frozen_clock)
    processor.mode = "timeout"

    outcome = reloader.top_up(world.team_uid, "user", world.owner.uid, 20_000, frozen_clock.now)

    assert outcome is Reload.DECLINED
    with world.database.read() as session:
        purchase = session.scalar(select(Purchase))
    assert purchase is not None
    assert purchase.status == "failed"
    assert purchase.message == "the payment processor timed out"


def test_spend_cap_blocks_reloads_until_next_month(
    world: World, frozen_clock: Clock, reloader: Reloader
) -> None:
    configure(world, auto_reload=True, monthly_cap_usd=10)
    spend_everything(world, frozen_clock)
    start_run(world.database, CATALOG, reloader, world.owner, REQUEST)
    with world.database.transaction() as session:
        run = create_run(session, world.owner, REQUEST, CATALOG)
        charge_usage(session, CATALOG, run, "all", to_milli(400), frozen_clock.now)

    with pytest.raises(BudgetExceeded, match="monthly spend cap"):
        start_run(world.database, CATALOG, reloader, world.owner, REQUEST)

    frozen_clock.advance(days=31)
    assert (
        start_run(world.database, CATALOG, reloader, world.owner, REQUEST).state
        == states.INPROGRESS
    )
    assert [row[0] for row in purchases(world)] == ["approved"]


def test_concurrent_reloads_never_pass_the_cap(
    world: World, frozen_clock: Clock, reloader: Reloader
) -> None:
    configure(world, auto_reload=True, monthly_cap_usd=30, reload_threshold_credits=0)
    spend_everything(world, frozen_clock)
    barrier = threading.Barrier(8)

    def greedy() -> None:
        barrier.wait(timeout=30)
        reloader.top_up(world.team_uid, "user", world.owner.uid, 10_000_000, frozen_clock.now)

    threads = [threading.Thread(target=greedy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    approved = [row for row in purchases(world) if row[0] == "approved"]
    assert len(approved) == 3
    assert sum(row[2] for row in approved) == 3000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reload_pack_credits": 500}, "reload_pack_credits"),
        ({"reload_pack_credits": 400, "reload_threshold_credits": 400}, "reload_pack_credits"),
        ({"reload_threshold_credits": -1}, "reload_threshold_credits"),
        ({"monthly_cap_usd": -5}, "monthly_cap_usd"),
    ],
)
def test_bad_settings_are_rejected(world: World, change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        configure(world, **change)

    assert caught.value.extras["field"] == field


def test_members_cannot_change_billing_settings(world: World) -> None:
    member = world.add_user("member@example.com")

    with pytest.raises(NotAuthorized), world.database.transaction() as session:
        update_settings(session, member, world.team_uid, SettingsChange(auto_reload=True))


def test_manual_purchase_grants_a_lot(
    world: World, frozen_clock: Clock, reloader: Reloader
) -> None:
    purchase = reloader.buy(world.team_uid, world.owner.uid, 1000, frozen_clock.now)

    assert purchase.status == "approved"
    assert purchase.trigger == "manual"
    assert purchase.amount_cents == 2000
    with world.database.read() as session:
        lot = session.get(CreditLot, purchase.lot_uid)
    assert lot is not None
    assert lot.remaining_milli == 1_000_000


def test_manual_purchase_respects_the_cap(
    world: World, frozen_clock: Clock, reloader: Reloader
) -> None:
    configure(world, monthly_cap_usd=25)
    reloader.buy(world.team_uid, world.owner.uid, 1000, frozen_clock.now)

    with pytest.raises(BudgetExceeded, match=r"spent \$20 of its \$25 monthly cap"):
        reloader.buy(world.team_uid, world.owner.uid, 400, frozen_clock.now)


def test_manual_purchase_rejects_odd_packs(
    world: World, frozen_clock: Clock, reloader: Reloader
) -> None:
    with pytest.raises(InvalidRequest, match="pack must be one of"):
        reloader.buy(world.team_uid, world.owner.uid, 500, frozen_clock.now)

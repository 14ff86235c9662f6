"""Who pays for a run, in which order, exactly once, and never beyond what is there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from oz.apikeys.service import delete_key
from oz.billing.charges import charge_usage, grant
from oz.billing.plans import PlanCatalog, to_milli
from oz.db.models import CreditLot, LedgerEntry, Run, Team
from oz.errors import FeatureNotAvailable, InsufficientCredits
from oz.principal import Principal
from oz.runs import states
from oz.runs.service import RunRequest, create_run
from tests.conftest import Clock
from tests.support.world import World

CATALOG = PlanCatalog({"free": 150, "build": 100, "max": 400, "business": 300})


def set_plan(world: World, plan: str) -> None:
    with world.database.transaction() as session:
        team = session.get(Team, world.team_uid)
        assert team is not None
        team.plan = plan


def start(world: World, principal: Principal, *, local: bool = False) -> Run:
    request = RunRequest(
        prompt="work",
        config={},
        execution_location=states.LOCAL if local else states.REMOTE,
    )
    with world.database.transaction() as session:
        return create_run(session, principal, request, CATALOG)


def agent_principal(world: World, key_uid: str | None = None) -> Principal:
    return Principal(
        "service_account", world.default_agent_uid, "bot", team_uid=world.team_uid, key_uid=key_uid
    )


def charge(world: World, clock: Clock, run: Run, credits: float, report: str = "r1") -> int:
    with world.database.transaction() as session:
        fresh = session.get(Run, run.uid)
        assert fresh is not None
        return charge_usage(
            session, CATALOG, fresh, report, to_milli(credits), clock.now
        ).charged_milli


def add_on(world: World, clock: Clock, owner_uid: str, credits: float, *, days: int = 0) -> str:
    """Grant add-on credits bought `days` ago (valid 12 months from then)."""
    with world.database.transaction() as session:
        lot = grant(
            session,
            clock.now - timedelta(days=days),
            owner_type="user",
            owner_uid=owner_uid,
            credits_milli=to_milli(credits),
            reason="purchase",
        )
        return lot.uid


def team_pool(world: World, clock: Clock, credits: float) -> str:
    with world.database.transaction() as session:
        return grant(
            session,
            clock.now,
            owner_type="team",
            owner_uid=world.team_uid,
            credits_milli=to_milli(credits),
            reason="grant",
        ).uid


def remaining(world: World, lot_uid: str) -> float:
    with world.database.read() as session:
        lot = session.get(CreditLot, lot_uid)
        assert lot is not None
        return lot.remaining_milli / 1000


def included_remaining(world: World, owner_uid: str) -> float:
    with world.database.read() as session:
        value = session.scalar(
            select(CreditLot.remaining_milli).where(
                CreditLot.kind == "included", CreditLot.owner_uid == owner_uid
            )
        )
    return (value or 0) / 1000


def debits(world: World, run_uid: str) -> list[tuple[str, str, str, str, float]]:
    """Return (pool, billed type, billed uid, attributed type, credits) per ledger debit."""
    with world.database.read() as session:
        rows = session.execute(
            select(
                CreditLot.kind,
                LedgerEntry.billed_type,
                LedgerEntry.billed_uid,
                LedgerEntry.attributed_type,
                LedgerEntry.amount_milli,
            )
            .join(CreditLot, CreditLot.uid == LedgerEntry.lot_uid)
            .where(LedgerEntry.run_uid == run_uid)
            .order_by(LedgerEntry.id)
        ).all()
    return [(kind, bt, bu, str(at), -amount / 1000) for kind, bt, bu, at, amount in rows]


@pytest.mark.parametrize("plan", ["build", "max", "business"])
def test_personal_usage_draws_included_credits_first(
    world: World, frozen_clock: Clock, plan: str
) -> None:
    set_plan(world, plan)
    add_on(world, frozen_clock, world.owner.uid, 50)
    run = start(world, world.owner)

    charged = charge(world, frozen_clock, run, 30)

    assert charged == 30_000
    assert debits(world, run.uid) == [("included", "user", world.owner.uid, "user", 30.0)]


def test_personal_usage_spills_into_earliest_expiring_add_on(
    world: World, frozen_clock: Clock
) -> None:
    later = add_on(world, frozen_clock, world.owner.uid, 50, days=10)
    sooner = add_on(world, frozen_clock, world.owner.uid, 50, days=300)
    run = start(world, world.owner)

    charge(world, frozen_clock, run, 130)

    assert debits(world, run.uid) == [
        ("included", "user", world.owner.uid, "user", 100.0),
        ("addon", "user", world.owner.uid, "user", 30.0),
    ]
    assert remaining(world, sooner) == 20.0
    assert remaining(world, later) == 50.0


def test_agent_usage_bills_the_team_owner(world: World, frozen_clock: Clock) -> None:
    member = world.add_user("member@example.com")
    add_on(world, frozen_clock, member.uid, 500)
    run = start(world, agent_principal(world))

    charge(world, frozen_clock, run, 40)

    assert debits(world, run.uid) == [
        ("included", "user", world.owner.uid, "service_account", 40.0)
    ]
    assert included_remaining(world, member.uid) == 0.0


def test_agent_usage_uses_owner_add_ons_after_included(world: World, frozen_clock: Clock) -> None:
    add_on(world, frozen_clock, world.owner.uid, 50)
    run = start(world, agent_principal(world))

    charge(world, frozen_clock, run, 120)

    assert [row[0] for row in debits(world, run.uid)] == ["included", "addon"]
    assert sum(row[4] for row in debits(world, run.uid)) == 120.0


@pytest.mark.parametrize("who", ["personal", "agent"])
def test_enterprise_usage_draws_the_team_pool(world: World, frozen_clock: Clock, who: str) -> None:
    set_plan(world, "enterprise")
    pool = team_pool(world, frozen_clock, 1000)
    add_on(world, frozen_clock, world.owner.uid, 500)
    principal = world.owner if who == "personal" else agent_principal(world)
    run = start(world, principal)

    charge(world, frozen_clock, run, 25)

    attributed = "user" if who == "personal" else "service_account"
    assert debits(world, run.uid) == [("team", "team", world.team_uid, attributed, 25.0)]
    assert remaining(world, pool) == 975.0


def test_free_plan_refuses_cloud_runs(world: World, frozen_clock: Clock) -> None:
    set_plan(world, "free")

    with pytest.raises(FeatureNotAvailable, match="cloud agents need"):
        start(world, world.owner)


def test_free_plan_allows_local_runs(world: World, frozen_clock: Clock) -> None:
    set_plan(world, "free")

    run = start(world, world.owner, local=True)

    assert run.state == states.INPROGRESS


@pytest.mark.parametrize("credits_left", [0, 19.999])
def test_admission_needs_20_credits(world: World, frozen_clock: Clock, credits_left: float) -> None:
    run = start(world, world.owner)
    charge(world, frozen_clock, run, 100 - credits_left)

    with pytest.raises(InsufficientCredits, match="at least 20 credits"):
        start(world, world.owner)


def test_enterprise_without_pool_credits_is_refused(world: World, frozen_clock: Clock) -> None:
    set_plan(world, "enterprise")

    with pytest.raises(InsufficientCredits, match=r"Enterprise pool.*ozd credits grant --team"):
        start(world, world.owner)


def test_shortfall_never_goes_below_zero(world: World, frozen_clock: Clock) -> None:
    lot = add_on(world, frozen_clock, world.owner.uid, 10)
    run = start(world, world.owner)

    charged = charge(world, frozen_clock, run, 500)

    assert charged == 110_000
    assert included_remaining(world, world.owner.uid) == 0.0
    assert remaining(world, lot) == 0.0


def test_retried_report_is_charged_once(world: World, frozen_clock: Clock) -> None:
    run = start(world, world.owner)

    first = charge(world, frozen_clock, run, 7, report="tick-1")
    again = charge(world, frozen_clock, run, 7, report="tick-1")
    other = charge(world, frozen_clock, run, 7, report="tick-2")

    assert (first, again, other) == (7000, 7000, 7000)
    assert included_remaining(world, world.owner.uid) == 86.0


def test_usage_after_key_deletion_is_charged_to_no_one(world: World, frozen_clock: Clock) -> None:
    view, _ = world.make_key()
    principal = Principal("user", world.owner.uid, "Owner", "owner@example.com", key_uid=view.uid)
    run = start(world, principal)
    charge(world, frozen_clock, run, 5, report="before")
    with world.database.transaction() as session:
        delete_key(session, world.owner, view.uid)

    charged = charge(world, frozen_clock, run, 50, report="after")

    assert charged == 0
    with world.database.read() as session:
        total = session.scalar(
            select(func.sum(LedgerEntry.amount_milli)).where(LedgerEntry.run_uid == run.uid)
        )
    assert total == -5000


def test_included_credits_reset_each_cycle(world: World, frozen_clock: Clock) -> None:
    run = start(world, world.owner)
    charge(world, frozen_clock, run, 90)

    frozen_clock.advance(days=31)
    later = start(world, world.owner)
    charge(world, frozen_clock, later, 10)

    with world.database.read() as session:
        lots = session.execute(
            select(CreditLot.cycle, CreditLot.remaining_milli)
            .where(CreditLot.kind == "included", CreditLot.owner_uid == world.owner.uid)
            .order_by(CreditLot.cycle)
        ).all()
    assert [(cycle, milli / 1000) for cycle, milli in lots] == [
        ("2030-01", 10.0),
        ("2030-02", 90.0),
    ]


def test_expired_add_on_is_not_spent(world: World, frozen_clock: Clock) -> None:
    expired = add_on(world, frozen_clock, world.owner.uid, 50, days=366)
    run = start(world, world.owner)

    charged = charge(world, frozen_clock, run, 120)

    assert charged == 100_000
    assert remaining(world, expired) == 50.0

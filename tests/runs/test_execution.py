"""Runs: attribution, atomic claiming by workers, completion and cancellation."""

from __future__ import annotations

import threading

import pytest

from oz.billing.plans import PlanCatalog
from oz.db.engine import Database
from oz.db.models import Run
from oz.errors import Conflict, InvalidRequest, NotAuthorized, OperationNotSupported
from oz.principal import Principal
from oz.runs import execution, states
from oz.runs.service import RunRequest, cancel_run, create_run
from tests.support.world import World


def start(world: World, principal: Principal | None = None, **fields: object) -> str:
    request = RunRequest(prompt=str(fields.pop("prompt", "analyze")), config={}, **fields)  # type: ignore[arg-type]
    with world.database.transaction() as session:
        return create_run(session, principal or world.owner, request, PlanCatalog()).uid


def test_user_run_is_attributed_to_the_user(world: World) -> None:
    uid = start(world)

    with world.database.read() as session:
        run = session.get(Run, uid)
    assert run is not None
    assert (run.creator_type, run.creator_user_uid, run.scope_type) == (
        "user",
        world.owner.uid,
        "User",
    )
    assert run.state == states.QUEUED


def test_run_as_agent_identity_is_attributed_to_the_agent(world: World) -> None:
    agent_uid = world.add_agent("Analyst")

    uid = start(world, agent_identity_uid=agent_uid)

    with world.database.read() as session:
        run = session.get(Run, uid)
    assert run is not None
    assert (run.creator_type, run.creator_agent_uid, run.creator_name) == (
        "service_account",
        agent_uid,
        "Analyst",
    )
    assert (run.scope_type, run.scope_uid) == ("Team", world.team_uid)


def test_agent_key_cannot_run_as_another_agent(world: World) -> None:
    other = world.add_agent("Other")
    caller = Principal("service_account", world.default_agent_uid, "bot", team_uid=world.team_uid)

    with pytest.raises(NotAuthorized):
        start(world, caller, agent_identity_uid=other)


def claim_all(database: Database, worker_id: str, claimed: list[str]) -> None:
    while True:
        with database.transaction() as session:
            run = execution.claim_next(session, worker_id)
            if run is None:
                return
            claimed.append(run.uid)


def test_competing_workers_claim_each_run_once(world: World) -> None:
    uids = {start(world, prompt=f"task {index}") for index in range(20)}
    claims: dict[str, list[str]] = {"a": [], "b": [], "c": []}

    threads = [
        threading.Thread(target=claim_all, args=(world.database, worker, claimed))
        for worker, claimed in claims.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    everything = [uid for claimed in claims.values() for uid in claimed]
    assert sorted(everything) == sorted(uids)


def test_worker_host_routes_a_run_to_one_worker(world: World) -> None:
    uid = start(world)
    with world.database.transaction() as session:
        session.get(Run, uid).worker_host = "builder-1"  # type: ignore[union-attr]

    with world.database.transaction() as session:
        assert execution.claim_next(session, "builder-2") is None
    with world.database.transaction() as session:
        claimed = execution.claim_next(session, "builder-1")
        assert claimed is not None
        assert claimed.uid == uid


def test_cancelled_run_is_not_completed_later(world: World) -> None:
    uid = start(world)
    with world.database.transaction() as session:
        execution.claim_next(session, "w")
        execution.mark_started(session, uid, "w")
    with world.database.transaction() as session:
        cancel_run(session, world.owner, uid)

    with world.database.transaction() as session:
        recorded = execution.complete(
            session, PlanCatalog(), uid, "w", execution.RunResult(states.SUCCEEDED)
        )

    assert not recorded
    with world.database.read() as session:
        assert session.get(Run, uid).state == states.CANCELLED  # type: ignore[union-attr]


def test_cancel_rules(world: World) -> None:
    queued = start(world)
    local = start(world, execution_location=states.LOCAL)
    pending = start(world)
    with world.database.transaction() as session:
        session.get(Run, pending).state = states.PENDING  # type: ignore[union-attr]
        cancel_run(session, world.owner, queued)

    with pytest.raises(InvalidRequest, match="already ended"), world.database.transaction() as s:
        cancel_run(s, world.owner, queued)
    with pytest.raises(OperationNotSupported), world.database.transaction() as s:
        cancel_run(s, world.owner, local)
    with pytest.raises(Conflict), world.database.transaction() as s:
        cancel_run(s, world.owner, pending)


def test_completion_by_another_worker_is_rejected(world: World) -> None:
    uid = start(world)
    with world.database.transaction() as session:
        execution.claim_next(session, "w1")

    with pytest.raises(NotAuthorized), world.database.transaction() as session:
        execution.complete(session, PlanCatalog(), uid, "w2", execution.RunResult(states.SUCCEEDED))

"""Self-hosted workers: claims limited to a team and a route, heartbeats and the sweep."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from oz.billing.plans import PlanCatalog
from oz.db.models import Run
from oz.errors import InvalidRequest, NotAuthorized, ResourceNotFound
from oz.github.client import DEFAULT_WEB_URL, GitHubClient
from oz.github.context import GitHubContext
from oz.github.identity import GitHubLinks
from oz.principal import Principal
from oz.runs import execution, self_hosted, states
from oz.runs.heartbeats import sweep_silent_runs
from oz.runs.service import RunRequest, create_run
from tests.conftest import Clock
from tests.support.world import SECRET, World


def agent_of(world: World, team_uid: str | None = None) -> Principal:
    return Principal(
        "service_account", world.default_agent_uid, "worker", team_uid=team_uid or world.team_uid
    )


def queue(world: World, principal: Principal | None = None, host: str | None = None) -> str:
    config = {"worker_host": host} if host else {}
    with world.database.transaction() as session:
        request = RunRequest(prompt="analyze", config=config)
        return create_run(session, principal or world.owner, request, PlanCatalog()).uid


def claim(world: World, worker_id: str, principal: Principal | None = None) -> str | None:
    github = GitHubContext(GitHubClient(), None, GitHubLinks(DEFAULT_WEB_URL, SECRET))
    started = self_hosted.claim(
        world.database, PlanCatalog(), github, SECRET, principal or agent_of(world), worker_id
    )
    return started.uid if started else None


def load(world: World, uid: str) -> Run:
    with world.database.read() as session:
        run = session.get(Run, uid)
        assert run is not None
        return run


def test_claim_starts_run_with_first_heartbeat(world: World) -> None:
    uid = queue(world)

    assert claim(world, "build-box") == uid

    run = load(world, uid)
    assert run.state == states.INPROGRESS
    assert run.claimed_by == "build-box"
    assert run.heartbeat_at is not None
    assert run.github_identity == {"type": "none"}


def test_claim_takes_runs_routed_to_its_id(world: World) -> None:
    routed = queue(world, host="gpu-box")
    other_route = queue(world, host="other-box")

    assert claim(world, "gpu-box") == routed
    assert claim(world, "gpu-box") is None
    assert load(world, other_route).state == states.QUEUED


def test_claim_ignores_other_teams(world: World) -> None:
    other_owner, _ = world.add_team("other@example.com")
    queue(world, other_owner)

    assert claim(world, "build-box") is None


def test_claim_needs_agent_key(world: World) -> None:
    queue(world)

    with pytest.raises(NotAuthorized, match="agent key"):
        claim(world, "build-box", world.owner)


@pytest.mark.parametrize("worker_id", ["", "   ", "warp-1", "WARPED", "x" * 201])
def test_claim_rejects_bad_worker_id(world: World, worker_id: str) -> None:
    with pytest.raises(InvalidRequest, match="worker id"):
        claim(world, worker_id)


def test_embedded_claim_records_no_heartbeat(world: World) -> None:
    uid = queue(world)

    with world.database.transaction() as session:
        execution.claim_next(session, "embedded-test")

    assert load(world, uid).heartbeat_at is None


def test_heartbeat_returns_state_and_sees_cancel(world: World) -> None:
    uid = queue(world)
    claim(world, "build-box")

    with world.database.transaction() as session:
        assert self_hosted.heartbeat(session, agent_of(world), "build-box", uid) == "INPROGRESS"
        session.get(Run, uid).state = states.CANCELLED  # type: ignore[union-attr]
    with world.database.transaction() as session:
        assert self_hosted.heartbeat(session, agent_of(world), "build-box", uid) == "CANCELLED"


def test_heartbeat_from_another_worker_is_rejected(world: World) -> None:
    uid = queue(world)
    claim(world, "build-box")

    with (
        world.database.transaction() as session,
        pytest.raises(NotAuthorized, match="another worker"),
    ):
        self_hosted.heartbeat(session, agent_of(world), "intruder", uid)


def test_heartbeat_from_another_team_is_not_found(world: World) -> None:
    uid = queue(world)
    claim(world, "build-box")
    _, other_team = world.add_team("other@example.com")

    with world.database.transaction() as session, pytest.raises(ResourceNotFound):
        self_hosted.heartbeat(session, agent_of(world, other_team), "build-box", uid)


def test_heartbeat_on_embedded_run_is_rejected(world: World) -> None:
    uid = queue(world)
    with world.database.transaction() as session:
        execution.claim_next(session, "embedded-test")

    with world.database.transaction() as session, pytest.raises(NotAuthorized):
        self_hosted.heartbeat(session, agent_of(world), "embedded-test", uid)


def sweep(world: World, now: datetime, timeout: float = 60) -> list[str]:
    with world.database.transaction() as session:
        return sweep_silent_runs(session, timeout, now)


def test_sweep_ends_silent_run_error(world: World, frozen_clock: Clock) -> None:
    uid = queue(world)
    claim(world, "build-box")

    assert sweep(world, frozen_clock.now + timedelta(seconds=59)) == []
    assert sweep(world, frozen_clock.now + timedelta(seconds=61)) == [uid]

    run = load(world, uid)
    assert run.state == states.ERROR
    assert run.status_message == {
        "message": "the worker build-box stopped sending heartbeats at 2030-01-15T12:00:00Z",
        "error_code": "internal_error",
        "retryable": True,
    }
    assert run.ended_at == frozen_clock.now + timedelta(seconds=61)


def test_sweep_spares_run_with_fresh_heartbeat(world: World, frozen_clock: Clock) -> None:
    uid = queue(world)
    claim(world, "build-box")
    frozen_clock.advance(seconds=50)
    with world.database.transaction() as session:
        self_hosted.heartbeat(session, agent_of(world), "build-box", uid)

    assert sweep(world, frozen_clock.now + timedelta(seconds=30)) == []
    assert load(world, uid).state == states.INPROGRESS


def test_sweep_skips_embedded_runs(world: World, frozen_clock: Clock) -> None:
    uid = queue(world)
    with world.database.transaction() as session:
        execution.claim_next(session, "embedded-test")

    assert sweep(world, frozen_clock.now + timedelta(hours=2)) == []
    assert load(world, uid).state == states.CLAIMED


def test_racing_sweepers_end_run_once(world: World, frozen_clock: Clock) -> None:
    uids = [queue(world) for _ in range(3)]
    for _ in uids:
        claim(world, "build-box")
    later = frozen_clock.now + timedelta(seconds=120)
    barrier = threading.Barrier(4)
    results: list[list[str]] = []

    def sweeper() -> None:
        barrier.wait()
        results.append(sweep(world, later))

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    ended = [uid for result in results for uid in result]
    assert len(results) == 4
    assert sorted(ended) == sorted(uids)
    assert all(load(world, uid).ended_at == later for uid in uids)


def test_sweep_after_report_changes_nothing(world: World, frozen_clock: Clock) -> None:
    uid = queue(world)
    claim(world, "build-box")
    with world.database.transaction() as session:
        execution.complete(
            session, PlanCatalog(), uid, "build-box", execution.RunResult(states.SUCCEEDED)
        )

    assert sweep(world, frozen_clock.now + timedelta(hours=1)) == []
    assert load(world, uid).state == states.SUCCEEDED

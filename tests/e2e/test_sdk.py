"""The official Oz SDK (`oz_agent_sdk`) against a real `ozd serve`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from oz_agent_sdk import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    OzAPI,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from oz_agent_sdk.types.agent import AgentResponse, RunItem

from tests.e2e.conftest import (
    ServerFactory,
    create_agent,
    create_key,
    failure,
    unique,
    write_git_repository,
)
from tests.support.server import OzServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(backend: str, server_factory: ServerFactory) -> OzServer:
    """A server without the embedded worker, so cloud runs stay QUEUED until cancelled."""
    return server_factory(backend, OZ_WORKER="off")


@contextmanager
def sdk_client(server: OzServer, api_key: str, *, strict: bool = False) -> Iterator[OzAPI]:
    with OzAPI(
        api_key=api_key,
        base_url=f"{server.url}/api/v1",
        max_retries=0,
        _strict_response_validation=strict,
    ) as client:
        yield client


@pytest.fixture
def client(server: OzServer) -> Iterator[OzAPI]:
    """An SDK client with the owner's personal key."""
    with sdk_client(server, server.owner_key) as owner_client:
        yield owner_client


def owner_uid(server: OzServer) -> str:
    return str(server.oz_json("whoami", api_key=server.owner_key)["uid"])


def test_run_returns_ids(client: OzAPI) -> None:
    run = client.agent.run(prompt="analyze this codebase")

    assert run.state == "QUEUED"
    assert run.task_id == run.run_id
    assert str(uuid.UUID(run.run_id)) == run.run_id
    assert run.at_capacity is False


def test_retrieve_personal_key_run(server: OzServer, client: OzAPI) -> None:
    run = client.agent.run(prompt="analyze this codebase", title="Personal run")

    item = client.agent.runs.retrieve(run.run_id)

    assert isinstance(item, RunItem)
    assert item.run_id == run.run_id
    assert item.title == "Personal run"
    assert item.prompt == "analyze this codebase"
    assert item.state == "QUEUED"
    assert item.source == "API"
    assert item.execution_location == "REMOTE"
    assert item.creator is not None
    assert item.creator.type == "user"
    assert item.creator.uid == owner_uid(server)
    assert item.creator.email == "owner@example.com"
    assert item.scope is not None
    assert item.scope.type == "User"
    assert item.scope.uid == owner_uid(server)


def test_retrieve_agent_key_run(server: OzServer) -> None:
    name = unique("SDK agent")
    agent = create_agent(server, name)
    agent_key = create_key(server, unique("sdk"), "--expires-in", "1d", "--agent", agent["uid"])

    with sdk_client(server, agent_key["raw_api_key"]) as agent_client:
        run = agent_client.agent.run(prompt="triage the failing build")
        item = agent_client.agent.runs.retrieve(run.run_id)

    assert item.creator is not None
    assert item.creator.type == "service_account"
    assert item.creator.uid == agent["uid"]
    assert item.creator.display_name == name
    assert item.scope is not None
    assert item.scope.type == "Team"
    assert item.scope.uid == server.team_uid
    assert item.source == "API"
    assert item.model_extra is not None
    assert item.model_extra["api_key_uid"] == agent_key["api_key"]["uid"]


def test_list_iterates_every_run(client: OzAPI) -> None:
    created = [client.agent.run(prompt=f"paged run {index}").run_id for index in range(5)]

    iterated = [item.run_id for item in client.agent.runs.list(limit=2)]
    one_page = client.agent.runs.list(limit=500)

    assert iterated == [item.run_id for item in one_page.runs]
    assert len(set(iterated)) == len(iterated)
    assert iterated[:5] == created[::-1]
    assert one_page.page_info is not None
    assert one_page.page_info.has_next_page is False


def test_list_pages_follow_cursor(server: OzServer) -> None:
    agent = create_agent(server, unique("Paged agent"))
    agent_key = create_key(server, unique("paged"), "--no-expiration", "--agent", agent["uid"])

    with sdk_client(server, agent_key["raw_api_key"]) as agent_client:
        created = [agent_client.agent.run(prompt=f"run {index}").run_id for index in range(5)]
        pages = list(agent_client.agent.runs.list(limit=2, creator=agent["uid"]).iter_pages())

    assert [len(page.runs) for page in pages] == [2, 2, 1]
    assert [item.run_id for page in pages for item in page.runs] == created[::-1]


def test_cancel_run(client: OzAPI) -> None:
    run = client.agent.run(prompt="a run to cancel")

    client.agent.runs.cancel(run.run_id)
    item = client.agent.runs.retrieve(run.run_id)

    assert item.state == "CANCELLED"
    assert item.status_message is not None
    assert item.status_message.message.startswith("Cancelled by ")


def test_cancel_returns_run_id_as_json_string(client: OzAPI) -> None:
    """The Oz API returns a cancelled run's id as a JSON string; the SDK returns the text."""
    run = client.agent.run(prompt="a run to cancel")

    cancelled = client.agent.runs.cancel(run.run_id)

    assert json.loads(cancelled) == run.run_id


def test_cancel_ended_run_rejected(client: OzAPI) -> None:
    run = client.agent.run(prompt="a run to cancel twice")
    client.agent.runs.cancel(run.run_id)

    with pytest.raises(BadRequestError) as raised:
        client.agent.runs.cancel(run.run_id)

    assert raised.value.status_code == 400
    assert "already ended in state CANCELLED" in str(raised.value.body)


def test_cancel_local_run_rejected(server: OzServer, client: OzAPI, tmp_path: Path) -> None:
    run_id = run_locally(server, tmp_path)

    with pytest.raises(UnprocessableEntityError) as raised:
        client.agent.runs.cancel(run_id)

    assert raised.value.status_code == 422


def test_identity_lifecycle(client: OzAPI) -> None:
    identities = client.agent.agent
    name = unique("Reviewer")

    created = identities.create(name=name, description="Reviews pull requests")
    fetched = identities.get(created.uid)
    listed = identities.list()
    updated = identities.update(created.uid, name=f"{name} v2")
    refetched = identities.get(created.uid)
    identities.delete(created.uid)
    listed_after_delete = identities.list()

    assert isinstance(created, AgentResponse)
    assert created.name == name
    assert created.description == "Reviews pull requests"
    assert created.available is True
    assert fetched.uid == created.uid
    assert created.uid in {agent.uid for agent in listed.agents}
    assert updated.name == f"{name} v2"
    assert refetched.name == f"{name} v2"
    assert refetched.description == "Reviews pull requests"
    assert created.uid not in {agent.uid for agent in listed_after_delete.agents}
    with pytest.raises(NotFoundError):
        identities.get(created.uid)


def test_delete_default_agent_rejected(server: OzServer, client: OzAPI) -> None:
    with pytest.raises(BadRequestError) as raised:
        client.agent.agent.delete(server.default_agent_uid)

    assert raised.value.status_code == 400
    assert "default cloud agent" in str(raised.value.body)
    assert client.agent.agent.get(server.default_agent_uid).available is True


def run_locally(server: OzServer, tmp_path: Path) -> str:
    """Run `oz agent run` in a new repository and return the id of the finished run."""
    repository = write_git_repository(tmp_path / "repository")
    result = server.oz(
        "--output-format",
        "json",
        "agent",
        "run",
        "--prompt",
        "analyze this codebase",
        api_key=server.owner_key,
        cwd=repository,
    )
    assert result.returncode == 0, failure(result)
    return str(json.loads(result.stdout)["run_id"])


def test_strict_client_parses_every_response(server: OzServer, tmp_path: Path) -> None:
    finished_id = run_locally(server, tmp_path)
    created = server.oz(
        "--output-format",
        "json",
        "environment",
        "create",
        "--name",
        unique("Strict environment"),
        api_key=server.owner_key,
    )
    assert created.returncode == 0, failure(created)
    environment_id = json.loads(created.stdout)["uid"]

    with sdk_client(server, server.owner_key, strict=True) as strict:
        started = strict.agent.run(prompt="strict run", config={"environment_id": environment_id})
        queued = strict.agent.runs.retrieve(started.run_id)
        finished = strict.agent.runs.retrieve(finished_id)
        listed = list(strict.agent.runs.list(limit=3))
        strict.agent.runs.cancel(started.run_id)
        cancelled = strict.agent.runs.retrieve(started.run_id)
        agent = strict.agent.agent.create(name=unique("Strict agent"), skills=["acme/app:SKILL.md"])
        strict.agent.agent.get(agent.uid)
        strict.agent.agent.update(agent.uid, description="Checked strictly")
        agents = strict.agent.agent.list()
        strict.agent.agent.delete(agent.uid)

    assert queued.state == "QUEUED"
    assert queued.agent_config is not None
    assert queued.agent_config.environment_id == environment_id
    assert finished.state == "SUCCEEDED"
    assert finished.execution_location == "LOCAL"
    assert finished.started_at is not None
    assert finished.run_time is not None
    assert len(listed) >= 2
    assert cancelled.state == "CANCELLED"
    assert isinstance(cancelled.created_at, datetime)
    assert cancelled.created_at.tzinfo is not None
    assert agent.skills == ["acme/app:SKILL.md"]
    assert server.default_agent_uid in {item.uid for item in agents.agents}


def test_deleted_key_raises_authentication_error(server: OzServer) -> None:
    created = create_key(server, unique("deleted"))
    expired = server.oz(
        "api-key", "expire", created["api_key"]["uid"], "--force", api_key=server.owner_key
    )
    assert expired.returncode == 0, failure(expired)

    with (
        sdk_client(server, created["raw_api_key"]) as deleted_client,
        pytest.raises(AuthenticationError) as raised,
    ):
        deleted_client.agent.runs.list()

    assert raised.value.status_code == 401
    assert isinstance(raised.value.body, dict)
    assert "authentication" in raised.value.body["error"].lower()


def test_expired_key_raises_authentication_error(server: OzServer) -> None:
    created = create_key(server, unique("short-lived"), "--expires-in", "2s")
    expires_at = datetime.fromisoformat(created["api_key"]["expires_at"].replace("Z", "+00:00"))

    with sdk_client(server, created["raw_api_key"]) as short_client:
        short_client.agent.runs.list(limit=1)
        time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.5)
        with pytest.raises(AuthenticationError) as raised:
            short_client.agent.runs.list(limit=1)

    assert raised.value.status_code == 401
    assert isinstance(raised.value.body, dict)
    assert "authentication" in raised.value.body["error"].lower()
    assert "expired" in raised.value.body["detail"]


def test_agent_key_cannot_create_identity(server: OzServer) -> None:
    agent = create_agent(server, unique("Restricted agent"))
    agent_key = create_key(server, unique("agent"), "--no-expiration", "--agent", agent["uid"])

    with (
        sdk_client(server, agent_key["raw_api_key"]) as agent_client,
        pytest.raises(PermissionDeniedError) as raised,
    ):
        agent_client.agent.agent.create(name=unique("Created by an agent"))

    assert raised.value.status_code == 403
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["title"] == "Not authorized"

"""Two `ozd serve` replicas on one PostgreSQL database, in separate data directories.

They share nothing but the database and the server secret, as replicas on two hosts
would, so a key deleted through one is refused by the other only through the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import ServerFactory, create_key, failure, unique
from tests.support.server import OzServer

SECRET = "replica-test-secret-0123456789abcdef0123"
EXIT_AUTHENTICATION = 3


@pytest.fixture(scope="module")
def replicas(
    server_factory: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OzServer, OzServer]]:
    first = server_factory("postgresql", OZ_SECRET=SECRET)
    data_dir = tmp_path_factory.mktemp("replica")
    second = OzServer(data_dir, data_dir / "ozd-e2e-replica.log", first.database_url, first.env)
    second.owner_key, second.team_uid = first.owner_key, first.team_uid
    second.default_agent_uid = first.default_agent_uid
    second.serve()
    yield first, second
    second.stop()


def whoami(server: OzServer, key: str) -> int:
    return server.oz("whoami", api_key=key).returncode


def test_key_works_on_other_replica(replicas: tuple[OzServer, OzServer]) -> None:
    first, second = replicas
    key = create_key(first, unique("replicated"))["raw_api_key"]

    shown = second.oz("--output-format", "json", "whoami", api_key=key)

    assert shown.returncode == 0, failure(shown)
    assert json.loads(shown.stdout)["email"] == "owner@example.com"


def test_deleted_key_refused_by_other_replica(
    replicas: tuple[OzServer, OzServer],
) -> None:
    first, second = replicas
    created = create_key(first, unique("revoked"))
    key = created["raw_api_key"]
    assert whoami(second, key) == 0
    assert whoami(second, key) == 0  # now in the second replica's cache

    expired = first.oz("api-key", "expire", created["api_key"]["uid"], "--force", api_key=key)
    assert expired.returncode == 0, failure(expired)

    assert whoami(second, key) == EXIT_AUTHENTICATION
    assert whoami(first, key) == EXIT_AUTHENTICATION


def test_no_request_accepted_after_delete(replicas: tuple[OzServer, OzServer]) -> None:
    first, second = replicas
    created = create_key(first, unique("under-load"))
    key = created["raw_api_key"]
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{second.url}/api/v1/me", headers=headers).status_code == 200
        deleted = client.delete(
            f"{first.url}/api/v1/api-keys/{created['api_key']['uid']}",
            headers={"Authorization": f"Bearer {first.owner_key}"},
        )
        assert deleted.status_code == 200, deleted.text

        def status(index: int) -> int:
            server = (first, second)[index % 2]
            return client.get(f"{server.url}/api/v1/me", headers=headers).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(status, range(200)))

    assert statuses.count(200) == 0
    assert set(statuses) == {401}

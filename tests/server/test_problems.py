"""Every error is an `application/problem+json` document, and a bad credential gets 401."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from httpx2 import Response

from oz import __version__, keys
from oz.db.engine import Database
from oz.errors import DOCS_PATH
from tests.conftest import Clock
from tests.server.conftest import Api
from tests.support.secrets import remember

PROBLEM_JSON = "application/problem+json"
AUTHENTICATION_REQUIRED = f"{DOCS_PATH}authentication-required/"


def alter_last_character(raw_key: str) -> str:
    """Return the key with its last checksum character changed, so the checksum fails."""
    last = "A" if raw_key[-1] != "A" else "B"
    return raw_key[:-1] + last


def agent_key(api: Api) -> str:
    _, raw = api.world.make_key(agent_uid=api.world.default_agent_uid, name="agent")
    return raw


def start_local_run(api: Api) -> str:
    response = api.client.post(
        "/api/v1/agent/runs",
        headers=api.headers(),
        json={"prompt": "Run the tests", "execution_location": "LOCAL"},
    )
    assert response.status_code == 200
    run_id: str = response.json()["run_id"]
    return run_id


def request_without_credential(api: Api) -> Response:
    return api.client.get("/api/v1/me")


def request_api_keys_as_agent(api: Api) -> Response:
    return api.client.get("/api/v1/api-keys", headers=api.headers(agent_key(api)))


def request_bad_sort_order(api: Api) -> Response:
    return api.client.get(
        "/api/v1/agent/runs", headers=api.headers(), params={"sort_order": "sideways"}
    )


def request_unknown_run(api: Api) -> Response:
    return api.client.get("/api/v1/agent/runs/no-such-run", headers=api.headers())


def request_unknown_path(api: Api) -> Response:
    return api.client.get("/api/v1/no-such-path", headers=api.headers())


def request_cancel_of_local_run(api: Api) -> Response:
    run_id = start_local_run(api)
    return api.client.post(f"/api/v1/agent/runs/{run_id}/cancel", headers=api.headers())


def test_problem_401_every_field(api: Api) -> None:
    response = api.client.get("/api/v1/me")

    detail = "missing Authorization header: send 'Authorization: Bearer wk-...'"
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": AUTHENTICATION_REQUIRED,
        "title": "Authentication required",
        "status": 401,
        "detail": detail,
        "instance": "/api/v1/me",
        "error": f"Authentication required ({detail})",
        "retryable": False,
        "trace_id": response.headers["X-Request-Id"],
    }


@pytest.mark.parametrize(
    ("send", "status", "code", "title", "instance"),
    [
        pytest.param(
            request_without_credential,
            401,
            "authentication-required",
            "Authentication required",
            "/api/v1/me",
            id="401-authentication-required",
        ),
        pytest.param(
            request_api_keys_as_agent,
            403,
            "not-authorized",
            "Not authorized",
            "/api/v1/api-keys",
            id="403-not-authorized",
        ),
        pytest.param(
            request_bad_sort_order,
            400,
            "invalid-request",
            "Invalid request",
            "/api/v1/agent/runs",
            id="400-invalid-request",
        ),
        pytest.param(
            request_unknown_run,
            404,
            "resource-not-found",
            "Resource not found",
            "/api/v1/agent/runs/no-such-run",
            id="404-unknown-run",
        ),
        pytest.param(
            request_unknown_path,
            404,
            "resource-not-found",
            "Resource not found",
            "/api/v1/no-such-path",
            id="404-unknown-path",
        ),
        pytest.param(
            request_cancel_of_local_run,
            422,
            "operation-not-supported",
            "Operation not supported",
            None,
            id="422-operation-not-supported",
        ),
    ],
)
def test_problem_format_of_each_error(
    api: Api,
    send: Callable[[Api], Response],
    status: int,
    code: str,
    title: str,
    instance: str | None,
) -> None:
    response = send(api)

    problem = response.json()
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    assert problem["type"] == f"/reference/api-and-sdk/troubleshooting/errors/{code}/"
    assert problem["title"] == title
    assert problem["status"] == status
    assert isinstance(problem["detail"], str)
    assert problem["detail"]
    assert problem["instance"] == (instance or response.request.url.path)
    assert problem["error"] == f"{title} ({problem['detail']})"
    assert problem["retryable"] is False
    assert problem["trace_id"] == response.headers["X-Request-Id"]


def test_problem_trace_id_echoes_request_id(api: Api) -> None:
    response = api.client.get("/api/v1/me", headers={"X-Request-Id": "client-trace.42_a"})

    assert response.headers["X-Request-Id"] == "client-trace.42_a"
    assert response.json()["trace_id"] == "client-trace.42_a"


@pytest.mark.parametrize(
    "request_id",
    [
        pytest.param("has space", id="space"),
        pytest.param("x" * 65, id="65-characters"),
        pytest.param("", id="empty"),
    ],
)
def test_problem_trace_id_replaces_invalid_request_id(api: Api, request_id: str) -> None:
    response = api.client.get("/api/v1/me", headers={"X-Request-Id": request_id})

    trace_id = response.json()["trace_id"]
    assert trace_id != request_id
    assert len(trace_id) == 32
    assert response.headers["X-Request-Id"] == trace_id


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        pytest.param(
            lambda api: None,
            "missing Authorization header: send 'Authorization: Bearer wk-...'",
            id="missing-header",
        ),
        pytest.param(
            lambda api: f"Basic {api.owner_key}",
            "the Authorization header must be 'Bearer' followed by an API key",
            id="basic-scheme",
        ),
        pytest.param(
            lambda api: f"Token {api.owner_key}",
            "the Authorization header must be 'Bearer' followed by an API key",
            id="token-scheme",
        ),
        pytest.param(
            lambda api: api.owner_key,
            "the Authorization header must be 'Bearer' followed by an API key",
            id="key-without-scheme",
        ),
        pytest.param(
            lambda api: "Bearer ",
            "the Authorization header must be 'Bearer' followed by an API key",
            id="empty-bearer",
        ),
        pytest.param(
            lambda api: "Bearer sk-" + api.owner_key[3:],
            "the API key does not start with 'wk-': it is invalid or from an older format",
            id="no-wk-prefix",
        ),
        pytest.param(
            lambda api: "Bearer " + alter_last_character(api.owner_key),
            "the API key's checksum does not match: it looks mistyped or truncated",
            id="bad-checksum",
        ),
        pytest.param(
            lambda api: "Bearer " + api.owner_key[:-1],
            "the API key is not 40 characters of 'wk-' and letters or digits:"
            " it looks mistyped or truncated",
            id="truncated",
        ),
        pytest.param(
            lambda api: "Bearer " + remember(keys.generate().value),
            "the API key is not valid: it is unknown, or it was deleted"
            " (`oz api-key expire` deletes a key)",
            id="unknown-well-formed-key",
        ),
    ],
)
def test_auth_rejects_bad_credential(
    api: Api, authorization: Callable[[Api], str | None], detail: str
) -> None:
    header = authorization(api)
    headers = {} if header is None else {"Authorization": header}

    response = api.client.get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == AUTHENTICATION_REQUIRED
    assert response.json()["detail"] == detail


def test_auth_rejects_deleted_key(api: Api) -> None:
    view, raw = api.world.make_key(name="short-lived")
    assert api.client.get("/api/v1/me", headers=api.headers(raw)).status_code == 200
    deleted = api.client.delete(f"/api/v1/api-keys/{view.uid}", headers=api.headers())
    assert deleted.status_code == 200

    response = api.client.get("/api/v1/me", headers=api.headers(raw))

    assert response.status_code == 401
    assert response.json()["type"] == AUTHENTICATION_REQUIRED
    assert (
        response.json()["detail"] == "the API key is not valid: it is unknown, or it was deleted"
        " (`oz api-key expire` deletes a key)"
    )


def create_key_expiring_in_one_day(api: Api) -> str:
    response = api.client.post(
        "/api/v1/api-keys", headers=api.headers(), json={"name": "one day", "expires_in": "1d"}
    )
    assert response.status_code == 201
    return remember(response.json()["raw_api_key"])


def test_auth_rejects_key_at_expiry(api: Api, frozen_clock: Clock) -> None:
    raw = create_key_expiring_in_one_day(api)
    frozen_clock.advance(days=1)

    response = api.client.get("/api/v1/me", headers=api.headers(raw))

    assert response.status_code == 401
    assert response.json()["type"] == AUTHENTICATION_REQUIRED
    assert response.json()["detail"] == "the API key has expired: create a new one"


def test_auth_accepts_key_one_second_before_expiry(api: Api, frozen_clock: Clock) -> None:
    raw = create_key_expiring_in_one_day(api)
    frozen_clock.advance(days=1, seconds=-1)

    response = api.client.get("/api/v1/me", headers=api.headers(raw))

    assert response.status_code == 200
    assert response.json()["email"] == "owner@example.com"


def test_auth_rejects_cached_key_once_expired(api: Api, frozen_clock: Clock) -> None:
    raw = create_key_expiring_in_one_day(api)
    frozen_clock.advance(days=1, seconds=-1)
    assert api.client.get("/api/v1/me", headers=api.headers(raw)).status_code == 200
    frozen_clock.advance(seconds=1)

    response = api.client.get("/api/v1/me", headers=api.headers(raw))

    assert response.status_code == 401
    assert response.json()["detail"] == "the API key has expired: create a new one"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda api: "sk-" + api.owner_key[3:], id="no-wk-prefix"),
        pytest.param(lambda api: alter_last_character(api.owner_key), id="bad-checksum"),
        pytest.param(lambda api: api.owner_key + "x", id="one-character-too-long"),
        pytest.param(lambda api: keys.generate().value, id="unknown-well-formed-key"),
    ],
)
def test_auth_detail_never_contains_key(api: Api, token: Callable[[Api], str]) -> None:
    raw = remember(token(api))

    response = api.client.get("/api/v1/me", headers=api.headers(raw))

    assert response.status_code == 401
    assert raw not in response.json()["detail"]
    assert raw[3:] not in response.text
    assert raw[3:] not in str(response.headers)


def test_auth_deleted_key_detail_omits_key(api: Api) -> None:
    view, raw = api.world.make_key(name="to delete")
    api.client.delete(f"/api/v1/api-keys/{view.uid}", headers=api.headers())

    response = api.client.get("/api/v1/me", headers=api.headers(raw))

    assert response.status_code == 401
    assert raw not in response.json()["detail"]
    assert raw[3:] not in response.text


def test_unknown_path_not_found(api: Api) -> None:
    response = api.client.get("/api/v1/no-such-path")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == f"{DOCS_PATH}resource-not-found/"
    assert response.json()["detail"] == "no such path: /api/v1/no-such-path"


def test_unsupported_method_is_problem(api: Api) -> None:
    response = api.client.put("/healthz")

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 405
    assert response.json()["instance"] == "/healthz"


def test_healthz_needs_no_credential(api: Api) -> None:
    response = api.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_openapi_lists_api_paths(api: Api) -> None:
    response = api.client.get("/api/v1/openapi.json")

    paths = response.json()["paths"]
    assert response.status_code == 200
    assert set(paths["/api/v1/api-keys"]) == {"get", "post"}
    assert set(paths["/api/v1/agent/runs"]) == {"get", "post"}


@pytest.mark.parametrize("path", ["/api/v1/api-keys", "/readyz"])
def test_unreachable_database_is_503(api: Api, path: str) -> None:
    assert api.client.get("/api/v1/me", headers=api.headers()).status_code == 200  # key cached
    assert api.client.get("/readyz").json()["status"] == "ready"
    state = api.client.app.state.oz  # type: ignore[attr-defined]
    reachable = state.database
    # Nothing listens on port 1, so every connection attempt fails at once.
    state.database = Database("postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2")
    try:
        response = api.client.get(path, headers=api.headers())
    finally:
        state.database.dispose()
        state.database = reachable

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/resource-unavailable/")
    assert problem["detail"].startswith("the database is unavailable: retry")
    assert problem["trace_id"] == response.headers["X-Request-Id"]

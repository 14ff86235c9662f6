"""Every endpoint rejects bad input with a problem that names the field, and writes nothing.

Each row of `BAD_REQUESTS` is one endpoint with one bad input. `{placeholders}` in its
path and JSON body are filled from `Targets`, the resources that exist before the request.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from oz.db.engine import Database
from oz.db.models import Base
from oz.principal import Principal
from oz.server.state import ServerState
from tests.server.conftest import Api
from tests.support.secrets import remember

PROBLEM_JSON = "application/problem+json"
DIGESTED_TABLES = ("api_keys", "cloud_agents", "runs", "environments", "github_orgs")
NEVER = {"expires_in": "never"}
KEYS = "/api/v1/api-keys"
AGENTS = "/api/v1/agent/identities"
RUNS = "/api/v1/agent/runs"
RUN_ALIAS = "/api/v1/agent/run"
ENVIRONMENTS = "/api/v1/agent/environments"
ORGS = "/api/v1/github/orgs"
MALFORMED_JSON = '{"name": "ci",'


def start_run(api: Api, key: str | None = None, **body: Any) -> str:
    response = api.client.post(
        RUNS, headers=api.headers(key), json={"prompt": "Run the tests", **body}
    )
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


class Targets:
    """Resources the bad requests refer to, each created on first use.

    Rows name them as `{placeholders}`, which `fill` resolves before the database snapshot,
    so creating a target never counts as a change made by the bad request.
    """

    def __init__(self, api: Api) -> None:
        self.api = api

    def __getitem__(self, name: str) -> str:
        value: str = getattr(self, name)
        return value

    @cached_property
    def other_team(self) -> tuple[Principal, str, str]:
        """Return the owner, uid and owner's raw key of a team the caller is not in."""
        owner, team_uid = self.api.world.add_team("other@example.com")
        _, raw_key = self.api.world.make_key(owner, name="other owner")
        return owner, team_uid, raw_key

    @cached_property
    def agent_uid(self) -> str:
        return self.api.world.add_agent("Builder")

    @cached_property
    def default_agent_uid(self) -> str:
        return self.api.world.default_agent_uid

    @cached_property
    def other_agent_uid(self) -> str:
        owner, _, _ = self.other_team
        return self.api.world.add_agent("Their agent", creator=owner)

    @cached_property
    def other_team_uid(self) -> str:
        _, team_uid, _ = self.other_team
        return team_uid

    @cached_property
    def queued_run_id(self) -> str:
        return start_run(self.api)

    @cached_property
    def local_run_id(self) -> str:
        return start_run(self.api, execution_location="LOCAL")

    @cached_property
    def cancelled_run_id(self) -> str:
        run_id = start_run(self.api)
        response = self.api.client.post(f"{RUNS}/{run_id}/cancel", headers=self.api.headers())
        assert response.status_code == 200, response.text
        return run_id

    @cached_property
    def other_run_id(self) -> str:
        _, _, raw_key = self.other_team
        return start_run(self.api, raw_key)

    @cached_property
    def environment_id(self) -> str:
        response = self.api.client.post(
            ENVIRONMENTS,
            headers=self.api.headers(),
            json={"name": "Widgets", "repos": ["acme/widgets"], "setup_commands": ["make"]},
        )
        assert response.status_code == 201, response.text
        environment_id: str = response.json()["uid"]
        return environment_id

    @cached_property
    def environment_name(self) -> str:
        assert self.environment_id
        return "Widgets"

    @cached_property
    def other_environment_id(self) -> str:
        _, _, raw_key = self.other_team
        response = self.api.client.post(
            ENVIRONMENTS, headers=self.api.headers(raw_key), json={"name": "Theirs"}
        )
        assert response.status_code == 201, response.text
        environment_id: str = response.json()["uid"]
        return environment_id

    @cached_property
    def member_key_uid(self) -> str:
        member = self.api.world.add_user("member@example.com")
        view, _ = self.api.world.make_key(member, name="member personal")
        return view.uid


@dataclass(frozen=True)
class BadRequest:
    """One request with bad input, the status it must get and the field it must name.

    `names` must equal the problem's `field` member or appear in its `detail`. For an id
    in the path it is that id, and for a rule about no single field it is a phrase of
    the detail. `body` is sent as JSON, `content` as a raw JSON-typed body.
    """

    method: str
    path: str
    status: int
    names: str
    body: Any = None
    content: str | None = None
    params: dict[str, str | list[str]] | None = None


def bad(
    case_id: str,
    method: str,
    path: str,
    status: int,
    names: str,
    *,
    body: Any = None,
    content: str | None = None,
    params: dict[str, str | list[str]] | None = None,
) -> Any:
    return pytest.param(BadRequest(method, path, status, names, body, content, params), id=case_id)


def encode_cursor(payload: list[Any]) -> str:
    """Encode a cursor the way the server does, for cursors it never issued."""
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_REQUESTS = [
    # POST /api/v1/api-keys
    bad("create-key-malformed-json", "POST", KEYS, 400, "body", content=MALFORMED_JSON),
    bad("create-key-missing-body", "POST", KEYS, 400, "body"),
    bad("create-key-json-array", "POST", KEYS, 400, "body", body=[]),
    bad("create-key-missing-name", "POST", KEYS, 400, "name", body=NEVER),
    bad("create-key-name-not-string", "POST", KEYS, 400, "name", body={"name": 5, **NEVER}),
    bad("create-key-blank-name", "POST", KEYS, 400, "name", body={"name": "   ", **NEVER}),
    bad(
        "create-key-name-101-chars",
        "POST",
        KEYS,
        400,
        "name",
        body={"name": "  " + "k" * 101 + "  ", **NEVER},
    ),
    bad(
        "create-key-unknown-field",
        "POST",
        KEYS,
        400,
        "color",
        body={"name": "ci", "color": "red", **NEVER},
    ),
    bad("create-key-bad-type", "POST", KEYS, 400, "type", body={"name": "ci", "type": "robot"}),
    bad(
        "create-key-both-expirations",
        "POST",
        KEYS,
        400,
        "expires_at",
        body={"name": "ci", "expires_in": "30d", "expires_at": "2099-01-01T00:00:00Z"},
    ),
    bad("create-key-no-expiration", "POST", KEYS, 400, "expires_in", body={"name": "ci"}),
    bad(
        "create-key-expires-at-past",
        "POST",
        KEYS,
        400,
        "expires_at",
        body={"name": "ci", "expires_at": "2000-01-01T00:00:00Z"},
    ),
    bad(
        "create-key-expires-at-without-offset",
        "POST",
        KEYS,
        400,
        "expires_at",
        body={"name": "ci", "expires_at": "2099-01-01T00:00:00"},
    ),
    bad(
        "create-key-expires-at-not-a-time",
        "POST",
        KEYS,
        400,
        "expires_at",
        body={"name": "ci", "expires_at": "next tuesday"},
    ),
    bad(
        "create-key-bad-duration",
        "POST",
        KEYS,
        400,
        "expires_in",
        body={"name": "ci", "expires_in": "5x"},
    ),
    bad(
        "create-key-zero-duration",
        "POST",
        KEYS,
        400,
        "expires_in",
        body={"name": "ci", "expires_in": "0d"},
    ),
    bad(
        "create-key-duration-over-10-years",
        "POST",
        KEYS,
        400,
        "expires_in",
        body={"name": "ci", "expires_in": "3651d"},
    ),
    bad(
        "create-key-agent-without-agent-uid",
        "POST",
        KEYS,
        400,
        "agent_uid",
        body={"name": "ci", "type": "agent", **NEVER},
    ),
    bad(
        "create-key-personal-with-agent-uid",
        "POST",
        KEYS,
        400,
        "agent_uid",
        body={"name": "ci", "agent_uid": "{agent_uid}", **NEVER},
    ),
    bad(
        "create-key-other-team-agent",
        "POST",
        KEYS,
        404,
        "agent_uid",
        body={"name": "ci", "type": "agent", "agent_uid": "{other_agent_uid}", **NEVER},
    ),
    # DELETE /api/v1/api-keys/{uid} and GET /api/v1/api-keys
    bad("delete-key-unknown", "DELETE", f"{KEYS}/no-such-key", 404, "no-such-key"),
    bad(
        "delete-key-of-other-member",
        "DELETE",
        f"{KEYS}/{{member_key_uid}}",
        404,
        "{member_key_uid}",
    ),
    bad("list-keys-bad-sort", "GET", KEYS, 400, "sort_by", params={"sort_by": "bad"}),
    # POST /api/v1/agent/identities
    bad("create-agent-malformed-json", "POST", AGENTS, 400, "body", content=MALFORMED_JSON),
    bad("create-agent-missing-body", "POST", AGENTS, 400, "body"),
    bad("create-agent-missing-name", "POST", AGENTS, 400, "name", body={}),
    bad("create-agent-name-not-string", "POST", AGENTS, 400, "name", body={"name": 5}),
    bad("create-agent-blank-name", "POST", AGENTS, 400, "name", body={"name": " \t "}),
    bad("create-agent-name-101-chars", "POST", AGENTS, 400, "name", body={"name": "a" * 101}),
    bad(
        "create-agent-description-2001-chars",
        "POST",
        AGENTS,
        400,
        "description",
        body={"name": "Builder", "description": "d" * 2001},
    ),
    bad(
        "create-agent-skills-not-list",
        "POST",
        AGENTS,
        400,
        "skills",
        body={"name": "Builder", "skills": "review"},
    ),
    bad(
        "create-agent-other-team",
        "POST",
        AGENTS,
        404,
        "team",
        body={"name": "Builder", "team": "{other_team_uid}"},
    ),
    # PUT, DELETE and GET /api/v1/agent/identities/{uid}
    bad(
        "update-agent-malformed-json",
        "PUT",
        f"{AGENTS}/{{agent_uid}}",
        400,
        "body",
        content=MALFORMED_JSON,
    ),
    bad("update-agent-missing-body", "PUT", f"{AGENTS}/{{agent_uid}}", 400, "body"),
    bad(
        "update-agent-blank-name",
        "PUT",
        f"{AGENTS}/{{agent_uid}}",
        400,
        "name",
        body={"name": ""},
    ),
    bad(
        "update-agent-name-101-chars",
        "PUT",
        f"{AGENTS}/{{agent_uid}}",
        400,
        "name",
        body={"name": "b" * 101},
    ),
    bad(
        "update-agent-name-not-string",
        "PUT",
        f"{AGENTS}/{{agent_uid}}",
        400,
        "name",
        body={"name": ["Builder"]},
    ),
    bad(
        "update-agent-of-other-team",
        "PUT",
        f"{AGENTS}/{{other_agent_uid}}",
        404,
        "{other_agent_uid}",
        body={"name": "Mine"},
    ),
    bad(
        "update-agent-unknown",
        "PUT",
        f"{AGENTS}/no-such-agent",
        404,
        "no-such-agent",
        body={"name": "Mine"},
    ),
    bad(
        "delete-agent-default",
        "DELETE",
        f"{AGENTS}/{{default_agent_uid}}",
        400,
        "default cloud agent",
    ),
    bad("delete-agent-unknown", "DELETE", f"{AGENTS}/no-such-agent", 404, "no-such-agent"),
    bad(
        "delete-agent-of-other-team",
        "DELETE",
        f"{AGENTS}/{{other_agent_uid}}",
        404,
        "{other_agent_uid}",
    ),
    bad("get-agent-unknown", "GET", f"{AGENTS}/no-such-agent", 404, "no-such-agent"),
    bad(
        "get-agent-of-other-team",
        "GET",
        f"{AGENTS}/{{other_agent_uid}}",
        404,
        "{other_agent_uid}",
    ),
    # POST /api/v1/agent/runs and its older path /api/v1/agent/run
    bad("start-run-malformed-json", "POST", RUNS, 400, "body", content='{"prompt": '),
    bad("start-run-missing-body", "POST", RUNS, 400, "body"),
    bad("start-run-missing-prompt", "POST", RUNS, 400, "prompt", body={"title": "Tests"}),
    bad("start-run-prompt-not-string", "POST", RUNS, 400, "prompt", body={"prompt": 42}),
    bad("start-run-blank-prompt", "POST", RUNS, 400, "prompt", body={"prompt": "  \n "}),
    bad(
        "start-run-prompt-over-100000-chars",
        "POST",
        RUNS,
        400,
        "prompt",
        body={"prompt": "p" * 100_001},
    ),
    bad(
        "start-run-blank-title",
        "POST",
        RUNS,
        400,
        "title",
        body={"prompt": "Run the tests", "title": "   "},
    ),
    bad(
        "start-run-config-not-object",
        "POST",
        RUNS,
        400,
        "config",
        body={"prompt": "Run the tests", "config": "nightly"},
    ),
    bad(
        "start-run-config-name-not-string",
        "POST",
        RUNS,
        400,
        "config.name",
        body={"prompt": "Run the tests", "config": {"name": 7}},
    ),
    bad(
        "start-run-worker-host-warp",
        "POST",
        RUNS,
        400,
        "config.worker_host",
        body={"prompt": "Run the tests", "config": {"worker_host": "warp-cloud-1"}},
    ),
    bad(
        "start-run-worker-host-warp-uppercase",
        "POST",
        RUNS,
        400,
        "config.worker_host",
        body={"prompt": "Run the tests", "config": {"worker_host": " WARP"}},
    ),
    bad(
        "start-run-bad-source",
        "POST",
        RUNS,
        400,
        "source",
        body={"prompt": "Run the tests", "source": "EMAIL"},
    ),
    bad(
        "start-run-bad-execution-location",
        "POST",
        RUNS,
        400,
        "execution_location",
        body={"prompt": "Run the tests", "execution_location": "MOON"},
    ),
    bad(
        "start-run-other-team",
        "POST",
        RUNS,
        404,
        "team",
        body={"prompt": "Run the tests", "team": "{other_team_uid}"},
    ),
    bad(
        "start-run-as-other-team-agent",
        "POST",
        RUNS,
        404,
        "agent_identity_uid",
        body={"prompt": "Run the tests", "agent_identity_uid": "{other_agent_uid}"},
    ),
    bad("start-run-alias-malformed-json", "POST", RUN_ALIAS, 400, "body", content="{"),
    bad("start-run-alias-missing-body", "POST", RUN_ALIAS, 400, "body"),
    bad("start-run-alias-missing-prompt", "POST", RUN_ALIAS, 400, "prompt", body={}),
    bad("start-run-alias-blank-prompt", "POST", RUN_ALIAS, 400, "prompt", body={"prompt": ""}),
    bad(
        "start-run-alias-worker-host-warp",
        "POST",
        RUN_ALIAS,
        400,
        "config.worker_host",
        body={"prompt": "Run the tests", "config": {"worker_host": "warp"}},
    ),
    # GET /api/v1/agent/runs
    bad("list-runs-limit-0", "GET", RUNS, 400, "limit", params={"limit": "0"}),
    bad("list-runs-limit-501", "GET", RUNS, 400, "limit", params={"limit": "501"}),
    bad("list-runs-limit-not-integer", "GET", RUNS, 400, "limit", params={"limit": "ten"}),
    bad("list-runs-garbage-cursor", "GET", RUNS, 400, "cursor", params={"cursor": "garbage!!"}),
    bad(
        "list-runs-cursor-of-other-sort",
        "GET",
        RUNS,
        400,
        "cursor",
        params={
            "cursor": encode_cursor(["created_at", "2030-01-01T00:00:00+00:00", "x"]),
            "sort_by": "updated_at",
        },
    ),
    bad(
        "list-runs-cursor-time-without-offset",
        "GET",
        RUNS,
        400,
        "cursor",
        params={"cursor": encode_cursor(["updated_at", "2030-01-01T00:00:00", "x"])},
    ),
    bad(
        "list-runs-cursor-title-not-string",
        "GET",
        RUNS,
        400,
        "cursor",
        params={"cursor": encode_cursor(["title", None, "x"]), "sort_by": "title"},
    ),
    bad("list-runs-bad-sort-by", "GET", RUNS, 400, "sort_by", params={"sort_by": "prompt"}),
    bad("list-runs-bad-sort-order", "GET", RUNS, 400, "sort_order", params={"sort_order": "up"}),
    bad("list-runs-bad-state", "GET", RUNS, 400, "state", params={"state": "DONE"}),
    bad(
        "list-runs-one-bad-state-of-two",
        "GET",
        RUNS,
        400,
        "state",
        params={"state": ["QUEUED", "queued"]},
    ),
    bad(
        "list-runs-created-after-not-a-time",
        "GET",
        RUNS,
        400,
        "created_after",
        params={"created_after": "yesterday"},
    ),
    bad(
        "list-runs-created-after-without-offset",
        "GET",
        RUNS,
        400,
        "created_after",
        params={"created_after": "2030-01-01T00:00:00"},
    ),
    bad("list-runs-bad-source", "GET", RUNS, 400, "source", params={"source": "EMAIL"}),
    bad(
        "list-runs-bad-execution-location",
        "GET",
        RUNS,
        400,
        "execution_location",
        params={"execution_location": "MOON"},
    ),
    # GET /api/v1/agent/runs/{id} and POST .../cancel
    bad("get-run-unknown", "GET", f"{RUNS}/no-such-run", 404, "no-such-run"),
    bad("get-run-of-other-team", "GET", f"{RUNS}/{{other_run_id}}", 404, "{other_run_id}"),
    bad("cancel-run-unknown", "POST", f"{RUNS}/no-such-run/cancel", 404, "no-such-run"),
    bad(
        "cancel-run-of-other-team",
        "POST",
        f"{RUNS}/{{other_run_id}}/cancel",
        404,
        "{other_run_id}",
    ),
    bad(
        "cancel-run-already-cancelled",
        "POST",
        f"{RUNS}/{{cancelled_run_id}}/cancel",
        400,
        "{cancelled_run_id}",
    ),
    bad("cancel-run-local", "POST", f"{RUNS}/{{local_run_id}}/cancel", 422, "local runs"),
    # POST /api/v1/agent/runs/{id}/report
    bad(
        "report-malformed-json",
        "POST",
        f"{RUNS}/{{local_run_id}}/report",
        400,
        "body",
        content='{"state": "SUCCEEDED"',
    ),
    bad("report-missing-body", "POST", f"{RUNS}/{{local_run_id}}/report", 400, "body"),
    bad(
        "report-missing-state",
        "POST",
        f"{RUNS}/{{local_run_id}}/report",
        400,
        "state",
        body={"output": "done"},
    ),
    bad(
        "report-bad-state",
        "POST",
        f"{RUNS}/{{local_run_id}}/report",
        400,
        "state",
        body={"state": "DONE"},
    ),
    bad(
        "report-unknown-field",
        "POST",
        f"{RUNS}/{{local_run_id}}/report",
        400,
        "exit_code",
        body={"state": "SUCCEEDED", "exit_code": 0},
    ),
    bad(
        "report-unknown-usage-field",
        "POST",
        f"{RUNS}/{{local_run_id}}/report",
        400,
        "request_usage.tokens",
        body={"state": "SUCCEEDED", "request_usage": {"tokens": 10}},
    ),
    bad(
        "report-output-not-string",
        "POST",
        f"{RUNS}/{{local_run_id}}/report",
        400,
        "output",
        body={"state": "SUCCEEDED", "output": ["done"]},
    ),
    bad(
        "report-negative-cost",
        "POST",
        f"{RUNS}/{{local_run_id}}/report",
        400,
        "inference_cost",
        body={"state": "SUCCEEDED", "request_usage": {"inference_cost": -1}},
    ),
    bad(
        "report-status-message-without-message",
        "POST",
        f"{RUNS}/{{local_run_id}}/report",
        400,
        "status_message.message",
        body={"state": "FAILED", "status_message": {"error_code": "boom"}},
    ),
    bad(
        "report-remote-run",
        "POST",
        f"{RUNS}/{{queued_run_id}}/report",
        403,
        "{queued_run_id}",
        body={"state": "SUCCEEDED"},
    ),
    bad(
        "report-unknown-run",
        "POST",
        f"{RUNS}/no-such-run/report",
        404,
        "no-such-run",
        body={"state": "SUCCEEDED"},
    ),
    # /api/v1/agent/environments
    bad("create-environment-missing-name", "POST", ENVIRONMENTS, 400, "name", body={}),
    bad("create-environment-blank-name", "POST", ENVIRONMENTS, 400, "name", body={"name": " "}),
    bad(
        "create-environment-repo-without-owner",
        "POST",
        ENVIRONMENTS,
        400,
        "repos[0]",
        body={"name": "e", "repos": ["widgets"]},
    ),
    bad(
        "create-environment-repo-url",
        "POST",
        ENVIRONMENTS,
        400,
        "repos[1]",
        body={"name": "e", "repos": ["acme/a", "https://github.com/acme/b"]},
    ),
    bad(
        "create-environment-repo-twice",
        "POST",
        ENVIRONMENTS,
        400,
        "repos[1]",
        body={"name": "e", "repos": ["acme/a", "ACME/a"]},
    ),
    bad(
        "create-environment-same-directory",
        "POST",
        ENVIRONMENTS,
        400,
        "repos[1]",
        body={"name": "e", "repos": ["acme/tools", "other/tools"]},
    ),
    bad(
        "create-environment-blank-command",
        "POST",
        ENVIRONMENTS,
        400,
        "setup_commands[0]",
        body={"name": "e", "setup_commands": [" "]},
    ),
    bad(
        "create-environment-repos-not-a-list",
        "POST",
        ENVIRONMENTS,
        400,
        "repos",
        body={"name": "e", "repos": "acme/widgets"},
    ),
    bad(
        "create-environment-taken-name",
        "POST",
        ENVIRONMENTS,
        400,
        "name",
        body={"name": "{environment_name}"},
    ),
    bad(
        "create-environment-unknown-field",
        "POST",
        ENVIRONMENTS,
        400,
        "docker_image",
        body={"name": "e", "docker_image": "python:3"},
    ),
    bad(
        "update-environment-bad-repo",
        "PUT",
        f"{ENVIRONMENTS}/{{environment_id}}",
        400,
        "repos[0]",
        body={"repos": ["acme/"]},
    ),
    bad(
        "get-other-team-environment",
        "GET",
        f"{ENVIRONMENTS}/{{other_environment_id}}",
        404,
        "{other_environment_id}",
    ),
    bad(
        "delete-other-team-environment",
        "DELETE",
        f"{ENVIRONMENTS}/{{other_environment_id}}",
        404,
        "{other_environment_id}",
    ),
    bad(
        "run-in-unknown-environment",
        "POST",
        RUNS,
        400,
        "config.environment_id",
        body={"prompt": "p", "config": {"environment_id": "no-such-environment"}},
    ),
    bad(
        "run-in-other-team-environment",
        "POST",
        RUNS,
        400,
        "config.environment_id",
        body={"prompt": "p", "config": {"environment_id": "{other_environment_id}"}},
    ),
    bad(
        "run-needing-github-without-account",
        "POST",
        RUNS,
        401,
        "acme/widgets",
        body={"prompt": "p", "config": {"environment_id": "{environment_id}"}},
    ),
    # /api/v1/github/orgs
    bad("enable-org-bad-login", "PUT", f"{ORGS}/-acme", 400, "org", body={}),
    bad("enable-org-without-app", "PUT", f"{ORGS}/acme", 403, "OZ_GITHUB_APP_ID", body={}),
    bad(
        "enable-org-zero-installation",
        "PUT",
        f"{ORGS}/acme",
        400,
        "installation_id",
        body={"installation_id": 0},
    ),
    bad("disable-org-not-enabled", "DELETE", f"{ORGS}/acme", 404, "acme"),
    bad(
        "enable-org-other-team",
        "PUT",
        f"{ORGS}/acme",
        404,
        "team",
        body={"team": "{other_team_uid}"},
    ),
]


def fill(value: Any, targets: Targets) -> Any:
    """Replace `{placeholders}` in the strings of a JSON value with the targets' ids."""
    if isinstance(value, str):
        return value.format_map(targets)
    if isinstance(value, dict):
        return {key: fill(item, targets) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, targets) for item in value]
    return value


def server_state(api: Api) -> ServerState:
    state: ServerState = cast(FastAPI, api.client.app).state.oz
    return state


def snapshot(database: Database) -> dict[str, object]:
    """Return the row count of every table and a digest of every row of the main tables."""
    tables = Base.metadata.sorted_tables
    result: dict[str, object] = {}
    with database.engine.connect() as connection:
        for table in tables:
            count = connection.execute(select(func.count()).select_from(table)).scalar_one()
            result[f"{table.name} rows"] = count
        for table in tables:
            if table.name not in DIGESTED_TABLES:
                continue
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).all()
            text = repr([tuple(row) for row in rows])
            result[f"{table.name} digest"] = hashlib.sha256(text.encode()).hexdigest()
    return result


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_input_rejected(api: Api, case: BadRequest) -> None:
    targets = Targets(api)
    path = fill(case.path, targets)
    body = fill(case.body, targets)
    names = fill(case.names, targets)
    headers = api.headers()
    if case.content is not None:
        headers["Content-Type"] = "application/json"
    # The server writes a key's last use at most once a minute. Record the owner key's use
    # now and stop the background writer, so that only the bad request can change a digest.
    assert api.client.get("/api/v1/me", headers=api.headers()).status_code == 200
    server_state(api).recorder.stop()
    before = snapshot(api.world.database)

    response = api.client.request(
        case.method, path, headers=headers, json=body, content=case.content, params=case.params
    )

    server_state(api).recorder.flush()
    after = snapshot(api.world.database)
    problem = response.json()
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert problem.get("field") == names or names in problem["detail"], problem
    assert after == before


@pytest.mark.parametrize(
    ("path", "name", "stored"),
    [
        pytest.param(KEYS, "k" * 100, "k" * 100, id="key-100-chars"),
        pytest.param(KEYS, "  " + "k" * 100 + "\t", "k" * 100, id="key-100-chars-after-trim"),
        pytest.param(KEYS, "ключ 🔑", "ключ 🔑", id="key-unicode"),
        pytest.param(AGENTS, "a" * 100, "a" * 100, id="agent-100-chars"),
        pytest.param(AGENTS, " агент 🤖 ", "агент 🤖", id="agent-unicode"),
    ],
)
def test_name_at_limits_accepted(api: Api, path: str, name: str, stored: str) -> None:
    body = {"name": name, **NEVER} if path == KEYS else {"name": name}

    response = api.client.post(path, headers=api.headers(), json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    if path == KEYS:
        remember(created["raw_api_key"])
        created = created["api_key"]
    listed = api.client.get(path, headers=api.headers()).json()
    rows = listed["api_keys"] if path == KEYS else listed["agents"]
    assert created["name"] == stored
    assert stored in [row["name"] for row in rows]

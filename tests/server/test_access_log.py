"""One log line per request with ids and principal, never a key."""

from __future__ import annotations

import json
import logging

import pytest

from oz.logs import JsonFormatter, TextFormatter
from tests.server.conftest import Api


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "oz.access"]


def test_one_line_per_request_with_principal(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="oz.access"):
        response = api.client.get("/api/v1/me", headers=api.headers())

    records = access_records(caplog)
    assert len(records) == 1
    record = records[0]
    assert record.__dict__["method"] == "GET"
    assert record.__dict__["path"] == "/api/v1/me"
    assert record.__dict__["status"] == 200
    assert record.__dict__["duration_ms"] >= 0
    assert record.__dict__["request_id"] == response.headers["x-request-id"]
    assert record.__dict__["principal"] == f"user:{api.world.owner.uid}"
    assert record.__dict__["key_uid"] == response.json()["api_key_uid"]


def test_json_format_is_one_object_without_the_key(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="oz.access"):
        api.client.get("/api/v1/me", headers=api.headers())

    line = JsonFormatter().format(access_records(caplog)[0])
    event = json.loads(line)
    assert event["status"] == 200
    assert event["logger"] == "oz.access"
    assert api.owner_key not in line


def test_text_format_is_human_readable(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="oz.access"):
        api.client.get("/api/v1/me", headers={"Authorization": "Bearer wk-bogus"})

    line = TextFormatter().format(access_records(caplog)[0])
    assert "GET /api/v1/me 401" in line
    assert "request_id=" in line
    assert "wk-bogus" not in line


def test_incoming_request_id_is_kept(api: Api) -> None:
    response = api.client.get("/healthz", headers={"X-Request-Id": "ci-job-42"})

    assert response.headers["x-request-id"] == "ci-job-42"


def test_key_pasted_into_a_path_is_masked(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="oz.access"):
        response = api.client.get(f"/api/v1/agent/runs/{api.owner_key}", headers=api.headers())

    assert response.status_code == 404
    assert api.owner_key not in response.text
    assert api.owner_key not in caplog.text
    assert f"wk-**{api.owner_key[-4:]}" in caplog.text

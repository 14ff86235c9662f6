"""`oz login`'s device authorization (RFC 8628) through the OAuth endpoints and `/device`."""

from __future__ import annotations

from typing import Any

from oz.auth import device
from tests.conftest import Clock
from tests.support.secrets import remember
from tests.web.conftest import Web, hidden_fields

GRANT = {"grant_type": device.GRANT_TYPE, "client_id": device.CLIENT_ID}


def start(web: Web) -> dict[str, Any]:
    response = web.client.post(
        "/oauth/device/code", data={"client_id": "oz-cli", "client_name": "oz CLI on laptop"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    started: dict[str, Any] = response.json()
    return started


def poll(web: Web, started: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = web.client.post(
        "/oauth/token", data={**GRANT, "device_code": started["device_code"]}
    )
    return response.status_code, response.json()


def decide(web: Web, user_code: str, decision: str) -> str:
    page = web.client.get(f"/device?user_code={user_code}")
    assert page.status_code == 200, page.text
    answer = web.client.post("/device", data={**hidden_fields(page.text), "decision": decision})
    return answer.text


def test_approved_device_gets_one_working_token(web: Web, frozen_clock: Clock) -> None:
    started = start(web)
    web.sign_in()
    pending = poll(web, started)

    page = web.client.get(f"/device?user_code={started['user_code'].lower()}")
    decided = decide(web, started["user_code"], "approve")
    frozen_clock.advance(seconds=5)
    status, granted = poll(web, started)
    token = remember(granted["access_token"])
    again = poll(web, started)
    me = web.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert started["verification_uri_complete"].endswith(
        f"/device?user_code={started['user_code']}"
    )
    assert started["interval"] == 5
    assert pending == (
        400,
        {"error": "authorization_pending", "error_description": pending[1]["error_description"]},
    )
    assert "oz CLI on laptop" in page.text
    assert "The CLI is signed in" in decided
    assert status == 200
    assert token.startswith("ozs_")
    assert again[1]["error"] == "invalid_grant"
    assert me.json()["email"] == "owner@example.com"


def test_polling_too_fast_slows_down(web: Web, frozen_clock: Clock) -> None:
    started = start(web)
    poll(web, started)

    frozen_clock.advance(seconds=1)
    fast = poll(web, started)
    frozen_clock.advance(seconds=6)
    still_fast = poll(web, started)
    # Each slow_down adds 5 s to the interval: 10 s, then 15 s.
    frozen_clock.advance(seconds=15)
    patient = poll(web, started)

    assert fast[1]["error"] == "slow_down"
    assert still_fast[1]["error"] == "slow_down"
    assert patient[1]["error"] == "authorization_pending"


def test_denied_device_gets_access_denied(web: Web) -> None:
    started = start(web)
    web.sign_in()

    decided = decide(web, started["user_code"], "deny")

    assert "The sign-in was denied" in decided
    assert poll(web, started)[1]["error"] == "access_denied"


def test_expired_code_is_refused_everywhere(web: Web, frozen_clock: Clock) -> None:
    started = start(web)
    web.sign_in()
    frozen_clock.advance(minutes=11)

    page = web.client.get(f"/device?user_code={started['user_code']}")

    assert page.status_code == 400
    assert "unknown, expired or already used" in page.text
    assert poll(web, started)[1]["error"] == "expired_token"


def test_device_page_needs_sign_in_and_keeps_the_code(web: Web) -> None:
    started = start(web)

    page = web.client.get(f"/device?user_code={started['user_code']}", follow_redirects=False)

    assert page.status_code == 303
    assert "next=%2Fdevice%3Fuser_code%3D" in page.headers["location"]


def test_approval_needs_the_csrf_token(web: Web) -> None:
    started = start(web)
    web.sign_in()

    forged = web.client.post(
        "/device", data={"user_code": started["user_code"], "decision": "approve"}
    )

    assert forged.status_code == 403
    assert poll(web, started)[1]["error"] == "authorization_pending"


def test_wrong_client_and_grant_are_refused(web: Web) -> None:
    client = web.client.post("/oauth/device/code", data={"client_id": "other"})
    grant = web.client.post("/oauth/token", data={"grant_type": "password", "client_id": "oz-cli"})

    assert client.status_code == 401
    assert client.json()["error"] == "invalid_client"
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"


def test_revoked_session_is_refused_by_the_next_request(web: Web, frozen_clock: Clock) -> None:
    started = start(web)
    web.sign_in()
    decide(web, started["user_code"], "approve")
    frozen_clock.advance(seconds=5)
    token = remember(poll(web, started)[1]["access_token"])
    headers = {"Authorization": f"Bearer {token}"}
    assert web.client.get("/api/v1/me", headers=headers).status_code == 200

    revoked = web.client.post("/oauth/revoke", data={"token": token})
    unknown = web.client.post("/oauth/revoke", data={"token": "ozs_unknown"})

    assert revoked.status_code == 200
    assert unknown.status_code == 200
    refused = web.client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]

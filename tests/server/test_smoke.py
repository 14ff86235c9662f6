"""The API responds on both backends."""

from __future__ import annotations

from tests.server.conftest import Api


def test_me_returns_owner(api: Api) -> None:
    response = api.client.get("/api/v1/me", headers=api.headers())

    assert response.status_code == 200
    assert response.json()["email"] == "owner@example.com"

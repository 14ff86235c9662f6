"""Sign-in and sign-out pages: sessions, cookies, lockout and CSRF."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from oz.auth.sign_in import MAX_CLIENT_FAILURES, MAX_FAILURES
from oz.server.app import create_app
from tests.conftest import Clock
from tests.support.app import server_state
from tests.web.conftest import PASSWORD, Web, hidden_fields


def test_signed_out_pages_redirect_to_sign_in(web: Web) -> None:
    home = web.client.get("/", follow_redirects=False)
    keys = web.client.get("/settings/api-keys", follow_redirects=False)
    password = web.client.get("/settings/password", follow_redirects=False)

    assert home.status_code == 303
    assert home.headers["location"] == "/settings/api-keys"
    assert keys.status_code == 303
    assert keys.headers["location"] == "/sign-in"
    assert password.headers["location"] == "/sign-in?next=%2Fsettings%2Fpassword"


def test_sign_in_page_has_labelled_fields_and_a_token(web: Web) -> None:
    page = web.client.get("/sign-in")

    assert page.status_code == 200
    assert '<label for="email">Email</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert len(hidden_fields(page.text)["csrf_token"]) == 64
    assert "oz_sign_in=" in page.headers["set-cookie"]


def test_sign_in_sets_a_private_session_cookie(web: Web) -> None:
    response = web.sign_in()

    cookie = response.headers["set-cookie"]
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/api-keys"
    assert "oz_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    assert web.client.get("/settings/api-keys").status_code == 200


def test_session_cookie_is_secure_over_https(web: Web, tmp_path: Path) -> None:
    app = create_app(server_state(web.world, tmp_path))
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/sign-in")
        response = client.post(
            "/sign-in",
            data={**hidden_fields(page.text), "email": "owner@example.com", "password": PASSWORD},
            follow_redirects=False,
        )

    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_sign_in_follows_a_local_next_only(web: Web) -> None:
    page = web.client.get("/sign-in?next=/settings/password")
    local = web.client.post(
        "/sign-in",
        data={
            **hidden_fields(page.text),
            "email": "owner@example.com",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    web.client.cookies.clear()
    page = web.client.get("/sign-in")
    elsewhere = web.client.post(
        "/sign-in",
        data={
            **hidden_fields(page.text),
            "next": "//evil.example/",
            "email": "owner@example.com",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )

    assert local.headers["location"] == "/settings/password"
    assert elsewhere.headers["location"] == "/settings/api-keys"


def test_wrong_password_keeps_email_not_password(web: Web) -> None:
    response = web.sign_in(password="wrong password!")

    assert response.status_code == 401
    assert "The email or password is incorrect." in response.text
    assert 'value="owner@example.com"' in response.text
    assert "wrong password!" not in response.text
    assert "oz_session" not in response.headers.get("set-cookie", "")


def test_unknown_email_reads_like_wrong_password(web: Web) -> None:
    unknown = web.sign_in(email="nobody@example.com")
    wrong = web.sign_in(password="wrong password!")

    assert unknown.status_code == wrong.status_code == 401
    assert "The email or password is incorrect." in unknown.text


def test_missing_fields_are_named(web: Web) -> None:
    no_email = web.sign_in(email="")
    no_password = web.sign_in(password="")
    not_email = web.sign_in(email="owner")

    assert no_email.status_code == 400
    assert 'id="email-error">Enter your email address.' in no_email.text
    assert 'id="password-error">Enter your password.' in no_password.text
    assert 'id="email-error">Enter an email address' in not_email.text


def test_repeated_failures_lock_the_address(web: Web, frozen_clock: Clock) -> None:
    for _ in range(MAX_FAILURES - 1):
        assert web.sign_in(password="wrong password!").status_code == 401

    locked = web.sign_in(password="wrong password!")
    still_locked = web.sign_in()
    frozen_clock.advance(minutes=15)
    unlocked = web.sign_in()

    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "900"
    assert "Too many failed sign-ins for this email: try again in 15 minutes." in locked.text
    assert still_locked.status_code == 429
    assert unlocked.status_code == 303


def test_failures_on_many_addresses_lock_the_client(
    web: Web, frozen_clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    for index in range(MAX_CLIENT_FAILURES - 1):
        assert web.sign_in(email=f"guess{index}@example.com").status_code == 401

    with caplog.at_level(logging.WARNING, logger="oz.web"):
        locked = web.sign_in(email="last@example.com")
    owner_locked = web.sign_in()
    frozen_clock.advance(minutes=15)
    unlocked = web.sign_in()

    assert locked.status_code == 429
    assert "Too many failed sign-ins from your network address" in locked.text
    assert locked.headers["retry-after"] == "900"
    record = next(record for record in caplog.records if record.getMessage() == "sign-in locked")
    assert record.lock == "client"  # type: ignore[attr-defined]
    assert record.client == "testclient"  # type: ignore[attr-defined]
    assert owner_locked.status_code == 429
    assert unlocked.status_code == 303


def test_sign_in_without_csrf_token_is_rejected(web: Web) -> None:
    web.client.get("/sign-in")

    response = web.client.post(
        "/sign-in", data={"email": "owner@example.com", "password": PASSWORD}
    )

    assert response.status_code == 403
    assert "Form not accepted" in response.text
    assert "oz_session" not in response.headers.get("set-cookie", "")


def test_sign_in_token_of_another_browser_is_rejected(web: Web) -> None:
    other_token = hidden_fields(web.client.get("/sign-in").text)["csrf_token"]
    web.client.cookies.clear()
    web.client.get("/sign-in")

    response = web.client.post(
        "/sign-in",
        data={"csrf_token": other_token, "email": "owner@example.com", "password": PASSWORD},
    )

    assert response.status_code == 403


def test_session_expires_after_its_lifetime(web: Web, frozen_clock: Clock) -> None:
    web.sign_in()
    frozen_clock.advance(hours=11, minutes=59)
    assert web.client.get("/settings/api-keys", follow_redirects=False).status_code == 200

    frozen_clock.advance(minutes=1)
    response = web.client.get("/settings/api-keys", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"


def test_sign_out_ends_the_session(signed_in: Web) -> None:
    cookie = signed_in.client.cookies["oz_session"]

    response = signed_in.submit("/settings/api-keys", "/sign-out")
    signed_in.client.cookies.set("oz_session", cookie)
    after = signed_in.client.get("/settings/api-keys", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?signed_out=1"
    assert 'oz_session=""' in response.headers["set-cookie"]
    assert after.status_code == 303
    assert "You are signed out." in signed_in.client.get("/sign-in?signed_out=1").text


def test_sign_out_without_csrf_token_is_rejected(signed_in: Web) -> None:
    response = signed_in.client.post("/sign-out", data={"csrf_token": "0" * 64})

    assert response.status_code == 403
    assert "Form not accepted" in response.text
    assert signed_in.client.get("/settings/api-keys").status_code == 200


def test_csrf_token_of_another_session_is_rejected(signed_in: Web) -> None:
    token = hidden_fields(signed_in.client.get("/settings/api-keys").text)["csrf_token"]
    signed_in.client.cookies.clear()
    signed_in.sign_in()

    response = signed_in.client.post("/sign-out", data={"csrf_token": token})

    assert response.status_code == 403


def test_signed_in_user_skips_the_sign_in_page(signed_in: Web) -> None:
    response = signed_in.client.get("/sign-in", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/settings/api-keys"


def test_access_log_names_the_signed_in_user(
    signed_in: Web, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="oz.access"):
        signed_in.client.get("/settings/api-keys")

    (record,) = [record for record in caplog.records if record.name == "oz.access"]
    assert record.__dict__["path"] == "/settings/api-keys"
    assert record.__dict__["principal"] == f"user:{signed_in.world.owner.uid}"
    assert record.__dict__["key_uid"] is None


def test_sign_in_logs_no_password_or_token(web: Web, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        web.sign_in(password="wrong password!")
        response = web.sign_in()

    token = response.cookies["oz_session"]
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert "wrong password!" not in logged
    assert PASSWORD not in logged
    assert token not in logged

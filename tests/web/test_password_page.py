"""The password page: current and new passwords, field errors, other sessions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Web

NEW = "a brand new password"


def change(web: Web, current: str, new: str, confirm: str | None = None) -> str:
    response = web.submit(
        "/settings/password",
        "/settings/password",
        current_password=current,
        new_password=new,
        confirm_password=new if confirm is None else confirm,
    )
    return f"{response.status_code} {response.headers.get('location', '')} {response.text}"


def test_page_labels_every_field(signed_in: Web) -> None:
    page = signed_in.client.get("/settings/password")

    assert page.status_code == 200
    assert '<label for="current_password">Current password</label>' in page.text
    assert '<label for="new_password">New password</label>' in page.text
    assert '<label for="confirm_password">New password again</label>' in page.text
    assert "At least 12 characters." in page.text


def test_change_replaces_the_password(signed_in: Web) -> None:
    outcome = change(signed_in, PASSWORD, NEW)

    page = signed_in.client.get("/settings/password?changed=1")
    signed_in.client.cookies.clear()
    assert outcome.startswith("303 /settings/password?changed=1")
    assert "Your password was changed." in page.text
    assert signed_in.sign_in(password=PASSWORD).status_code == 401
    assert signed_in.sign_in(password=NEW).status_code == 303


def test_change_signs_out_other_browsers(signed_in: Web) -> None:
    other = TestClient(signed_in.client.app)
    other_web = Web(other, signed_in.world)
    assert other_web.sign_in().status_code == 303

    change(signed_in, PASSWORD, NEW)

    assert signed_in.client.get("/settings/api-keys", follow_redirects=False).status_code == 200
    assert other.get("/settings/api-keys", follow_redirects=False).status_code == 303


def test_wrong_current_password_is_named(signed_in: Web) -> None:
    outcome = change(signed_in, "wrong password!", NEW)

    assert outcome.startswith("400")
    assert 'id="current_password-error">The current password is incorrect.' in outcome
    assert 'aria-invalid="true"' in outcome


def test_short_new_password_is_named(signed_in: Web) -> None:
    outcome = change(signed_in, PASSWORD, "short")

    assert outcome.startswith("400")
    assert 'id="new_password-error">The password must be at least 12 characters, got 5.' in outcome


def test_mismatched_confirmation_is_named(signed_in: Web) -> None:
    outcome = change(signed_in, PASSWORD, NEW, confirm=NEW + "!")

    assert outcome.startswith("400")
    signed_in.client.cookies.clear()
    assert 'id="confirm_password-error">The two new passwords differ' in outcome
    assert signed_in.sign_in(password=PASSWORD).status_code == 303


def test_missing_current_password_is_named(signed_in: Web) -> None:
    outcome = change(signed_in, "", NEW)

    assert 'id="current_password-error">Enter your current password.' in outcome


def test_passwords_are_never_echoed(signed_in: Web) -> None:
    outcome = change(signed_in, "wrong password!", NEW, confirm=NEW)

    assert "wrong password!" not in outcome
    assert NEW not in outcome


def test_change_without_csrf_token_is_rejected(signed_in: Web) -> None:
    response = signed_in.client.post(
        "/settings/password",
        data={"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW},
    )

    signed_in.client.cookies.clear()
    assert response.status_code == 403
    assert signed_in.sign_in(password=PASSWORD).status_code == 303

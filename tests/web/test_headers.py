"""Security headers, pages without inline code, and HTML error pages outside the API."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import Web

PAGES = ["/settings/api-keys", "/settings/api-keys/new", "/settings/password"]


def assert_page_headers(headers: dict[str, str]) -> None:
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", PAGES)
def test_signed_in_pages_have_security_headers(signed_in: Web, path: str) -> None:
    response = signed_in.client.get(path)

    assert response.status_code == 200
    assert_page_headers(dict(response.headers))
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style(signed_in: Web, path: str) -> None:
    html = signed_in.client.get(path).text

    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert " style=" not in html
    assert "<style" not in html
    assert " on" + "click=" not in html


def test_sign_in_page_and_redirects_have_headers(web: Web) -> None:
    page = web.client.get("/sign-in")
    redirect = web.client.get("/settings/api-keys", follow_redirects=False)

    assert_page_headers(dict(page.headers))
    assert_page_headers(dict(redirect.headers))


@pytest.mark.parametrize(
    ("path", "media_type"), [("/static/oz.css", "text/css"), ("/static/oz.js", "text/javascript")]
)
def test_static_files_are_served_with_headers(web: Web, path: str, media_type: str) -> None:
    response = web.client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["x-content-type-options"] == "nosniff"


def test_api_gets_nosniff_but_no_page_policy(web: Web) -> None:
    response = web.client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in response.headers


def test_unknown_page_is_html_404(web: Web) -> None:
    response = web.client.get("/settings/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "There is no page at /settings/nothing-here." in response.text
    assert_page_headers(dict(response.headers))


def test_page_wrong_method_is_html_405(web: Web) -> None:
    response = web.client.get("/sign-out")

    assert response.status_code == 405
    assert "GET is not allowed on /sign-out." in response.text


def test_unknown_api_path_stays_problem_json(web: Web) -> None:
    response = web.client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"

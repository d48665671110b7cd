from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import Settings
from tests.helpers import csrf_token


def test_start_page_is_japanese_by_default(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert '<html lang="ja">' in response.text
    assert "サインイン" in response.text


def test_accept_language_english(client: TestClient) -> None:
    response = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9,ja;q=0.5"})
    assert '<html lang="en">' in response.text
    assert "Sign in" in response.text


def test_language_switch_is_remembered(client: TestClient, settings: Settings) -> None:
    token = csrf_token(client, settings)
    response = client.post(
        "/language", data={"lang": "en", "next": "/", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert client.get("/").text.count('<html lang="en">') == 1


def test_language_switch_refuses_offsite_next(client: TestClient, settings: Settings) -> None:
    token = csrf_token(client, settings)
    response = client.post(
        "/language",
        data={"lang": "en", "next": "https://evil.example/", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_strict_csp_and_no_inline_script(client: TestClient) -> None:
    response = client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in response.text and "<script src=" in response.text
    assert response.headers["vary"].startswith("HX-Request")


def test_post_without_csrf_token_is_refused_in_users_language(client: TestClient) -> None:
    client.get("/")
    response = client.post("/language", data={"lang": "en", "next": "/"}, follow_redirects=False)
    assert response.status_code == 403
    assert "もう一度" in response.text
    assert "tobira_lang" not in response.headers.get("set-cookie", "")


def test_htmx_header_token_is_accepted(client: TestClient, settings: Settings) -> None:
    token = csrf_token(client, settings)
    response = client.post(
        "/language",
        data={"lang": "en", "next": "/"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/"


def test_htmx_is_served_from_our_origin(client: TestClient) -> None:
    response = client.get("/static/vendor/htmx.min.js")
    assert response.status_code == 200
    assert "htmx" in response.text[:2000]


def test_unknown_page_is_a_clear_404(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text


def test_production_refuses_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key="change-me")
    assert Settings(environment="production", secret_key="x" * 40).secret_key == "x" * 40

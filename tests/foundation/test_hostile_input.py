"""Hostile or odd input is answered cleanly: control characters, a token-less upload, htmx's
history restore, and what the server says about itself."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.audit.models import AuditEvent
from tests.helpers import csrf_token


def test_nul_in_a_form_or_query_is_refused_in_the_users_language(
    client: TestClient, db: Session, settings: Settings
) -> None:
    events = db.scalar(select(func.count()).select_from(AuditEvent))
    form = client.post(
        "/signin/email", data={"email": "a\x00@example.jp", "csrf_token": csrf_token(client, settings)}
    )
    query = client.get("/signin", params={"next": "/children\x00"})
    english = client.get("/signin", params={"next": "\x07"}, headers={"Accept-Language": "en"})
    api = client.get("/api/v1/changes", params={"since": "e1\x00"})

    assert form.status_code == 422 and "制御文字" in form.text
    assert query.status_code == 422
    assert english.status_code == 422 and "control characters" in english.text
    assert api.status_code == 422 and api.json()["error"]["status"] == 422
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == events  # nothing happened
    # line breaks and tabs, which a textarea sends, are fine
    assert client.get("/signin", params={"next": "/children\t"}).status_code == 200


def test_an_upload_carries_its_token_in_the_body_never_the_url(
    client: TestClient, settings: Settings
) -> None:
    files = {"file": ("roster.zip", b"PK\x03\x04", "application/zip")}
    without = client.post("/staff/roster", data={"board_id": "1"}, files=files)
    in_url = client.post(
        f"/staff/roster?csrf_token={csrf_token(client, settings)}", data={"board_id": "1"}, files=files
    )
    first_field = client.post(
        "/staff/roster",
        data={"csrf_token": csrf_token(client, settings), "board_id": "1"},
        files=files,
        follow_redirects=False,
    )
    assert without.status_code == 403 and in_url.status_code == 403
    assert first_field.status_code == 303  # past the CSRF check: to sign-in, as a guest


def test_history_restore_gets_the_whole_page(client: TestClient) -> None:
    fragment = client.get("/", headers={"HX-Request": "true"})
    restore = client.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text and restore.status_code == 200
    assert fragment.status_code == 200


def test_the_openapi_document_lists_only_the_api(client: TestClient) -> None:
    # (The Server header comes from uvicorn, so test_serve_logs checks it against portal serve.)
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert paths and all(path.startswith("/api/v1/") for path in paths)


def test_a_database_outage_answers_503_with_retry_after_in_the_users_language(
    settings: Settings, tmp_path: object
) -> None:
    from app.db import Database
    from app.main import create_app

    for url in ("postgresql://tobira@127.0.0.1:1/gone", f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"):
        down = settings.model_copy(update={"database_url": url})
        with TestClient(create_app(down, Database(url)), base_url="http://127.0.0.1") as client:
            page = client.get("/confirm/" + "x" * 43)
            english = client.get("/confirm/" + "x" * 43, headers={"Accept-Language": "en"})
        assert page.status_code == 503 and page.headers["retry-after"] == "30"
        assert "<html" in page.text and 'lang="ja"' in page.text
        assert english.status_code == 503 and "try again" in english.text

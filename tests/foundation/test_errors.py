"""One error vocabulary, one handler, and a transaction boundary that knows what to keep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import SYSTEM, record_refusal
from app.domain.boards.models import Board
from app.errors import Conflict, Invalid, NotFound, RateLimited, Refused
from app.main import create_app
from app.surfaces.dependencies import DbSession


def _routes() -> APIRouter:
    router = APIRouter()

    @router.get("/_test/refused")
    def refused(db: DbSession) -> None:
        db.add(Board(code="should-vanish", name="消える教育委員会"))
        record_refusal(db, "test.refused", actor=SYSTEM, board_id=None, details={"why": "test"})
        raise Refused("You cannot do this")

    @router.get("/_test/missing")
    def missing() -> None:
        raise NotFound()

    @router.get("/_test/conflict")
    def conflict() -> None:
        raise Conflict("This request is no longer waiting for confirmation.")

    @router.get("/_test/limited")
    def limited() -> None:
        raise RateLimited(retry_after=42)

    @router.get("/api/v1/_test/invalid")
    def invalid_api() -> None:
        raise Invalid(fields={"email": "Enter a valid e-mail address."})

    return router


@pytest.fixture
def app_client(settings: Settings, database: Database, db: Session) -> Iterator[TestClient]:
    app: FastAPI = create_app(settings, database)
    app.include_router(_routes())
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_a_refusal_keeps_its_audit_row_and_nothing_else(app_client: TestClient, db: Session) -> None:
    response = app_client.get("/_test/refused")
    assert response.status_code == 403
    assert "この操作はできません" in response.text
    assert db.scalar(select(func.count()).select_from(Board).where(Board.code == "should-vanish")) == 0
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "test.refused")).one()
    assert event.outcome == "failure"
    assert event.details == {"why": "test"}
    assert event.request_id  # the kept row still names the request it came from


def test_not_found_is_a_page_in_japanese(app_client: TestClient) -> None:
    response = app_client.get("/_test/missing")
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text
    assert "<h1>" in response.text


def test_conflict_shows_its_own_message_translated(app_client: TestClient) -> None:
    response = app_client.get("/_test/conflict")
    assert response.status_code == 409
    assert "この申請は、すでに確認待ちではありません。" in response.text


def test_htmx_gets_a_fragment_it_will_swap_into_the_page(app_client: TestClient) -> None:
    response = app_client.get("/_test/missing", headers={"HX-Request": "true"})
    # htmx swaps only 2xx answers; the fragment replaces the page's main content.
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#main"
    assert "<html" not in response.text
    assert 'role="alert"' in response.text


def test_rate_limit_says_when_to_come_back(app_client: TestClient) -> None:
    response = app_client.get("/_test/limited")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "42"


def test_api_errors_are_json_and_name_the_fields(app_client: TestClient) -> None:
    response = app_client.get("/api/v1/_test/invalid")
    assert response.status_code == 422
    assert response.json() == {
        "error": {"status": 422, "title": "Some of the input is not valid", "detail": "Invalid fields: email"}
    }

"""POST /api/v1/acknowledgements: a downstream system reports the cursor it has applied;
staff see how far behind each system is."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.apikeys import service as keys
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import Actor
from app.domain.evidence.models import FeedAcknowledgement
from tests.helpers import sign_in_as
from tests.staff import factories as f


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    board = f.board(db)
    school = f.school(db, board)
    _service, _version, definition = f.dashboard_service(db, board)
    student = f.student(db, school, sourced_id="stu-0")
    f.confirmed(db, definition, student, "hide_all")
    other = f.board(db, code="B2", name="別の教育委員会")
    _s2, _v2, other_definition = f.dashboard_service(db, other)
    for n in range(3):
        f.confirmed(
            db, other_definition, f.student(db, f.school(db, other, f"X{n}"), sourced_id=f"o-{n}"), "hide_all"
        )
    secret, _key = keys.create_key(db, board_id=board.id, name="Dashboard", actor=Actor("system"))
    second, _key2 = keys.create_key(db, board_id=board.id, name="Library", actor=Actor("system"))
    foreign, _key3 = keys.create_key(db, board_id=other.id, name="Other", actor=Actor("system"))
    admin = f.staff(db, board, "board_admin")
    db.commit()
    return {"secret": secret, "second": second, "foreign": foreign, "admin": admin, "definition": definition}


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _acks(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(FeedAcknowledgement)) or 0)


def test_a_served_cursor_is_acknowledged_once_and_again_changes_nothing(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    cursor = client.get("/api/v1/changes", headers=_auth(world["secret"])).json()["next_cursor"]
    first = client.post("/api/v1/acknowledgements", json={"cursor": cursor}, headers=_auth(world["secret"]))
    assert first.status_code == 201 and first.json()["created"] is True and first.json()["cursor"] == cursor
    again = client.post("/api/v1/acknowledgements", json={"cursor": cursor}, headers=_auth(world["secret"]))
    assert again.status_code == 200 and again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert _acks(db) == 1
    assert db.scalar(select(func.count()).where(AuditEvent.action == "api.acknowledged")) == 1


def test_cursors_not_served_to_this_key_are_refused_with_a_typed_problem(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    foreign_cursor = client.get("/api/v1/changes", headers=_auth(world["foreign"])).json()["next_cursor"]
    own_key_never = client.get("/api/v1/changes", headers=_auth(world["second"])).json()["next_cursor"]
    # Another board's cursor, a cursor served to another key of this board, a made-up one.
    for cursor in (foreign_cursor, own_key_never, "e123456"):
        answer = client.post(
            "/api/v1/acknowledgements", json={"cursor": cursor}, headers=_auth(world["secret"])
        )
        assert answer.status_code == 409, cursor
        assert answer.json()["error"]["type"] == "cursor_not_served"
        assert "never served" in answer.json()["error"]["detail"]
    malformed = client.post(
        "/api/v1/acknowledgements", json={"cursor": "c12"}, headers=_auth(world["secret"])
    )
    assert malformed.status_code == 422
    anonymous = client.post("/api/v1/acknowledgements", json={"cursor": foreign_cursor})
    assert anonymous.status_code == 401
    assert _acks(db) == 0


def test_staff_see_how_far_behind_each_system_is(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    cursor = client.get("/api/v1/changes?limit=1", headers=_auth(world["secret"])).json()["next_cursor"]
    client.post("/api/v1/acknowledgements", json={"cursor": cursor}, headers=_auth(world["secret"]))
    sign_in_as(client, db, settings, world["admin"])
    home = client.get("/staff").text
    assert 'href="/staff/downstream"' in home
    page = client.get("/staff/downstream")
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1]
    dashboard, library = rows.split("</tr>")[:2]
    assert "Dashboard" in dashboard and cursor in dashboard and "最新" in dashboard
    assert "Library" in library and "報告なし" in library and "1件" in library
    assert "Other" not in page.text  # another board's system

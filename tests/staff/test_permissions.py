"""Each staff role against each family of staff pages: what it may open, and 404 for the rest
(never 403, so ids reveal nothing). The typed dependencies of app/surfaces/permissions.py
decide; these tests are what a board's reviewer would try."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from tests.helpers import sign_in_as
from tests.staff import factories as f


@pytest.fixture
def board_world(db: Session) -> dict[str, Any]:
    board = f.board(db)
    school_a = f.school(db, board, "SA", "第一小学校")
    school_b = f.school(db, board, "SB", "第二小学校")
    service, _version, definition = f.dashboard_service(db, board)
    other_board = f.board(db, "OTHER", "ほかの市教育委員会")
    other_service, _v, _d = f.dashboard_service(db, other_board, code="their-dashboard")
    world = {
        "student_a": f.student(db, school_a, family="山田", given="花子"),
        "student_b": f.student(db, school_b, family="佐藤", given="太郎"),
        "other_student": f.student(db, f.school(db, other_board, "OX"), family="田中", given="一郎"),
        "service": service,
        "other_service": other_service,
        "definition": definition,
        "teacher": f.staff(db, board, "teacher", school_a),
        "school_admin": f.staff(db, board, "school_admin", school_a),
        "board_admin": f.staff(db, board, "board_admin"),
        "auditor": f.staff(db, board, "auditor"),
    }
    db.commit()
    return world


ROLES = ("teacher", "school_admin", "board_admin", "auditor")
# page → the status each of ROLES gets. Pages are written with the world's ids.
PAGES = {
    "/staff/students": (200, 200, 200, 404),
    "/staff/students/{student_a}": (200, 200, 200, 404),
    "/staff/students/{student_b}": (404, 404, 200, 404),
    "/staff/services": (200, 200, 200, 200),
    "/staff/services/new": (404, 404, 200, 404),
    "/staff/notice": (200, 200, 200, 200),
    "/staff/api-keys": (404, 404, 200, 200),
    "/staff/audit": (404, 404, 200, 200),
    "/staff/exports": (200, 200, 200, 404),
    "/staff/roster": (404, 404, 200, 404),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_only_its_pages(
    client: TestClient, db: Session, settings: Settings, board_world: dict[str, Any], role: str
) -> None:
    sign_in_as(client, db, settings, board_world[role])
    ids = {name: value.id for name, value in board_world.items() if hasattr(value, "id")}
    got = {}
    for page in PAGES:
        response = client.get(page.format(**ids), follow_redirects=False)
        got[page] = response.status_code
        if response.status_code == 404:
            assert "ページが見つかりません" in response.text  # the same page as any unknown id
    assert got == {page: statuses[ROLES.index(role)] for page, statuses in PAGES.items()}


def test_a_guardian_account_is_no_staff_member(client: TestClient, db: Session, settings: Settings) -> None:
    from tests.guardian.factories import build_world

    world = build_world(db)
    db.commit()
    sign_in_as(client, db, settings, world.account)
    assert client.get("/staff", follow_redirects=False).status_code == 404
    assert client.get("/staff/students", follow_redirects=False).status_code == 404

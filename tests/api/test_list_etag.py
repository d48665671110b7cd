"""The hide list's ETag comes from a version, not from the body (ADR 0099): an unchanged list
answers 304 without one statement over the choice rows, and every change to the list — a
confirmation, a withdrawal, a choice staff record, a carry-over import, a retention run —
gives a new ETag. A roster removal leaves the list as it was (a child who left stays hidden
until erased), so its ETag stays, and a 304 then is the truth."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.apikeys import service as keys
from app.domain.audit.service import Actor
from app.domain.choices import service as choices
from app.domain.choices.carry_over import COLUMNS, carry_over
from app.domain.retention import run as retention
from app.domain.retention.policy import years_before
from tests.helpers import StatementCounter
from tests.staff import factories as f

LIST = "/api/v1/hide-list?service=dashboard&choice=hide"
CHOICE_LIST = "/api/v1/choice-list?service=dashboard&choice=hide"


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    board = f.board(db)
    school = f.school(db, board)
    _service, _version, definition = f.dashboard_service(db, board)
    students = [f.student(db, school, sourced_id=f"stu-{n}") for n in range(6)]
    f.confirmed(db, definition, students[0], "hide_all")
    f.confirmed(db, definition, students[1], "hide_some", [definition.category_codes[1]])
    secret, key = keys.create_key(db, board_id=board.id, name="Dashboard", actor=Actor("system"))
    db.commit()
    return {"board": board, "definition": definition, "students": students, "secret": secret, "key": key}


def _get(client: TestClient, world: dict[str, Any], path: str = LIST, etag: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {world['secret']}"}
    if etag:
        headers["If-None-Match"] = etag
    return client.get(path, headers=headers)


def _choice_rows_read(statements: list[str]) -> list[str]:
    return [s for s in statements if "current_choices" in s or "choice_events" in s or "students" in s]


@pytest.mark.parametrize("path", [LIST, CHOICE_LIST])
def test_an_unchanged_list_answers_304_without_reading_a_choice_row(
    client: TestClient, database: Database, world: dict[str, Any], path: str
) -> None:
    first = _get(client, world, path)
    assert first.status_code == 200 and len(first.json()["items"]) == 2
    with StatementCounter(database.engine) as counter:
        cached = _get(client, world, path, first.headers["etag"])
    assert cached.status_code == 304 and cached.content == b""
    assert cached.headers["etag"] == first.headers["etag"]
    assert _choice_rows_read(counter.statements) == []
    # The key, its rate-limit count and the list's version (one statement); nothing was
    # disclosed, so no pick-up and no audit event.
    versions = [s for s in counter.statements if "feed_counters" in s]
    assert len(versions) == 1 and "choice_definitions" in versions[0]
    assert not [s for s in counter.statements if "api_pickups" in s or "audit_events" in s]
    assert counter.count <= 4, counter.statements
    # The same request without the ETag reads the rows.
    with StatementCounter(database.engine) as counter:
        assert _get(client, world, path).status_code == 200
    assert _choice_rows_read(counter.statements)


def test_another_keys_etag_is_not_answered_304(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    etag = _get(client, world).headers["etag"]
    other, _key = keys.create_key(db, board_id=world["board"].id, name="Other", actor=Actor("system"))
    db.commit()
    answer = client.get(LIST, headers={"Authorization": f"Bearer {other}", "If-None-Match": etag})
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2


def _carry_over(db: Session, world: dict[str, Any]) -> None:
    student = world["students"][3]
    line = f"{student.sourced_id},dashboard,hide,hide_all,,2026-04-10,paper"
    data = (",".join(COLUMNS) + "\n" + line + "\n").encode("utf-8-sig")
    report = carry_over(db, world["board"].id, data, actor=Actor("system"), dry_run=False)
    assert report.ok and report.applied == 1, report.problems


def _staff_record(db: Session, world: dict[str, Any]) -> None:
    choices.record_confirmed(
        db,
        definition=world["definition"],
        student_id=world["students"][4].id,
        value="hide_all",
        category_codes=[],
        channel="paper",
        reason="紙の届出",
        actor_account_id=None,
        received=(date(2026, 4, 10), "paper"),
    )


def _leave(db: Session, world: dict[str, Any], years: int) -> None:
    """What a roster import does to a student no longer listed: inactive since then."""
    student = world["students"][0]
    student.status = "inactive"
    student.deactivated_at = years_before(utcnow(), years)
    db.flush()


def test_every_change_to_the_list_changes_its_etag(
    client: TestClient, db: Session, database: Database, settings: Settings, world: dict[str, Any]
) -> None:
    definition, students = world["definition"], world["students"]

    def confirm(student_index: int, value: str) -> Any:
        return lambda: f.confirmed(db, definition, students[student_index], value)

    changes = [
        ("a confirmation", confirm(2, "hide_all")),
        ("a withdrawal", confirm(1, "show")),
        ("a choice staff record", lambda: _staff_record(db, world)),
        ("a carry-over import", lambda: _carry_over(db, world)),
    ]
    response = _get(client, world)
    etag, body = response.headers["etag"], response.json()
    for what, change in changes:
        change()
        db.commit()
        again = _get(client, world, etag=etag)
        assert again.status_code == 200, what
        assert again.json()["items"] != body["items"], what
        assert again.headers["etag"] != etag, what
        etag, body = again.headers["etag"], again.json()
        assert _get(client, world, etag=etag).status_code == 304, what

    # A roster removal: the child stays on the list until erased, and the ETag stays.
    _leave(db, world, years=6)
    db.commit()
    assert _get(client, world, etag=etag).status_code == 304
    assert _get(client, world).json()["items"] == body["items"]

    # Retention: the child who left six years ago is erased and leaves the list.
    reports = retention.run(database, settings, board_code=world["board"].code, actor=Actor("system"))
    assert reports[0].counts["current_choices"] == 1
    erased = _get(client, world, etag=etag)
    assert erased.status_code == 200 and erased.headers["etag"] != etag
    assert "stu-0" in [i["student_id"] for i in body["items"]]
    assert "stu-0" not in [i["student_id"] for i in erased.json()["items"]]


def test_publishing_a_version_changes_the_etag(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    """The body names the service's latest version and, for "hide all", its categories."""
    from app.domain.catalog.models import Service, ServiceVersion

    etag = _get(client, world).headers["etag"]
    service = db.get_one(Service, world["definition"].service_id)
    db.add(
        ServiceVersion(
            service_id=service.id,
            version=2,
            name="ダッシュボード",
            use_group="dashboard",
            vendor_name="研究所",
        )
    )
    db.commit()
    fresh = _get(client, world, etag=etag)
    assert fresh.status_code == 200 and fresh.json()["service_version"] == 2


def test_a_toggle_that_hides_the_service_lists_all_it_holds_in_list_and_feed(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    from app.domain.catalog.models import ChoiceDefinition

    definition = world["definition"]
    toggle = ChoiceDefinition(
        board_id=definition.board_id,
        service_id=definition.service_id,
        code="share",
        kind="toggle",
        options=["allow", "deny"],
        default_value="allow",
        category_codes=[],
        label="業者への提供",
    )
    db.add(toggle)
    db.commit()
    since = _get(client, world).json()["changes_cursor"]
    f.confirmed(db, toggle, world["students"][5], "deny")
    db.commit()
    listed = _get(client, world, "/api/v1/hide-list?service=dashboard&choice=share").json()
    assert listed["items"] == [
        {"student_id": "stu-5", "hide": "all", "categories": definition.category_codes}
    ]
    feed = _get(client, world, f"/api/v1/changes?since={since}").json()
    assert feed["changes"] == [
        {
            "student_id": "stu-5",
            "service": "dashboard",
            "choice": "share",
            "action": "add",
            "categories": definition.category_codes,
        }
    ]

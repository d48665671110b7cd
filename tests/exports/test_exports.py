from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.domain.audit.models import AuditEvent
from app.domain.exports.query import TOKYO
from tests.helpers import csrf_token, sign_in_as
from tests.staff import factories as f


@pytest.fixture
def world(db: Session) -> dict[str, object]:
    board = f.board(db)
    first = f.school(db, board, "S1", "第一小学校")
    second = f.school(db, board, "S2", "第二小学校")
    klass = f.school_class(db, first, "1組", "P3")
    _service, _version, definition = f.dashboard_service(db, board)
    opted = f.student(db, first, klass=klass, family="髙橋", given="一郎", number=1, sourced_id="stu-A")
    formula = f.student(db, first, klass=klass, family="=1+2", given="次郎", number=2, sourced_id="stu-B")
    waiting = f.student(db, first, klass=klass, family="佐藤", given="三郎", number=3, sourced_id="stu-C")
    default = f.student(db, first, klass=klass, family="鈴木", given="四郎", number=4, sourced_id="stu-D")
    elsewhere = f.student(db, second, family="田中", given="五郎", sourced_id="stu-E")
    f.confirmed(db, definition, opted, "hide_all", channel="paper")
    f.confirmed(db, definition, formula, "hide_some", [definition.category_codes[0]])
    f.pending(db, definition, waiting, "hide_all")
    f.confirmed(db, definition, default, "show")
    f.confirmed(db, definition, elsewhere, "hide_all")
    admin = f.staff(db, board, "school_admin", first)
    db.commit()
    return {"board": board, "admin": admin, "definition": definition, "first": first}


def _export(client: TestClient, settings: Settings, **form: str) -> object:
    data = {"csrf_token": csrf_token(client, settings), **form}
    return client.post("/staff/exports", data=data)


def test_school_admin_exports_csv_with_bom_crlf_and_japanese_headers(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    response = _export(client, settings, format="csv")
    assert response.status_code == 200
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0].startswith("学校コード,学校名,学年,学級,出席番号")
    assert "\n" not in text.replace("\r\n", "")
    rows = [line for line in lines[1:] if line]
    # Only this school's effective opt-outs: not the pending one, not the default, not school S2.
    assert [row.split(",")[5] for row in rows] == ["stu-A", "stu-B"]
    assert "髙橋 一郎" in rows[0] and "paper" in rows[0]
    assert "attachment" in response.headers["content-disposition"]


def test_every_format_holds_the_same_rows(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    as_json = _export(client, settings, format="json")
    assert as_json.status_code == 200
    records = json.loads(as_json.content)
    assert [r["student_id"] for r in records] == ["stu-A", "stu-B"]
    assert records[0]["school_code"] == "S1"
    assert records[0]["value"] == "hide_all"
    assert records[0]["categories"] == "identity credentials learning_records"

    as_xlsx = _export(client, settings, format="xlsx")
    assert as_xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "学校コード"
    assert [row[5] for row in values[1:]] == ["stu-A", "stu-B"]
    # A name beginning with "=" stays text: no formula, no computed value.
    cell = sheet.cell(row=3, column=7)
    assert cell.value == "=1+2 次郎" and cell.data_type == "s"
    assert sheet.cell(row=2, column=5).value == 1  # attendance number as a number

    as_cp932 = _export(client, settings, format="cp932", school="S1")
    assert as_cp932.status_code == 200
    text = as_cp932.content.decode("cp932")
    assert not as_cp932.content.startswith(b"\xef\xbb\xbf")
    assert "髙橋 一郎" in text and text.startswith("学校コード") and "\r\n" in text


def test_cp932_refuses_and_names_the_row(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    f.confirmed(
        db,
        world["definition"],  # type: ignore[arg-type]
        f.student(db, world["first"], family="𠮷野", given="咲", number=9, sourced_id="stu-Z"),  # type: ignore[arg-type]
        "hide_all",
    )
    db.commit()
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    response = _export(client, settings, format="cp932")
    assert response.status_code == 422
    assert "stu-Z" in response.text and "𠮷" in response.text
    assert "CP932" in response.text
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "export.optouts"))
    assert event is not None and event.outcome == "refused"


def test_export_is_audited_with_filters_and_row_count(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    response = _export(client, settings, format="csv", grade="P3", since=since)
    assert response.status_code == 200
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "export.optouts"))
    assert event is not None
    assert event.actor_id == world["admin"].id  # type: ignore[attr-defined]
    assert event.details["row_count"] == 3  # two opt-outs, and one family that chose "show"
    assert event.details["filters"]["grade"] == "P3"
    assert "since" in event.details["filters"]


def test_headers_follow_the_users_language(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    client.cookies.set("tobira_lang", "en")
    response = _export(client, settings, format="csv")
    assert response.content.decode("utf-8-sig").startswith("School code,School name,Grade,Class")


def test_bad_filters_get_a_message_and_no_file(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    assert "YYYY-MM-DD" in _export(client, settings, format="csv", since="0001-01-01").text
    response = _export(client, settings, format="pdf", school="S2", since="yesterday")
    assert response.status_code == 422
    assert "形式" in response.text and "学校" in response.text and "YYYY-MM-DD" in response.text
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "export.optouts")) is None


def test_since_filter_keeps_recent_changes_only(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    old = f.student(db, world["first"], family="古川", given="六郎", sourced_id="stu-OLD")  # type: ignore[arg-type]
    f.confirmed(db, world["definition"], old, "hide_all", at=utcnow() - timedelta(days=30))  # type: ignore[arg-type]
    db.commit()
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    everything = json.loads(_export(client, settings, format="json").content)
    assert "stu-OLD" in [r["student_id"] for r in everything]
    since = (utcnow() - timedelta(days=2)).date().isoformat()
    recent = json.loads(_export(client, settings, format="json", since=since).content)
    assert "stu-OLD" not in [r["student_id"] for r in recent]


def test_changes_since_carry_withdrawals_with_the_time_they_took_effect(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    returning = f.student(db, world["first"], family="戻田", given="七郎", sourced_id="stu-W")  # type: ignore[arg-type]
    f.confirmed(db, world["definition"], returning, "hide_all", at=utcnow() - timedelta(days=30))  # type: ignore[arg-type]
    shown_again = f.confirmed(db, world["definition"], returning, "show")  # type: ignore[arg-type]
    db.commit()
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    # the full list of opt-outs no longer holds the family …
    everything = json.loads(_export(client, settings, format="json").content)
    assert "stu-W" not in [r["student_id"] for r in everything]
    # … and "changes since" tells the school to show the child's data again, and since when
    since = (utcnow() - timedelta(days=2)).date().isoformat()
    recent = json.loads(_export(client, settings, format="json", since=since).content)
    [row] = [r for r in recent if r["student_id"] == "stu-W"]
    assert row["value"] == "show"
    assert row["effective_since"].startswith(shown_again.created_at.astimezone(TOKYO).date().isoformat())
    csv_rows = _export(client, settings, format="csv", since=since).content.decode("utf-8-sig").splitlines()
    assert any("stu-W" in line and ",show," in line for line in csv_rows)


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    hostile = f.student(db, world["first"], family="@SUM(1+1)", given="太郎", sourced_id='=HYPERLINK("x")')  # type: ignore[arg-type]
    f.confirmed(db, world["definition"], hostile, "hide_all")  # type: ignore[arg-type]
    db.commit()
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    for fmt, encoding in (("csv", "utf-8-sig"), ("cp932", "cp932")):
        text = _export(client, settings, format=fmt).content.decode(encoding)
        rows = list(csv.reader(io.StringIO(text)))
        [formula] = [r for r in rows if r[6].endswith("次郎")]
        assert formula[6] == "'=1+2 次郎"  # the roster's name, made inert
        [row] = [r for r in rows if "HYPERLINK" in r[5]]
        assert row[5] == '\'=HYPERLINK("x")' and row[6] == "'@SUM(1+1) 太郎"
        assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def test_auditor_and_guests_cannot_export(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    response = client.get("/staff/exports", follow_redirects=False)
    assert response.status_code == 303
    auditor = f.staff(db, world["board"], "auditor")  # type: ignore[arg-type]
    db.commit()
    sign_in_as(client, db, settings, auditor)
    assert client.get("/staff/exports").status_code == 404

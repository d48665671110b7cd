"""A thousand choices the demo board received before Tobira are carried over: exactly those
take effect, with the day and way the school received them on the history and the receipt,
and the downstream API and the opt-out export list them; a second import changes nothing; a
file with one bad line is refused whole, the line named."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import Settings, get_settings
from app.domain.apikeys import service as keys
from app.domain.audit.service import Actor
from app.domain.boards.models import Board
from app.domain.catalog.service import services_for_student
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.people.models import Guardian, GuardianStudent, School, Student
from app.surfaces.demo.seed import seed_demo
from tests.guardian.factories import make_account, make_student
from tests.helpers import sign_in_as

ROWS = 1000
HEADER = "student_id,service,choice,value,categories,received_on,received_by\n"
HOW = ("paper", "email", "phone", "in_person")


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _earlier_choices(db: Session, board_id: int) -> list[tuple[Student, str, str, str]]:
    """(student, service code, choice code, value) for choices the demo offers its students and
    nobody has made yet, a value other than the default each."""
    chosen = {(c.student_id, c.definition_id) for c in db.scalars(select(CurrentChoice))}
    rows: list[tuple[Student, str, str, str]] = []
    students = db.scalars(
        select(Student).where(Student.board_id == board_id, Student.status == "active").order_by(Student.id)
    )
    for student in students:
        for view in services_for_student(db, student):
            for definition in view.definitions:
                if (student.id, definition.id) in chosen:
                    continue
                value = (
                    "hide_all"
                    if definition.kind == "categories"
                    else next(o for o in definition.options if o != definition.default_value)
                )
                rows.append((student, view.service.code, definition.code, value))
    return rows


def test_a_thousand_earlier_choices_are_carried_over_in_the_demo(
    run: CliRunner, client: TestClient, db: Session, settings: Settings, tmp_path: Path
) -> None:
    summary = seed_demo(db)
    board = db.get_one(Board, summary.board_id)
    # The demo's roster plus more pupils at its schools, so the file has a thousand lines.
    schools = list(db.scalars(select(School).where(School.board_id == board.id)))
    for n in range(330):
        school = schools[n % len(schools)]
        grade = ("J1", "J2", "J3")[n % 3] if "中学校" in school.name else ("P1", "P3", "P5")[n % 3]
        make_student(db, school, given=f"転入{n}", grade=grade)
    db.commit()
    candidates = _earlier_choices(db, board.id)
    assert len(candidates) >= ROWS
    lines = [
        f"{student.sourced_id},{service},{choice},{value},,2026-0{4 + n % 3}-1{n % 10},{HOW[n % 4]}\n"
        for n, (student, service, choice, value) in enumerate(candidates[:ROWS])
    ]
    path = tmp_path / "earlier.csv"
    base = ["choices", "import", str(path), "--board", board.code]

    # One bad line refuses the whole file, naming the line; nothing is written.
    bad = [*lines]
    bad[499] = bad[499].replace(",2026-", ",2026/")
    path.write_bytes((HEADER + "".join(bad)).encode("utf-8-sig"))
    refused = run.invoke(main, base)
    assert refused.exit_code != 0 and "501" in refused.output  # line 501 of the file (after the header)
    db.expire_all()
    assert db.scalar(select(func.count()).where(ChoiceEvent.channel == "import")) == 0

    path.write_bytes((HEADER + "".join(lines)).encode("cp932"))
    done = run.invoke(main, base)
    assert done.exit_code == 0, done.output
    assert f"{ROWS} choice(s) applied" in done.output
    db.expire_all()
    carried = list(db.scalars(select(CurrentChoice).where(CurrentChoice.channel == "import")))
    assert len(carried) == ROWS
    again = run.invoke(main, base)
    assert again.exit_code == 0 and f"0 choice(s) applied, {ROWS} already in Tobira" in again.output
    assert (
        db.scalar(
            select(func.count()).where(ChoiceEvent.channel == "import", ChoiceEvent.kind == "confirmed")
        )
        == ROWS
    )

    # The first line's family sees the day and the way the school received it.
    first_student = candidates[0][0]
    guardian = db.scalar(
        select(Guardian)
        .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
        .where(GuardianStudent.student_id == first_student.id)
    )
    assert guardian is not None
    sign_in_as(client, db, settings, make_account(db, guardian))
    db.commit()
    history = client.get(f"/children/{first_student.id}/history").text
    assert "2026年4月10日に紙の申出書で学校が受け付けました" in history
    [event] = db.scalars(
        select(ChoiceEvent).where(
            ChoiceEvent.student_id == first_student.id,
            ChoiceEvent.kind == "confirmed",
            ChoiceEvent.received_on == date(2026, 4, 10),
        )
    )
    receipt = client.get(f"/children/{first_student.id}/receipts/{event.receipt_id}")
    assert "2026年4月10日に紙の申出書で学校が受け付け、トビラに引き継ぎました" in receipt.text
    as_json = client.get(f"/children/{first_student.id}/receipts/{event.receipt_id}?format=json").json()
    assert as_json["events"][0]["event_time"].startswith("2026-04-10T00:00:00+09:00")

    # Downstream systems and the opt-out export list them.
    dashboard_rows = [c for c in candidates[:ROWS] if c[1] == "school-dashboard"]
    secret, _key = keys.create_key(db, board_id=board.id, name="Dashboard", actor=Actor("system"))
    db.commit()
    listed: set[str] = set()
    cursor = ""
    while True:
        page = client.get(
            f"/api/v1/hide-list?service=school-dashboard&choice={dashboard_rows[0][2]}{cursor}",
            headers={"Authorization": f"Bearer {secret}"},
        ).json()
        listed |= {entry["student_id"] for entry in page["items"]}
        if not page.get("next_cursor"):
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert {c[0].sourced_id for c in dashboard_rows if c[2] == dashboard_rows[0][2]} <= listed
    exported = tmp_path / "optouts.csv"
    made = run.invoke(main, ["export", "optouts", "--board", board.code, "-o", str(exported)])
    assert made.exit_code == 0, made.output
    text = exported.read_bytes().decode("utf-8-sig")
    missing = [c[0].sourced_id for c in candidates[:ROWS] if c[0].sourced_id not in text]
    assert not missing, missing[:5]

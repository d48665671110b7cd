"""A roster can never quietly wipe a board: missing binding columns, another district's
roster, mass deactivation and oversized zips are all stopped, and nothing is written."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.boards.models import Board
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.roster.review import Acceptance
from app.domain.roster.service import run_import
from app.domain.roster.spec import Limits
from tests.roster.rosters import (
    DISTRICT,
    SAMPLE_DIR,
    SAMPLE_ZIP,
    STUDENT_JIRO,
    STUDENT_SAKURA,
    STUDENT_YOSHINO,
    Rows,
    build_zip,
)

OTHER_DISTRICT = "9a9a9a9a-0000-4000-8000-000000000099"


def _state(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    return (
        db.scalar(select(func.count()).where(Student.status == "active")) or 0,
        db.scalar(select(func.count()).where(Guardian.status == "active")) or 0,
        db.scalar(select(func.count()).select_from(GuardianStudent).where(GuardianStudent.status == "active"))
        or 0,
    )


def _without_column(column: str) -> Callable[[list[str], Rows], tuple[list[str], Rows]]:
    def drop(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        return [h for h in header if h != column], [{k: v for k, v in r.items() if k != column} for r in rows]

    return drop


def test_a_roster_missing_a_binding_column_is_refused_naming_file_and_column(
    database: Database, db: Session, tmp_path: Path
) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    before = _state(db)
    broken = build_zip(tmp_path / "b.zip", edit={"users.csv": _without_column("agentSourcedIds")})

    report = run_import(database, broken, board_code="tobira-city")

    assert report.status == "refused"
    assert [(p.file, p.column, p.code) for p in report.problems] == [
        ("users.csv", "agentSourcedIds", "missing_column")
    ]
    assert "agentSourcedIds" in report.problems[0].message("en")
    assert _state(db) == before  # no guardian lost a child


def test_another_districts_roster_is_refused_until_confirmed(
    database: Database, db: Session, tmp_path: Path
) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    board = db.scalar(select(Board).where(Board.code == "tobira-city"))
    assert board is not None and board.roster_district_id == DISTRICT
    before = _state(db)

    def rename_district(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            for key, value in row.items():
                if value == DISTRICT:
                    row[key] = OTHER_DISTRICT
        return header, rows

    other = build_zip(tmp_path / "o.zip", edit={"orgs.csv": rename_district})
    dry = run_import(database, other, board_code="tobira-city", dry_run=True)
    assert dry.status == "done" and [c.kind for c in dry.cautions] == ["other_district"]
    held = run_import(database, other, board_code="tobira-city")
    assert held.status == "needs_confirmation" and _state(db) == before
    db.expire_all()
    assert db.get_one(Board, board.id).roster_district_id == DISTRICT

    accepted = run_import(database, other, board_code="tobira-city", accept=Acceptance(other_district=True))
    assert accepted.status == "done"
    db.expire_all()
    assert db.get_one(Board, board.id).roster_district_id == OTHER_DISTRICT


def test_a_roster_that_would_deactivate_half_the_students_stops_at_the_dry_run(
    database: Database, db: Session, tmp_path: Path
) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    before = _state(db)
    leaving = {STUDENT_SAKURA, STUDENT_JIRO}

    def without_two(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        return header, [r for r in rows if not leaving & {r.get("sourcedId"), r.get("userSourcedId")}]

    half = build_zip(
        tmp_path / "h.zip",
        edit={"users.csv": without_two, "roles.csv": without_two, "enrollments.csv": without_two},
    )
    report = run_import(database, half, board_code="tobira-city")

    assert report.status == "needs_confirmation"
    students = next(c for c in report.cautions if c.params.get("entity") == "students")
    assert (students.params["count"], students.params["total"], students.params["percent"]) == (2, 4, 50.0)
    assert _state(db) == before
    assert db.scalar(select(Student.status).where(Student.sourced_id == STUDENT_YOSHINO)) == "active"


def test_zip_limits_are_named_when_refused(database: Database, db: Session, tmp_path: Path) -> None:
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for path in SAMPLE_DIR.glob("*.csv"):
            archive.write(path, path.name)
        for n in range(70):
            archive.writestr(f"extra/{n}.txt", b"x")
    report = run_import(database, many, board_code="tobira-city")
    assert [(p.code, p.params["limit"]) for p in report.problems] == [("too_many_members", 64)]
    assert "64" in report.problems[0].message("en")

    big = run_import(database, SAMPLE_ZIP, board_code="tobira-city", limits=Limits(uncompressed_bytes=1000))
    assert [p.code for p in big.problems] == ["too_large_uncompressed"]
    assert "1000" in big.problems[0].message("en")

    one_line = build_zip(tmp_path / "line.zip", raw={"users.csv": b'"sourcedId","' + b"x" * (2 * 1024**2)})
    long_line = run_import(database, one_line, board_code="tobira-city")
    assert ("users.csv", 1, "line_too_long") in [(p.file, p.line, p.code) for p in long_line.problems]
    assert db.scalar(select(func.count()).select_from(Board)) == 0  # nothing was created

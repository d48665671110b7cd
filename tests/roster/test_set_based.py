"""The set-based import on PostgreSQL (staging tables, SQL checks and merges) against the
row-by-row path: the same counts, the same refusals by file, line and column, the same writes.

Each comparison runs both paths as dry runs on the same board state, so the counts and the
problems an administrator would read are compared exactly (order included)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.roster.review import Acceptance
from app.domain.roster.service import ImportReport, run_import
from tests.roster.rosters import (
    DISTRICT,
    GUARDIAN_KEIKO,
    SAMPLE_DIR,
    SAMPLE_ZIP,
    STUDENT_JIRO,
    STUDENT_SAKURA,
    STUDENT_TARO,
    STUDENT_YOSHINO,
    TEACHER,
    Rows,
    build_zip,
    manifest,
    only,
    set_field,
)

SCHEDULED_CLASS = "d1e2f3a4-0001-4b00-9000-000000000031"
HOMEROOM_1_2 = "d1e2f3a4-0001-4b00-9000-000000000012"
Edit = Callable[[list[str], Rows], tuple[list[str], Rows]]


def postgresql_only(database: Database) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite always imports row by row")


def where(column: str, value: str, **changes: str) -> Edit:
    def change(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            if row.get(column) == value:
                row.update(changes)
        return header, rows

    return change


def chain(*edits: Edit) -> Edit:
    def apply(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for edit in edits:
            header, rows = edit(header, rows)
        return header, rows

    return apply


def seen(report: ImportReport) -> dict[str, Any]:
    """Everything the administrator reads about a run."""
    return {
        "status": report.status,
        "mode": report.mode,
        "counts": report.counts,
        "problems": [(p.file, p.line, p.column, p.code, p.params) for p in report.problems],
        "problem_total": report.problem_total,
        "cautions": [c.as_dict() for c in report.cautions],
        "confirmations_cancelled": report.confirmations_cancelled,
        "messages": [p.message("ja") for p in report.problems],
    }


def both_ways(database: Database, path: Path, **options: Any) -> tuple[ImportReport, ImportReport]:
    by_row = run_import(database, path, board_code="tobira-city", dry_run=True, set_based=False, **options)
    by_set = run_import(database, path, board_code="tobira-city", dry_run=True, **options)
    assert not by_row.set_based and by_set.set_based
    return by_row, by_set


def test_sample_is_imported_set_based_and_again_changes_nothing(database: Database, db: Session) -> None:
    postgresql_only(database)
    by_row, by_set = both_ways(database, SAMPLE_ZIP)
    assert seen(by_set) == seen(by_row)

    first = run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    assert first.set_based and first.status == "done"
    assert first.counts["students"]["created"] == 4 and first.counts["links"]["created"] == 5
    taro = db.scalar(select(Student).where(Student.sourced_id == STUDENT_TARO))
    assert taro is not None and (taro.family_name, taro.grade, taro.attendance_number) == ("山田", "P1", 1)
    stamps = sorted(db.scalars(select(Student.updated_at)))
    db.rollback()

    again = run_import(database, SAMPLE_ZIP, board_code="tobira-city")

    assert again.set_based and again.status == "done" and again.changes == 0
    assert again.counts["students"] == {"created": 0, "changed": 0, "deactivated": 0, "unchanged": 4}
    assert again.counts["links"]["unchanged"] == 5
    assert sorted(db.scalars(select(Student.updated_at))) == stamps  # nothing was rewritten


def test_refusals_are_the_same_on_both_paths(database: Database, db: Session, tmp_path: Path) -> None:
    postgresql_only(database)

    def duplicate_guardian(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        return header, [*rows, dict(rows[-1])]

    broken = build_zip(
        tmp_path / "broken.zip",
        edit={
            "users.csv": chain(
                set_field(
                    STUDENT_TARO,
                    grades="G1,P1, X9",
                    primaryOrgSourcedId="no-such-org",
                    **{"metadata.jp.kanaGivenName": "ﾀﾛｳ"},
                ),
                set_field(STUDENT_YOSHINO, **{"metadata.jp.homeClass": SCHEDULED_CLASS}),
                set_field(STUDENT_JIRO, agentSourcedIds=f"{TEACHER}, nobody ,{TEACHER}"),
                set_field(STUDENT_SAKURA, givenName="", primaryOrgSourcedId=""),
                set_field(TEACHER, status="gone"),
                duplicate_guardian,
            ),
            "roles.csv": chain(
                where("userSourcedId", STUDENT_SAKURA, orgSourcedId=DISTRICT),
                where("sourcedId", "b8c9d0e1-0004-4f00-9000-000000000001", role="wizard"),
                where("sourcedId", "b8c9d0e1-0004-4f00-9000-000000000007", roleType="tertiary"),
                where("sourcedId", "b8c9d0e1-0004-4f00-9000-000000000008", userSourcedId="ghost"),
            ),
            "enrollments.csv": chain(
                where("sourcedId", "c9d0e1f2-0005-4a00-8000-000000000001", classSourcedId="no-class"),
                where(
                    "sourcedId", "c9d0e1f2-0005-4a00-8000-000000000003", **{"metadata.jp.ShussekiNo": "十"}
                ),
                where("sourcedId", "c9d0e1f2-0005-4a00-8000-000000000004", schoolSourcedId=DISTRICT),
                where("sourcedId", "c9d0e1f2-0005-4a00-8000-000000000005", userSourcedId="ghost2", role=""),
            ),
        },
    )

    by_row, by_set = both_ways(database, broken)

    assert by_set.status == "refused"
    assert seen(by_set) == seen(by_row)
    found = {(p.file, p.line, p.column, p.code) for p in by_set.problems}
    assert {
        ("users.csv", 2, "status", "bad_value"),
        ("users.csv", 3, "grades", "bad_grade"),
        ("users.csv", 3, "primaryOrgSourcedId", "unknown_reference"),
        ("users.csv", 3, "metadata.jp.kanaGivenName", "halfwidth_kana"),
        ("users.csv", 4, "metadata.jp.homeClass", "not_homeroom"),
        ("users.csv", 5, "agentSourcedIds", "not_a_guardian"),
        ("users.csv", 5, "agentSourcedIds", "unknown_reference"),
        ("users.csv", 6, "givenName", "missing_value"),
        ("users.csv", 6, "primaryOrgSourcedId", "no_school"),
        ("users.csv", 10, "sourcedId", "duplicate_id"),
        ("roles.csv", 2, "role", "bad_value"),
        ("roles.csv", 8, "roleType", "bad_value"),
        ("roles.csv", 9, "userSourcedId", "unknown_reference"),
        ("enrollments.csv", 2, "classSourcedId", "unknown_reference"),
        ("enrollments.csv", 4, "metadata.jp.ShussekiNo", "bad_value"),
        ("enrollments.csv", 5, "schoolSourcedId", "unknown_reference"),
        ("enrollments.csv", 6, "role", "missing_value"),
    } <= found
    bad = [p for p in by_set.problems if p.code == "bad_grade"]
    assert [p.params["value"] for p in bad] == ["G1", "X9"]
    assert "line 9" in next(p for p in by_set.problems if p.code == "duplicate_id").message("en")


def test_deltas_count_the_same_on_both_paths(database: Database, db: Session, tmp_path: Path) -> None:
    postgresql_only(database)
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    deltas = {
        "users": build_zip(
            tmp_path / "users.zip",
            raw={"manifest.csv": manifest(users="delta", roles="absent")},
            edit={
                "users.csv": chain(
                    only(STUDENT_TARO, STUDENT_JIRO, GUARDIAN_KEIKO),
                    set_field(STUDENT_TARO, givenName=" 太朗\u3000", agentSourcedIds=GUARDIAN_KEIKO),
                    set_field(STUDENT_JIRO, status="tobedeleted"),
                    set_field(GUARDIAN_KEIKO, email="keiko.new@tobira.example.jp"),
                )
            },
        ),
        "moved": build_zip(
            tmp_path / "moved.zip",
            raw={"manifest.csv": manifest(enrollments="delta")},
            edit={
                "enrollments.csv": chain(
                    only("c9d0e1f2-0005-4a00-8000-000000000002"),
                    where("userSourcedId", STUDENT_TARO, classSourcedId=HOMEROOM_1_2),
                    where("userSourcedId", STUDENT_TARO, **{"metadata.jp.ShussekiNo": "７"}),
                )
            },
        ),
        "graduated": build_zip(
            tmp_path / "graduated.zip",
            edit={
                name: lambda h, rows: (
                    h,
                    [r for r in rows if STUDENT_SAKURA not in (r.get("sourcedId"), r.get("userSourcedId"))],
                )
                for name in ("users.csv", "roles.csv", "enrollments.csv")
            },
        ),
    }
    for name, path in deltas.items():
        by_row, by_set = both_ways(database, path, accept=Acceptance(deactivations=True))
        assert by_set.status == "done", (name, seen(by_set)["problems"])
        assert seen(by_set) == seen(by_row), name

    moved = run_import(database, deltas["moved"], board_code="tobira-city")
    assert moved.set_based and moved.counts["students"]["changed"] == 1
    taro = db.scalar(select(Student).where(Student.sourced_id == STUDENT_TARO))
    assert taro is not None and taro.attendance_number == 7
    db.rollback()

    changed = run_import(
        database, deltas["users"], board_code="tobira-city", accept=Acceptance(deactivations=True)
    )
    assert changed.counts["students"] == {"created": 0, "changed": 1, "deactivated": 1, "unchanged": 0}
    assert changed.counts["guardians"] == {"created": 0, "changed": 1, "deactivated": 0, "unchanged": 0}
    db.expire_all()
    keiko = db.scalar(select(Guardian).where(Guardian.sourced_id == GUARDIAN_KEIKO))
    assert keiko is not None and keiko.email == "keiko.new@tobira.example.jp"
    taro = db.scalar(select(Student).where(Student.sourced_id == STUDENT_TARO))
    assert taro is not None and taro.given_name == "太朗"  # stripped as the row-by-row path strips
    jiro = db.scalar(select(Student).where(Student.sourced_id == STUDENT_JIRO))
    assert jiro is not None and jiro.status == "inactive" and jiro.deactivated_at is not None
    links = db.execute(
        select(Guardian.sourced_id, GuardianStudent.status)
        .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(Student.sourced_id == STUDENT_TARO)
    )
    assert dict(links.all()) == {GUARDIAN_KEIKO: "active", "f6a7b8c9-0002-4d00-b000-000000000001": "inactive"}


def test_a_row_of_the_wrong_width_is_named_by_its_line(
    database: Database, db: Session, tmp_path: Path
) -> None:
    text = (SAMPLE_DIR / "roles.csv").read_bytes()
    lines = text.split(b"\r\n")
    lines[3] = lines[3] + b',"extra"'
    broken = build_zip(tmp_path / "wide.zip", raw={"roles.csv": b"\r\n".join(lines)})

    report = run_import(database, broken, board_code="tobira-city")

    assert report.status == "refused" and not report.set_based  # read row by row to name the line
    assert [(p.file, p.line, p.code) for p in report.problems] == [("roles.csv", 4, "bad_row")]


def test_cp932_files_are_converted_into_the_staging_tables(
    database: Database, db: Session, tmp_path: Path
) -> None:
    postgresql_only(database)
    files = {
        # 𠮷 is not in CP932: a Windows export writes 吉
        name: (SAMPLE_DIR / name).read_bytes().decode("utf-8-sig").replace("𠮷", "吉").encode("cp932")
        for name in ("users.csv", "roles.csv", "enrollments.csv")
    }
    sjis = build_zip(tmp_path / "sjis.zip", raw=files)

    report = run_import(database, sjis, board_code="tobira-city", allow_cp932=True)

    assert report.status == "done" and report.set_based
    names = set(db.scalars(select(Student.family_name + " " + Student.given_name)))
    assert "山田 太郎" in names and len(names) == 4


def test_values_across_lines_and_blank_lines_keep_their_line_numbers(
    database: Database, db: Session, tmp_path: Path
) -> None:
    postgresql_only(database)
    users = (SAMPLE_DIR / "users.csv").read_bytes()
    # Taro's given name holds a line break (quoted, as CSV allows): every later record starts
    # one line further down; a blank line in roles.csv moves its later records too.
    users = users.replace('"太郎"'.encode(), '"太\r\n郎"'.encode(), 1)
    users = users.replace('"次郎"'.encode(), b'""', 1)  # Jiro's given name left empty
    roles = (SAMPLE_DIR / "roles.csv").read_bytes().split(b"\r\n")
    roles.insert(3, b"")
    roles[6] = roles[6].replace(b'"student"', b'"wizard"')
    broken = build_zip(tmp_path / "lines.zip", raw={"users.csv": users, "roles.csv": b"\r\n".join(roles)})

    by_row, by_set = both_ways(database, broken)

    assert seen(by_set) == seen(by_row)
    found = {(p.file, p.line, p.column, p.code) for p in by_set.problems}
    assert ("users.csv", 6, "givenName", "missing_value") in found
    assert ("roles.csv", 7, "role", "bad_value") in found

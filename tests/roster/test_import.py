"""Importing the Japan Profile sample: what a board administrator would see in the portal."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.boards.models import Board
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, Student
from app.domain.roster.models import RosterImport
from app.domain.roster.review import Acceptance, sample_names
from app.domain.roster.service import run_import
from tests.roster.rosters import (
    ELEMENTARY,
    GUARDIAN_ICHIRO,
    GUARDIAN_KEIKO,
    GUARDIAN_MAKOTO,
    SAMPLE_DIR,
    SAMPLE_ZIP,
    STUDENT_JIRO,
    STUDENT_SAKURA,
    STUDENT_TARO,
    STUDENT_YOSHINO,
    TEACHER,
    build_zip,
    manifest,
    only,
    set_field,
)


def student(db: Session, sourced_id: str) -> Student:
    row = db.scalar(select(Student).where(Student.sourced_id == sourced_id))
    assert row is not None
    return row


def test_sample_zip_imports_and_creates_the_board_from_the_district(database: Database, db: Session) -> None:
    report = run_import(database, SAMPLE_ZIP, board_code="tobira-city")

    assert report.status == "done", [p.message("en") for p in report.problems]
    assert report.board_created
    board = db.scalar(select(Board).where(Board.code == "tobira-city"))
    assert board is not None and board.name == "とびら市教育委員会"
    taro = student(db, STUDENT_TARO)
    assert (taro.family_name, taro.given_name, taro.full_name_kana) == ("山田", "太郎", "ヤマダ タロウ")
    assert (taro.grade, taro.attendance_number, taro.status) == ("P1", 1, "active")
    homeroom = db.get(SchoolClass, taro.class_id)
    assert homeroom is not None and homeroom.title == "1年1組"
    school = db.get(School, taro.school_id)
    assert school is not None and (school.code, school.kind) == ("B111299999991", "elementary")
    jiro = student(db, STUDENT_JIRO)
    assert (jiro.grade, jiro.attendance_number) == ("J1", 12)
    # Characters outside JIS X 0208 survive (𠮷, 髙).
    assert student(db, STUDENT_YOSHINO).full_name == "髙橋 𠮷乃"
    # Only homerooms are kept; the scheduled 算数 class is not.
    assert sorted(db.scalars(select(SchoolClass.title))) == ["1年1組", "1年1組", "1年2組"]
    # The teacher is neither a student nor a guardian.
    assert db.scalar(select(Student).where(Student.sourced_id == TEACHER)) is None
    assert db.scalar(select(Guardian).where(Guardian.sourced_id == TEACHER)) is None
    # Guardians (role guardian or parent) linked from agentSourcedIds; siblings share one.
    links = {
        (g, s)
        for g, s in db.execute(
            select(Guardian.sourced_id, Student.sourced_id)
            .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
            .join(Student, GuardianStudent.student_id == Student.id)
        )
    }
    assert links == {
        (GUARDIAN_ICHIRO, STUDENT_TARO),
        (GUARDIAN_ICHIRO, STUDENT_JIRO),
        (GUARDIAN_KEIKO, STUDENT_YOSHINO),
        (GUARDIAN_MAKOTO, STUDENT_YOSHINO),
        (GUARDIAN_MAKOTO, STUDENT_SAKURA),
    }
    keiko = db.scalar(select(Guardian).where(Guardian.sourced_id == GUARDIAN_KEIKO))
    assert keiko is not None and keiko.email == "takahashi.keiko@example.jp"
    makoto = db.scalar(select(Guardian).where(Guardian.sourced_id == GUARDIAN_MAKOTO))
    assert makoto is not None and makoto.email is None


def test_importing_the_same_roster_again_changes_nothing(database: Database, db: Session) -> None:
    first = run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    before = db.scalar(select(Student.updated_at).where(Student.sourced_id == STUDENT_TARO))

    second = run_import(database, SAMPLE_DIR, board_code="tobira-city")  # the same files, as a folder

    assert first.changes > 0
    assert second.status == "done" and not second.board_created
    assert second.changes == 0
    assert second.counts["students"]["unchanged"] == 4
    assert second.counts["guardians"]["unchanged"] == 3
    db.expire_all()
    assert db.scalar(select(Student.updated_at).where(Student.sourced_id == STUDENT_TARO)) == before


def test_one_broken_reference_refuses_the_whole_zip(database: Database, db: Session, tmp_path: Path) -> None:
    broken = build_zip(
        tmp_path / "broken.zip",
        edit={
            "enrollments.csv": set_field(
                "c9d0e1f2-0005-4a00-8000-000000000003", classSourcedId="no-such-class"
            )
        },
    )

    report = run_import(database, broken, board_code="tobira-city")

    assert report.status == "refused"
    [problem] = report.problems
    assert (problem.file, problem.line, problem.column) == ("enrollments.csv", 4, "classSourcedId")
    assert "no-such-class" in problem.message("en") and "classes.csv" in problem.message("en")
    assert "classes.csv" in problem.message("ja") and "ありません" in problem.message("ja")
    # Nothing was written: not even the board.
    assert db.scalar(select(func.count()).select_from(Board)) == 0
    assert db.scalar(select(func.count()).select_from(Student)) == 0
    row = db.get(RosterImport, report.import_id)
    assert row is not None and row.status == "refused" and row.summary["problem_total"] == 1


def test_refused_import_leaves_an_existing_board_untouched(
    database: Database, db: Session, tmp_path: Path
) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    renamed_and_broken = build_zip(
        tmp_path / "r.zip",
        edit={
            "users.csv": set_field(STUDENT_TARO, familyName="田中", agentSourcedIds="nobody"),
        },
    )

    report = run_import(database, renamed_and_broken, board_code="tobira-city")

    assert report.status == "refused"
    assert [(p.file, p.line, p.column, p.code) for p in report.problems] == [
        ("users.csv", 3, "agentSourcedIds", "unknown_reference")
    ]
    db.expire_all()
    assert student(db, STUDENT_TARO).family_name == "山田"
    failure = db.scalar(select(AuditEvent).where(AuditEvent.outcome == "failure"))
    assert failure is not None and failure.details == {"problems": 1, "mode": "bulk"}


def test_every_problem_is_named_by_file_line_and_column(
    database: Database, db: Session, tmp_path: Path
) -> None:
    def drop_kana_column(
        header: list[str], rows: list[dict[str, str]]
    ) -> tuple[list[str], list[dict[str, str]]]:
        header = [h for h in header if h != "title"]
        return header, [{k: v for k, v in row.items() if k != "title"} for row in rows]

    def duplicate_first(
        header: list[str], rows: list[dict[str, str]]
    ) -> tuple[list[str], list[dict[str, str]]]:
        return header, [*rows, dict(rows[0])]

    bad = build_zip(
        tmp_path / "bad.zip",
        edit={
            "users.csv": lambda h, rows: set_field(
                STUDENT_TARO, grades="G1", **{"metadata.jp.kanaGivenName": "ﾀﾛｳ"}
            )(*set_field(STUDENT_SAKURA, givenName="")(h, rows)),
            "roles.csv": duplicate_first,
            "academicSessions.csv": drop_kana_column,
        },
    )

    report = run_import(database, bad, board_code="tobira-city")

    found = {(p.file, p.line, p.column, p.code) for p in report.problems}
    assert found == {
        ("academicSessions.csv", 1, "title", "missing_column"),
        ("users.csv", 3, "grades", "bad_grade"),
        ("users.csv", 3, "metadata.jp.kanaGivenName", "halfwidth_kana"),
        ("users.csv", 6, "givenName", "missing_value"),
        ("roles.csv", 11, "sourcedId", "duplicate_id"),
    }
    messages = {p.code: (p.message("ja"), p.message("en")) for p in report.problems}
    assert messages["bad_grade"][1] == "“G1” is not a MEXT grade code (P1–P6, J1–J3, H1–H3)."
    assert "学年コード" in messages["bad_grade"][0]
    assert "半角カタカナ" in messages["halfwidth_kana"][0] and "ﾀﾛｳ" in messages["halfwidth_kana"][1]
    assert "line 2" in messages["duplicate_id"][1]


def test_cp932_files_are_refused_with_advice_then_converted_on_request(
    database: Database, db: Session, tmp_path: Path
) -> None:
    users = (SAMPLE_DIR / "users.csv").read_bytes().decode("utf-8-sig")
    # 𠮷 is not in CP932; a real CP932 export would carry 吉.
    cp932 = build_zip(tmp_path / "sjis.zip", raw={"users.csv": users.replace("𠮷", "吉").encode("cp932")})

    refused = run_import(database, cp932, board_code="tobira-city")
    converted = run_import(database, cp932, board_code="tobira-city", allow_cp932=True)

    [problem] = refused.problems
    assert (problem.file, problem.line, problem.code) == ("users.csv", 2, "cp932")
    assert "--encoding cp932" in problem.message("en") and "--encoding cp932" in problem.message("ja")
    assert converted.status == "done"
    assert student(db, STUDENT_YOSHINO).full_name == "髙橋 吉乃"


def test_broken_encoding_is_reported_by_line(database: Database, db: Session, tmp_path: Path) -> None:
    users = (SAMPLE_DIR / "users.csv").read_bytes()
    lines = users.split(b"\n")
    lines[4] = lines[4].replace("山田".encode(), b"\xff\xfe\xff")
    broken = build_zip(tmp_path / "enc.zip", raw={"users.csv": b"\n".join(lines)})

    report = run_import(database, broken, board_code="tobira-city", allow_cp932=True)

    assert [(p.file, p.line, p.code) for p in report.problems] == [("users.csv", 5, "bad_encoding")]


def test_delta_applies_only_its_changes_and_tobedeleted_deactivates(
    database: Database, db: Session, tmp_path: Path
) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    delta = build_zip(
        tmp_path / "delta.zip",
        raw={"manifest.csv": manifest(users="delta", roles="absent")},
        edit={
            "users.csv": lambda h, rows: only(STUDENT_TARO, STUDENT_JIRO)(
                *set_field(STUDENT_TARO, givenName="太朗")(
                    *set_field(STUDENT_JIRO, status="tobedeleted")(h, rows)
                )
            )
        },
    )

    report = run_import(database, delta, board_code="tobira-city", accept=Acceptance(deactivations=True))

    assert report.status == "done", [p.message("en") for p in report.problems]
    assert report.mode == "delta"
    assert report.counts["students"] == {"created": 0, "changed": 1, "deactivated": 1, "unchanged": 0}
    assert report.counts["guardians"]["deactivated"] == 0
    db.expire_all()
    assert student(db, STUDENT_TARO).given_name == "太朗"
    jiro = student(db, STUDENT_JIRO)
    assert jiro.status == "inactive" and jiro.deactivated_at is not None
    assert jiro.family_name == "山田"  # history is kept until retention runs
    assert student(db, STUDENT_SAKURA).status == "active"


def test_bulk_roster_without_a_student_deactivates_them(
    database: Database, db: Session, tmp_path: Path
) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")

    def without_sakura(
        header: list[str], rows: list[dict[str, str]]
    ) -> tuple[list[str], list[dict[str, str]]]:
        return header, [r for r in rows if STUDENT_SAKURA not in (r.get("sourcedId"), r.get("userSourcedId"))]

    graduated = build_zip(
        tmp_path / "g.zip",
        edit={"users.csv": without_sakura, "roles.csv": without_sakura, "enrollments.csv": without_sakura},
    )
    # One of four students is 25 %, above the 5 % an administrator must confirm: the import
    # stops after counting, writes nothing and names who would go.
    held = run_import(database, graduated, board_code="tobira-city")
    assert held.status == "needs_confirmation"
    [caution] = held.cautions
    assert caution.kind == "mass_deactivation" and caution.params["entity"] == "students"
    assert (caution.params["count"], caution.params["total"]) == (1, 4)
    assert sample_names(db, student(db, STUDENT_SAKURA).board_id, caution) == ["鈴木 さくら"]
    db.expire_all()
    assert student(db, STUDENT_SAKURA).status == "active"

    report = run_import(database, graduated, board_code="tobira-city", accept=Acceptance(deactivations=True))
    assert report.status == "done"
    assert report.counts["students"]["deactivated"] == 1
    assert report.counts["links"]["deactivated"] == 0  # links are kept with the history
    db.expire_all()
    assert student(db, STUDENT_SAKURA).status == "inactive"


def test_dry_run_counts_changes_and_saves_nothing(database: Database, db: Session) -> None:
    report = run_import(database, SAMPLE_ZIP, board_code="tobira-city", dry_run=True)

    assert report.status == "done" and report.dry_run and report.board_created
    assert report.counts["students"]["created"] == 4
    assert report.counts["guardians"]["created"] == 3
    assert db.scalar(select(func.count()).select_from(Board)) == 0
    assert db.scalar(select(func.count()).select_from(Student)) == 0


def test_import_is_audited_with_counts_only(database: Database, db: Session) -> None:
    report = run_import(database, SAMPLE_ZIP, board_code="tobira-city")

    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "roster.import"))
    assert event is not None and event.outcome == "success" and event.actor_type == "cli"
    assert event.target_id == str(report.import_id)
    assert event.details["students_created"] == 4 and event.details["board_created"] is True
    text = str(event.details)
    assert "山田" not in text and "@" not in text and ELEMENTARY not in text


def test_not_a_roster_is_refused_plainly(database: Database, db: Session, tmp_path: Path) -> None:
    junk = tmp_path / "notes.zip"
    junk.write_text("hello")
    no_manifest = build_zip(tmp_path / "nm.zip", drop=("manifest.csv",))

    assert [p.code for p in run_import(database, junk, board_code="x").problems] == ["not_a_roster"]
    assert [p.code for p in run_import(database, no_manifest, board_code="x").problems] == ["no_manifest"]


def test_agent_must_be_a_guardian_even_in_a_delta_without_roles(
    database: Database, db: Session, tmp_path: Path
) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    to_teacher = build_zip(
        tmp_path / "t.zip", edit={"users.csv": set_field(STUDENT_TARO, agentSourcedIds=TEACHER)}
    )
    delta_unknown = build_zip(
        tmp_path / "d.zip",
        raw={"manifest.csv": manifest(users="delta")},
        edit={"users.csv": only(STUDENT_TARO, agentSourcedIds="gone")},
    )
    delta_moved = build_zip(
        tmp_path / "m.zip",
        raw={"manifest.csv": manifest(users="delta")},
        edit={"users.csv": only(STUDENT_TARO, agentSourcedIds=GUARDIAN_KEIKO)},
    )

    teacher = run_import(database, to_teacher, board_code="tobira-city")
    unknown = run_import(database, delta_unknown, board_code="tobira-city")
    moved = run_import(database, delta_moved, board_code="tobira-city", accept=Acceptance(deactivations=True))

    assert [(p.line, p.code) for p in teacher.problems] == [(3, "not_a_guardian")]
    assert [(p.line, p.column, p.code) for p in unknown.problems] == [
        (2, "agentSourcedIds", "unknown_reference")
    ]
    assert moved.status == "done"
    assert moved.counts["links"] == {"created": 1, "changed": 0, "deactivated": 1, "unchanged": 0}
    taro = student(db, STUDENT_TARO)
    active = set(
        db.scalars(
            select(Guardian.sourced_id)
            .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
            .where(GuardianStudent.student_id == taro.id, GuardianStudent.status == "active")
        )
    )
    assert active == {GUARDIAN_KEIKO}


def test_progress_counts_up_to_everything_read(database: Database, db: Session) -> None:
    seen: list[tuple[int, int]] = []

    run_import(
        database,
        SAMPLE_ZIP,
        board_code="tobira-city",
        listener=lambda done, total: seen.append((done, total)),
    )

    done = [d for d, _t in seen]
    assert done == sorted(done) and len(set(done)) > 3
    assert seen[-1][0] == seen[-1][1]


def test_zip_made_on_a_mac_with_a_top_folder_imports(database: Database, db: Session, tmp_path: Path) -> None:
    import zipfile

    target = tmp_path / "mac.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(SAMPLE_DIR.glob("*.csv")):
            archive.writestr(f"__MACOSX/roster/._{path.name}", b"\x00\x05\x16\x07 resource fork")
            archive.writestr(f"roster/{path.name}", path.read_bytes())

    report = run_import(database, target, board_code="tobira-city")

    assert report.status == "done" and report.counts["students"]["created"] == 4

"""`portal retention run`: students who left longer ago than the board's policy go (with
their choice history, links and guardians left with no child), old audit events go from the
start of the chain — which stays verifiable — and every removal is audited with counts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import get_settings
from app.db import Base, Database, utcnow
from app.domain.accounts.models import Account, StudentAccount
from app.domain.audit.chain import verify
from app.domain.audit.models import AuditChainCheckpoint, AuditEvent
from app.domain.audit.service import Actor, record
from app.domain.boards.models import Board
from app.domain.choices.models import ChoiceEvent
from app.domain.notifications.models import OutboxEmail
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.retention.policy import years_before
from app.surfaces.demo.seed import seed_demo
from tests.guardian.factories import link, make_account
from tests.staff import factories as f

ON_POSTGRES = os.environ.get("TEST_DATABASE", "").startswith("postgres")


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _left(db: Session, student: Student, years: int) -> None:
    student.status = "inactive"
    student.deactivated_at = years_before(utcnow(), years)
    db.flush()


def _row_counts(db: Session) -> dict[str, int]:
    return {t.name: db.scalar(select(func.count()).select_from(t)) or 0 for t in Base.metadata.sorted_tables}


def _old_events(database: Database, board_id: int, count: int, years: int) -> None:
    """Events written `years` ago: the time is set before the commit chains them."""
    for n in range(count):
        with database.transaction() as db:
            event = record(db, "test.old", actor=Actor("system"), board_id=board_id, target_id=n)
            event.occurred_at = years_before(utcnow(), years) + timedelta(seconds=n)


def test_a_dry_run_on_the_demo_lists_what_would_go_and_changes_nothing(db: Session, run: CliRunner) -> None:
    seed_demo(db)
    student = db.scalars(select(Student).order_by(Student.id)).first()
    assert student is not None
    _left(db, student, 6)  # one demo child left six years ago
    db.commit()
    code = db.get_one(Board, student.board_id).code
    before = _row_counts(db)

    result = run.invoke(main, ["retention", "run", "--board", code, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was removed" in result.output
    assert "  students: 1\n" in result.output and "  choice_events:" in result.output
    assert "  audit_events: 0\n" in result.output
    db.expire_all()
    assert _row_counts(db) == before
    assert run.invoke(main, ["retention", "run", "--board", "NOPE", "--dry-run"]).exit_code == 2


def test_students_who_left_six_years_ago_go_and_four_years_ago_stay(
    database: Database, db: Session, run: CliRunner
) -> None:
    board = f.board(db)
    db.commit()
    _old_events(database, board.id, 3, years=6)  # the start of the chain
    _old_events(database, board.id, 2, years=4)
    school = f.school(db, board)
    _service, _version, definition = f.dashboard_service(db, board)
    gone = f.student(db, school, given="一郎")
    gone_guardian = f.guardian(db, board, gone, "gone@example.jp")
    account = make_account(db, gone_guardian, email="gone-idp@example.jp")
    f.confirmed(db, definition, gone, "hide_all")
    own_sign_in = Account(issuer="https://students.idp.test", subject="s-ichiro", kind="student")
    db.add(own_sign_in)
    db.flush()
    db.add(StudentAccount(account_id=own_sign_in.id, board_id=board.id, student_id=gone.id))
    kept = f.student(db, school, given="四郎")
    kept_guardian = f.guardian(db, board, kept, "kept@example.jp")
    f.confirmed(db, definition, kept, "hide_all")
    sibling_gone = f.student(db, school, given="兄")
    sibling_here = f.student(db, school, given="妹")
    family = f.guardian(db, board, sibling_gone, "family@example.jp")
    link(db, family, sibling_here)
    f.confirmed(db, definition, sibling_gone, "hide_all")
    db.add_all(
        OutboxEmail(board_id=board.id, to_address=a, subject="s", body_text="b", purpose="p", status="sent")
        for a in ("gone@example.jp", "family@example.jp")
    )
    _left(db, gone, 6)
    _left(db, sibling_gone, 6)
    _left(db, kept, 4)
    db.commit()
    ids = {"gone": gone.id, "kept": kept.id, "sibling_gone": sibling_gone.id, "here": sibling_here.id}
    account_id, kept_guardian_id, student_account_id = account.id, kept_guardian.id, own_sign_in.id
    assert verify(db, board.id).ok

    result = run.invoke(main, ["retention", "run", "--board", board.code])
    assert result.exit_code == 0, result.output
    assert "  students: 2\n" in result.output and "  guardians: 1\n" in result.output
    db.expire_all()

    students = set(db.scalars(select(Student.id)))
    assert students == {ids["kept"], ids["here"]}
    assert set(db.scalars(select(ChoiceEvent.student_id))) == {ids["kept"]}
    assert set(db.scalars(select(Guardian.email))) == {"kept@example.jp", "family@example.jp"}
    assert db.get(Account, account_id) is None  # acted only for the removed guardian
    assert db.get(Account, student_account_id) is None  # the student's own sign-in went with them
    assert set(db.scalars(select(GuardianStudent.student_id))) == {ids["kept"], ids["here"]}
    assert set(db.scalars(select(OutboxEmail.to_address))) == {"family@example.jp"}
    assert kept_guardian_id in set(db.scalars(select(Guardian.id)))

    # The chain lost its three six-year-old events from the start and still verifies.
    assert db.scalar(select(func.count()).where(AuditEvent.action == "test.old")) == 2
    verdict = verify(db, board.id)
    assert verdict.ok, verdict
    checked = run.invoke(main, ["audit", "verify", "--board", board.code])
    assert checked.exit_code == 0 and "intact" in checked.output
    [audited] = db.scalars(select(AuditEvent).where(AuditEvent.action == "retention.run"))
    counts = audited.details["counts"]
    assert counts["students"] == 2 and counts["guardians"] == 1 and counts["audit_events"] == 3
    assert "gone@example.jp" not in str(audited.details) and "一郎" not in str(audited.details)

    # A second run finds nothing more; a tampered retained event is still named.
    again = run.invoke(main, ["retention", "run", "--board", board.code, "--dry-run"])
    assert "  students: 0\n" in again.output and "  audit_events: 0\n" in again.output
    younger = db.scalars(
        select(AuditEvent).where(AuditEvent.board_id == board.id, AuditEvent.action == "test.old")
    ).first()
    assert younger is not None
    if ON_POSTGRES:
        db.execute(text("SET LOCAL tobira.removal = 'on'"))
    db.execute(update(AuditEvent).where(AuditEvent.id == younger.id).values(target_id="x"))
    db.commit()
    tampered = run.invoke(main, ["audit", "verify", "--board", board.code])
    assert tampered.exit_code == 1 and f"event {younger.seq} (id {younger.id}) was changed" in tampered.output


def test_a_checkpoint_slipped_in_by_hand_or_a_gap_after_it_is_named(
    database: Database, db: Session, run: CliRunner
) -> None:
    board = f.board(db)
    db.commit()
    _old_events(database, board.id, 2, years=6)
    _old_events(database, board.id, 3, years=1)
    assert run.invoke(main, ["retention", "run", "--board", board.code]).exit_code == 0
    assert verify(db, board.id).ok
    middle = db.scalar(
        select(AuditEvent).where(AuditEvent.board_id == board.id).order_by(AuditEvent.seq).offset(1).limit(1)
    )
    assert middle is not None
    if ON_POSTGRES:
        db.execute(text("SET LOCAL tobira.removal = 'on'"))
    db.execute(delete(AuditEvent).where(AuditEvent.id == middle.id))
    db.commit()
    assert (verify(db, board.id).problem, verify(db, board.id).first_bad_seq) == ("removed", middle.seq)

    other = f.board(db, code="B2", name="別の市")
    db.commit()
    _write = _old_events
    _write(database, other.id, 3, years=1)
    third = db.scalar(select(AuditEvent).where(AuditEvent.board_id == other.id, AuditEvent.seq == 2))
    assert third is not None
    if ON_POSTGRES:
        db.execute(text("SET LOCAL tobira.removal = 'on'"))
    db.execute(delete(AuditEvent).where(AuditEvent.board_id == other.id, AuditEvent.seq <= 2))
    db.add(AuditChainCheckpoint(board_key=other.id, seq=2, hash=third.hash, removed=2))
    db.commit()
    forged = verify(db, other.id)
    assert forged.problem == "unvouched" and forged.first_bad_seq == 2
    result = run.invoke(main, ["audit", "verify", "--board", "B2"])
    assert result.exit_code == 1 and "not vouched for" in result.output


@pytest.mark.skipif(not ON_POSTGRES, reason="the triggers are PostgreSQL's")
def test_outside_the_retention_path_postgresql_still_refuses_deletes(
    database: Database, db: Session, run: CliRunner
) -> None:
    board = f.board(db)
    db.commit()
    _old_events(database, board.id, 2, years=6)
    assert run.invoke(main, ["retention", "run", "--board", board.code]).exit_code == 0
    for statement in (
        delete(AuditEvent),
        delete(AuditChainCheckpoint),
        update(AuditChainCheckpoint).values(seq=0),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(statement)
        db.rollback()


def test_the_policy_is_shown_and_changed_from_the_command_line(db: Session, run: CliRunner) -> None:
    board = f.board(db)
    db.commit()
    shown = run.invoke(main, ["retention", "policy", "--board", board.code])
    assert (
        shown.exit_code == 0
        and "student_years=5 audit_years=5 mail_body_days=MAIL_BODY_RETENTION_DAYS" in shown.output
    )
    bad = run.invoke(main, ["retention", "policy", "--board", board.code, "--student-years", "0"])
    assert bad.exit_code == 2 and "--student-years" in bad.output and "1 から 30" in bad.output
    done = run.invoke(
        main, ["retention", "policy", "--board", board.code, "--student-years", "7", "--mail-body-days", "14"]
    )
    assert done.exit_code == 0 and "student_years=7" in done.output and "mail_body_days=14" in done.output
    changed = db.scalar(select(AuditEvent).where(AuditEvent.action == "retention.policy_changed"))
    assert changed is not None and changed.details == {"changed": {"student_years": 7, "mail_body_days": 14}}
    back = run.invoke(main, ["retention", "policy", "--board", board.code, "--mail-body-days", ""])
    assert back.exit_code == 0 and "mail_body_days=MAIL_BODY_RETENTION_DAYS" in back.output

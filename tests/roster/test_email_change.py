"""A guardian's e-mail changes in the roster: links sent to the old address stop working."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import ChoiceDefinition, Service
from app.domain.choices.models import ChoiceEvent
from app.domain.people.models import Guardian, Student
from app.domain.roster.service import run_import
from app.domain.tokens import service as tokens
from tests.roster.rosters import (
    GUARDIAN_ICHIRO,
    GUARDIAN_KEIKO,
    SAMPLE_ZIP,
    STUDENT_TARO,
    build_zip,
    set_field,
)


def _pending_request(db: Session, guardian_sid: str, student_sid: str) -> tuple[str, ChoiceEvent]:
    guardian = db.scalar(select(Guardian).where(Guardian.sourced_id == guardian_sid))
    student = db.scalar(select(Student).where(Student.sourced_id == student_sid))
    assert guardian is not None and student is not None
    service = Service(board_id=guardian.board_id, code="dashboard")
    db.add(service)
    db.flush()
    definition = ChoiceDefinition(
        board_id=guardian.board_id,
        service_id=service.id,
        code="hide",
        options=["show", "hide"],
        default_value="show",
        label="スクールダッシュボードに表示しない",
    )
    db.add(definition)
    db.flush()
    request = ChoiceEvent(
        board_id=guardian.board_id,
        student_id=student.id,
        definition_id=definition.id,
        kind="requested",
        value="hide",
        channel="web",
        guardian_id=guardian.id,
    )
    db.add(request)
    db.flush()
    secret, _token = tokens.issue(
        db,
        "choice_confirmation",
        timedelta(days=3),
        board_id=guardian.board_id,
        guardian_id=guardian.id,
        student_id=student.id,
        choice_event_id=request.id,
        email=guardian.email,
    )
    db.commit()
    return secret, request


def test_changed_email_cancels_pending_confirmations(database: Database, db: Session, tmp_path: Path) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    secret, request = _pending_request(db, GUARDIAN_ICHIRO, STUDENT_TARO)
    other_secret, _other = _pending_request_for_keiko(db)
    changed = build_zip(
        tmp_path / "email.zip",
        edit={"users.csv": set_field(GUARDIAN_ICHIRO, email="ichiro.new@example.jp")},
    )

    report = run_import(database, changed, board_code="tobira-city")

    assert report.status == "done"
    assert report.counts["guardians"]["changed"] == 1
    assert report.confirmations_cancelled == 1
    db.expire_all()
    looked_up = tokens.look_up(db, "choice_confirmation", secret)
    assert looked_up.problem is tokens.TokenProblem.REVOKED
    cancelled = db.scalar(select(ChoiceEvent).where(ChoiceEvent.request_id == request.id))
    assert cancelled is not None and cancelled.kind == "cancelled" and cancelled.channel == "import"
    audited = db.scalar(select(AuditEvent).where(AuditEvent.action == "choice.cancelled"))
    assert audited is not None and audited.details["request_id"] == request.id
    # Another guardian's confirmation is untouched.
    assert tokens.look_up(db, "choice_confirmation", other_secret).ok


def test_same_email_in_other_case_cancels_nothing(database: Database, db: Session, tmp_path: Path) -> None:
    run_import(database, SAMPLE_ZIP, board_code="tobira-city")
    secret, _request = _pending_request(db, GUARDIAN_ICHIRO, STUDENT_TARO)
    same = build_zip(
        tmp_path / "same.zip",
        edit={"users.csv": set_field(GUARDIAN_ICHIRO, email="Yamada.Ichiro@example.jp")},
    )

    report = run_import(database, same, board_code="tobira-city")

    assert report.confirmations_cancelled == 0
    db.expire_all()
    assert tokens.look_up(db, "choice_confirmation", secret).ok


def _pending_request_for_keiko(db: Session) -> tuple[str, ChoiceEvent]:
    guardian = db.scalar(select(Guardian).where(Guardian.sourced_id == GUARDIAN_KEIKO))
    definition = db.scalar(select(ChoiceDefinition))
    student = db.scalar(select(Student).where(Student.sourced_id == "e5f6a7b8-0001-4c00-a000-000000000002"))
    assert guardian is not None and definition is not None and student is not None
    request = ChoiceEvent(
        board_id=guardian.board_id,
        student_id=student.id,
        definition_id=definition.id,
        kind="requested",
        value="hide",
        channel="web",
        guardian_id=guardian.id,
    )
    db.add(request)
    db.flush()
    secret, _token = tokens.issue(
        db,
        "choice_confirmation",
        timedelta(days=3),
        board_id=guardian.board_id,
        guardian_id=guardian.id,
        choice_event_id=request.id,
    )
    db.commit()
    return secret, request

"""Small factories for staff, export and API tests (no demo seeder)."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.domain.accounts.models import Account, StaffRole
from app.domain.boards.models import Board
from app.domain.catalog.models import (
    ChoiceDefinition,
    DataCategory,
    Service,
    ServiceAssignment,
    ServiceVersion,
    ServiceVersionCategory,
)
from app.domain.choices import service as choices
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, Student
from tests.helpers import translate

_seq = itertools.count(1)


def board(db: Session, code: str = "B1", name: str = "さいたま市教育委員会") -> Board:
    row = Board(code=code, name=name)
    db.add(row)
    db.flush()
    translate(db, row, name="Saitama City Board of Education")
    return row


def school(db: Session, board: Board, code: str = "S1", name: str = "第一小学校") -> School:
    row = School(board_id=board.id, sourced_id=f"org-{code}", code=code, name=name)
    db.add(row)
    db.flush()
    translate(db, row, name=f"School {code}")
    return row


def school_class(db: Session, school: School, title: str = "1組", grade: str = "P3") -> SchoolClass:
    row = SchoolClass(
        board_id=school.board_id,
        school_id=school.id,
        sourced_id=f"class-{next(_seq)}",
        title=title,
        grade=grade,
    )
    db.add(row)
    db.flush()
    return row


def student(
    db: Session,
    school: School,
    *,
    klass: SchoolClass | None = None,
    family: str = "山田",
    given: str = "花子",
    family_kana: str = "やまだ",
    given_kana: str = "はなこ",
    grade: str = "P3",
    number: int | None = None,
    sourced_id: str | None = None,
) -> Student:
    n = next(_seq)
    row = Student(
        board_id=school.board_id,
        school_id=school.id,
        class_id=klass.id if klass else None,
        sourced_id=sourced_id or f"stu-{n}",
        family_name=family,
        given_name=given,
        family_name_kana=family_kana,
        given_name_kana=given_kana,
        grade=grade,
        attendance_number=number if number is not None else n,
    )
    db.add(row)
    db.flush()
    return row


def guardian(db: Session, board: Board, student: Student, email: str, language: str = "ja") -> Guardian:
    row = Guardian(
        board_id=board.id,
        sourced_id=f"gdn-{next(_seq)}",
        family_name="山田",
        given_name="太郎",
        email=email,
        preferred_language=language,
    )
    db.add(row)
    db.flush()
    db.add(GuardianStudent(guardian_id=row.id, student_id=student.id))
    db.flush()
    return row


def staff(
    db: Session, board: Board, role: str, school: School | None = None, email: str | None = None
) -> Account:
    n = next(_seq)
    account = Account(
        issuer="https://idp.test",
        subject=f"staff-{n}",
        kind="staff",
        email=email or f"staff{n}@school.test",
        display_name=f"Staff {n}",
    )
    db.add(account)
    db.flush()
    db.add(
        StaffRole(
            board_id=board.id, school_id=school.id if school else None, account_id=account.id, role=role
        )
    )
    db.flush()
    return account


def dashboard_service(
    db: Session, board: Board, code: str = "dashboard", categories: tuple[str, ...] = ()
) -> tuple[Service, ServiceVersion, ChoiceDefinition]:
    """A School Dashboard service (version 1) with a hide_all / hide_some choice."""
    service = Service(board_id=board.id, code=code)
    db.add(service)
    db.flush()
    version = ServiceVersion(
        service_id=service.id,
        version=1,
        name="スクールダッシュボード",
        use_group="dashboard",
        vendor_name="教育データ研究所",
    )
    db.add(version)
    db.flush()
    translate(db, version, board_id=board.id, name="School Dashboard")
    vocab = list(db.scalars(select(DataCategory).order_by(DataCategory.sort_order)))
    chosen = [c for c in vocab if not categories or c.code in categories][:3]
    for category in chosen:
        db.add(ServiceVersionCategory(service_version_id=version.id, category_id=category.id, items="氏名"))
    db.add(ServiceAssignment(service_id=service.id))
    definition = ChoiceDefinition(
        board_id=board.id,
        service_id=service.id,
        code="hide",
        kind="categories",
        options=["show", "hide_all", "hide_some"],
        default_value="show",
        category_codes=[c.code for c in chosen],
        label="ダッシュボードでの表示",
    )
    db.add(definition)
    db.flush()
    translate(db, definition, label="Shown on the dashboard")
    return service, version, definition


def confirmed(
    db: Session,
    definition: ChoiceDefinition,
    student: Student,
    value: str,
    categories: list[str] | None = None,
    *,
    channel: str = "web",
    at: datetime | None = None,
) -> ChoiceEvent:
    """A confirmed choice through the real choices service; `at` back-dates it."""
    event = choices.record_confirmed(
        db,
        definition=definition,
        student_id=student.id,
        value=value,
        category_codes=categories or [],
        channel=channel,
        reason="",
        actor_account_id=None,
    )
    if at is not None:  # back-dating rewrites an append-only row: allowed to tests alone
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SET LOCAL tobira.removal = 'on'"))
        event.created_at = at
        current = db.scalar(select(CurrentChoice).where(CurrentChoice.event_id == event.id))
        assert current is not None
        current.effective_since = at
        db.flush()
    return event


def pending(db: Session, definition: ChoiceDefinition, student: Student, value: str) -> ChoiceEvent:
    event = ChoiceEvent(
        board_id=definition.board_id,
        student_id=student.id,
        definition_id=definition.id,
        kind="requested",
        value=value,
        category_codes=[],
        channel="web",
    )
    db.add(event)
    db.flush()
    return event

"""Small factories for sign-in tests: a board with schools, classes, students, guardians."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from app.domain.accounts.models import Account, StaffRole
from app.domain.boards.models import Board
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, Student

_seq = itertools.count(1)


def board(db: Session, **kw: Any) -> Board:
    n = next(_seq)
    row = Board(code=kw.pop("code", f"B{n}"), name=kw.pop("name", f"テスト市教育委員会{n}"), **kw)
    db.add(row)
    db.flush()
    return row


def school(db: Session, board_row: Board, **kw: Any) -> School:
    n = next(_seq)
    row = School(
        board_id=board_row.id,
        sourced_id=f"school-{n}",
        code=kw.pop("code", f"S{n}"),
        name=kw.pop("name", f"テスト小学校{n}"),
        **kw,
    )
    db.add(row)
    db.flush()
    return row


def school_class(db: Session, school_row: School, **kw: Any) -> SchoolClass:
    n = next(_seq)
    row = SchoolClass(
        board_id=school_row.board_id,
        school_id=school_row.id,
        sourced_id=f"class-{n}",
        title=kw.pop("title", f"{n}組"),
        grade=kw.pop("grade", "P3"),
        **kw,
    )
    db.add(row)
    db.flush()
    return row


def student(db: Session, class_row: SchoolClass, **kw: Any) -> Student:
    n = next(_seq)
    row = Student(
        board_id=class_row.board_id,
        school_id=class_row.school_id,
        class_id=class_row.id,
        sourced_id=f"student-{n}",
        family_name=kw.pop("family_name", "山田"),
        given_name=kw.pop("given_name", f"太郎{n}"),
        grade=class_row.grade,
        attendance_number=kw.pop("attendance_number", n % 40 + 1),
        **kw,
    )
    db.add(row)
    db.flush()
    return row


def guardian(db: Session, board_row: Board, **kw: Any) -> Guardian:
    n = next(_seq)
    row = Guardian(
        board_id=board_row.id,
        sourced_id=f"guardian-{n}",
        family_name=kw.pop("family_name", "山田"),
        given_name=kw.pop("given_name", f"花子{n}"),
        email=kw.pop("email", f"guardian{n}@example.jp"),
        **kw,
    )
    db.add(row)
    db.flush()
    return row


def guardian_student(db: Session, guardian_row: Guardian, student_row: Student) -> GuardianStudent:
    row = GuardianStudent(guardian_id=guardian_row.id, student_id=student_row.id)
    db.add(row)
    db.flush()
    return row


def family(
    db: Session, class_row: SchoolClass, **guardian_kw: Any
) -> tuple[Guardian, Student, GuardianStudent]:
    """One guardian with one child in `class_row`."""
    board_row = db.get(Board, class_row.board_id)
    assert board_row is not None
    g = guardian(db, board_row, **guardian_kw)
    s = student(db, class_row)
    return g, s, guardian_student(db, g, s)


def staff_account(
    db: Session, board_row: Board, role: str, school_row: School | None = None, **kw: Any
) -> Account:
    n = next(_seq)
    account = Account(issuer="https://idp.test", subject=f"staff-{n}", kind="staff", email=kw.get("email"))
    db.add(account)
    db.flush()
    db.add(
        StaffRole(
            board_id=board_row.id,
            school_id=school_row.id if school_row else None,
            account_id=account.id,
            role=role,
        )
    )
    db.flush()
    return account


def guardian_account(db: Session, *guardians: Guardian) -> Account:
    from app.domain.accounts.models import AccountGuardian

    n = next(_seq)
    account = Account(issuer="https://idp.test", subject=f"guardian-{n}", kind="guardian")
    db.add(account)
    db.flush()
    for g in guardians:
        db.add(AccountGuardian(account_id=account.id, guardian_id=g.id, method="enrolment_code"))
    db.flush()
    return account

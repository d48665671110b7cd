"""The reads of requests, each one statement: a guardian's own, and the staff queue.

Staff see the requests of students at the schools they administer (every school of the board
for a board administrator); anything else is absent, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, case, select
from sqlalchemy.orm import Session

from app.domain.people.models import Guardian, School, Student
from app.domain.requests.models import OPEN_STATUSES, GuardianRequest

QUEUE_SIZE = 200


@dataclass(frozen=True)
class QueueRow:
    request: GuardianRequest
    student: Student
    school: School
    guardian: Guardian


def for_child(db: Session, guardian_ids: Collection[int], student_id: int) -> list[GuardianRequest]:
    """The requests these guardians made about this child, newest first."""
    if not guardian_ids:
        return []
    return list(
        db.scalars(
            select(GuardianRequest)
            .where(
                GuardianRequest.student_id == student_id,
                GuardianRequest.guardian_id.in_(sorted(guardian_ids)),
            )
            .order_by(GuardianRequest.received_at.desc(), GuardianRequest.id.desc())
        )
    )


def find_for_guardian(
    db: Session, guardian_ids: Collection[int], student_id: int, request_id: int
) -> GuardianRequest | None:
    if not guardian_ids:
        return None
    return db.scalar(
        select(GuardianRequest).where(
            GuardianRequest.id == request_id,
            GuardianRequest.student_id == student_id,
            GuardianRequest.guardian_id.in_(sorted(guardian_ids)),
        )
    )


def _staff_filter(board_id: int, school_ids: Collection[int] | None) -> ColumnElement[bool]:
    clause = (GuardianRequest.board_id == board_id) & (Student.board_id == board_id)
    if school_ids is not None:
        clause = clause & Student.school_id.in_(sorted(school_ids))
    return clause


def _rows_query(
    board_id: int, school_ids: Collection[int] | None
) -> Select[GuardianRequest, Student, School, Guardian]:
    return (
        select(GuardianRequest, Student, School, Guardian)
        .join(Student, Student.id == GuardianRequest.student_id)
        .join(School, School.id == Student.school_id)
        .join(Guardian, Guardian.id == GuardianRequest.guardian_id)
        .where(_staff_filter(board_id, school_ids))
    )


def queue(
    db: Session, board_id: int, school_ids: Collection[int] | None, *, include_done: bool = False
) -> list[QueueRow]:
    """Open requests by due date (the most urgent first), then, if asked, the answered ones."""
    query = _rows_query(board_id, school_ids)
    if not include_done:
        query = query.where(GuardianRequest.status.in_(OPEN_STATUSES))
    open_first = case((GuardianRequest.status.in_(OPEN_STATUSES), 0), else_=1)
    rows = db.execute(
        query.order_by(open_first, GuardianRequest.due_on, GuardianRequest.id).limit(QUEUE_SIZE)
    ).all()
    return [QueueRow(*row) for row in rows]


def find_for_staff(
    db: Session, board_id: int, school_ids: Collection[int] | None, request_id: int
) -> QueueRow | None:
    row = db.execute(_rows_query(board_id, school_ids).where(GuardianRequest.id == request_id)).first()
    return QueueRow(*row) if row is not None else None

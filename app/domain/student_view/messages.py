"""A student's message to their school about a service, and staff marking it handled.

Sending changes no choice: it is a note for the school ("I would like my guardian to look at
this"). Both steps are audited in the request's transaction.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.db import utcnow
from app.domain.audit.service import Actor, record
from app.domain.catalog.service import services_for_student
from app.domain.people.models import Student
from app.domain.student_view.models import TEXT_LIMIT, StudentMessage
from app.domain.tokens import service as tokens
from app.errors import Invalid, NotFound, RateLimited
from app.i18n import N_

# Per student account: a few messages an hour is plenty for a note to the school.
SEND_LIMIT, SEND_WINDOW = 5, timedelta(hours=1)


def clean_text(text: str) -> str:
    """The note as stored: CRLF made LF, trimmed; refused when too long or with control characters."""
    text = text.replace("\r\n", "\n").strip()
    if len(text) > TEXT_LIMIT:
        raise Invalid(fields={"text": N_("Please write 400 characters or fewer.")})
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in "\n\t" for ch in text):
        raise Invalid(
            fields={"text": N_("The message has characters that cannot be used. Please write it again.")}
        )
    return text


def send(db: Session, *, student: Student, account_id: int, service_id: int, text: str) -> StudentMessage:
    """Store the message (the service must cover this student, else NotFound)."""
    if tokens.rate_limited(
        db, tokens.rate_key("student-message", str(account_id)), limit=SEND_LIMIT, window=SEND_WINDOW
    ):
        raise RateLimited(retry_after=int(SEND_WINDOW.total_seconds()))
    if not any(view.service.id == service_id for view in services_for_student(db, student)):
        raise NotFound()
    message = StudentMessage(
        board_id=student.board_id,
        school_id=student.school_id,
        student_id=student.id,
        service_id=service_id,
        account_id=account_id,
        text=clean_text(text),
    )
    db.add(message)
    db.flush()
    record(
        db,
        "students.message_sent",
        actor=Actor.account(account_id),
        board_id=student.board_id,
        target_type="student_message",
        target_id=message.id,
        details={"student_id": student.id, "service_id": service_id, "has_text": bool(message.text)},
    )
    return message


def for_staff(
    db: Session,
    *,
    board_id: int,
    school_ids: Collection[int] | None,
    open_only: bool,
    student_id: int | None = None,
    limit: int = 200,
) -> list[StudentMessage]:
    """Messages of these schools (None: the whole board), newest first, student loaded;
    with `student_id`, only that student's."""
    query = (
        select(StudentMessage)
        .options(joinedload(StudentMessage.student).joinedload(Student.school))
        .where(StudentMessage.board_id == board_id)
        .order_by(StudentMessage.id.desc())
        .limit(limit)
    )
    if school_ids is not None:
        query = query.where(StudentMessage.school_id.in_(sorted(school_ids)))
    if open_only:
        query = query.where(StudentMessage.handled_at.is_(None))
    if student_id is not None:
        query = query.where(StudentMessage.student_id == student_id)
    return list(db.scalars(query))


def mark_handled(
    db: Session, *, board_id: int, school_ids: Collection[int] | None, message_id: int, account_id: int
) -> StudentMessage:
    """Out of scope is NotFound; marking a handled message again changes nothing."""
    message = db.get(StudentMessage, message_id)
    if (
        message is None
        or message.board_id != board_id
        or (school_ids is not None and message.school_id not in school_ids)
    ):
        raise NotFound()
    if message.handled_at is None:
        message.handled_at = utcnow()
        message.handled_by_account_id = account_id
        db.flush()
        record(
            db,
            "students.message_handled",
            actor=Actor.account(account_id),
            board_id=board_id,
            target_type="student_message",
            target_id=message.id,
            details={"student_id": message.student_id},
        )
    return message

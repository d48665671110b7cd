"""Guardians' requests: submit, extend, answer, close. Every step is audited; the guardian is
e-mailed in their language on receipt, extension and answer.

Services flush and never commit; bad input raises `Invalid` (field → msgid) before anything
is written.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.domain.audit.service import ANONYMOUS, Actor, record
from app.domain.boards.models import Board
from app.domain.notifications.service import queue_email
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, Student
from app.domain.requests.labels import LABELS
from app.domain.requests.models import OPEN_STATUSES, REQUEST_KINDS, GuardianRequest
from app.errors import Conflict, Invalid
from app.i18n import N_

JST = ZoneInfo("Asia/Tokyo")
DETAILS_MAX = 2000
REASON_MAX = 1000
ANSWER_MAX = 10000
# Requests one guardian may have waiting for an answer about one child.
OPEN_AT_MOST = 5
# The longest a due date may move from the day of receipt (the statutory 30 days, a 30-day
# extension, and the special extension for a large volume, which the law leaves open).
LONGEST_DAYS = 365
# Control characters other than tab and line breaks are refused in any text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def today_jst(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(JST).date()


def due_date(received_at: datetime, days: int) -> date:
    """`days` days after the day of receipt in Japan time."""
    return today_jst(received_at) + timedelta(days=days)


def _text_problem(value: str, limit: int, *, required: bool, too_long: str, empty: str) -> str | None:
    if required and not value.strip():
        return empty
    if len(value) > limit:
        return too_long
    if CONTROL.search(value):
        return N_("Remove the control characters from the text.")
    return None


def _open_count(db: Session, student_id: int, guardian_id: int) -> int:
    return int(
        db.scalar(
            select(func.count())
            .select_from(GuardianRequest)
            .where(
                GuardianRequest.student_id == student_id,
                GuardianRequest.guardian_id == guardian_id,
                GuardianRequest.status.in_(OPEN_STATUSES),
            )
        )
        or 0
    )


def _link(settings: Settings, request: GuardianRequest) -> str:
    return f"{settings.base_url.rstrip('/')}/children/{request.student_id}/data-requests/{request.id}"


def _mail(db: Session, settings: Settings, request: GuardianRequest, template: str, purpose: str) -> None:
    guardian = db.get_one(Guardian, request.guardian_id)
    if not guardian.email:
        return
    student = db.get_one(Student, request.student_id)
    queue_email(
        db,
        to=guardian.email,
        template=template,
        context={
            "guardian": guardian,
            "student": student,
            "request": request,
            "url": _link(settings, request),
            "LABELS": LABELS,
        },
        purpose=purpose,
        language=language_of(guardian),
        board_id=request.board_id,
    )


def _audit(db: Session, action: str, request: GuardianRequest, actor: Actor, **details: Any) -> None:
    record(
        db,
        action,
        actor=actor,
        board_id=request.board_id,
        target_type="guardian_request",
        target_id=request.id,
        details={"student_id": request.student_id, "kind": request.kind, **details},
    )


def submit(
    db: Session,
    settings: Settings,
    *,
    student: Student,
    guardian: Guardian,
    account_id: int | None,
    kind: str,
    details: str,
) -> GuardianRequest:
    problems: dict[str, str] = {}
    if kind not in REQUEST_KINDS:
        problems["kind"] = N_("Choose what you are asking for.")
    problem = _text_problem(
        details,
        DETAILS_MAX,
        required=kind == "correction",
        too_long=N_("The details are too long (2,000 characters at most)."),
        empty=N_("Write what should be corrected."),
    )
    if problem:
        problems["details"] = problem
    if not problems and _open_count(db, student.id, guardian.id) >= OPEN_AT_MOST:
        problems["kind"] = N_(
            "You already have 5 requests about this child waiting for an answer. Please wait for their answers."  # noqa: E501
        )
    if problems:
        raise Invalid(fields=problems)
    board = db.get_one(Board, student.board_id)
    now = utcnow()
    due = due_date(now, board.request_answer_days)
    request = GuardianRequest(
        board_id=student.board_id,
        school_id=student.school_id,
        student_id=student.id,
        guardian_id=guardian.id,
        account_id=account_id,
        kind=kind,
        details=details.strip(),
        status="received",
        received_at=now,
        due_on=due,
        original_due_on=due,
    )
    db.add(request)
    db.flush()
    actor = Actor.account(account_id) if account_id else ANONYMOUS
    _audit(db, "guardian_request.received", request, actor, due_on=due.isoformat())
    _mail(db, settings, request, "email/guardian_request_received.txt", "request_received")
    return request


def _must_be_open(request: GuardianRequest) -> None:
    if request.status not in OPEN_STATUSES:
        raise Conflict("This request has already been answered.")


def extend(
    db: Session,
    settings: Settings,
    request: GuardianRequest,
    *,
    actor_account_id: int,
    new_due: str,
    reason: str,
) -> GuardianRequest:
    _must_be_open(request)
    problems: dict[str, str] = {}
    try:
        wanted = date.fromisoformat(new_due.strip())
    except ValueError:
        problems["due_on"] = N_("Enter the new due date as a date, for example 2027-01-15.")
    else:
        if wanted <= request.due_on:
            problems["due_on"] = N_("The new due date must be later than the current one.")
        elif wanted > today_jst(request.received_at) + timedelta(days=LONGEST_DAYS):
            problems["due_on"] = N_("The new due date must be within a year of the day the request arrived.")
    problem = _text_problem(
        reason,
        REASON_MAX,
        required=True,
        too_long=N_("The reason is too long (1,000 characters at most)."),
        empty=N_("Write the reason for the extension; the guardian is told it."),
    )
    if problem:
        problems["reason"] = problem
    if problems:
        raise Invalid(fields=problems)
    previous = request.due_on
    request.due_on = wanted
    request.extension_reason = reason.strip()
    request.extended_at = utcnow()
    request.status = "extended"
    db.flush()
    _audit(
        db,
        "guardian_request.extended",
        request,
        Actor.account(actor_account_id),
        previous_due_on=previous.isoformat(),
        due_on=wanted.isoformat(),
    )
    _mail(db, settings, request, "email/guardian_request_extended.txt", "request_extended")
    return request


def answer(
    db: Session, settings: Settings, request: GuardianRequest, *, actor_account_id: int, text: str
) -> GuardianRequest:
    _must_be_open(request)
    problem = _text_problem(
        text,
        ANSWER_MAX,
        required=True,
        too_long=N_("The answer is too long (10,000 characters at most)."),
        empty=N_("Write the answer to the guardian."),
    )
    if problem:
        raise Invalid(fields={"answer": problem})
    now = utcnow()
    request.answer = text.strip()
    request.answered_at = now
    request.answered_by_account_id = actor_account_id
    request.status = "answered"
    db.flush()
    _audit(
        db,
        "guardian_request.answered",
        request,
        Actor.account(actor_account_id),
        on_time=today_jst(now) <= request.due_on,
    )
    _mail(db, settings, request, "email/guardian_request_answered.txt", "request_answered")
    return request


def close(db: Session, request: GuardianRequest, *, actor_account_id: int) -> GuardianRequest:
    if request.status != "answered":
        raise Conflict("Answer the request before closing it.")
    request.status = "closed"
    request.closed_at = utcnow()
    db.flush()
    _audit(db, "guardian_request.closed", request, Actor.account(actor_account_id))
    return request


def set_answer_days(db: Session, board: Board, days: int) -> bool:
    """The board's answer period in days from receipt (1–60); True when it changed."""
    if not 1 <= days <= 60:
        raise Invalid(fields={"answer_days": N_("The answer period must be between 1 and 60 days.")})
    if board.request_answer_days == days:
        return False
    board.request_answer_days = days
    db.flush()
    return True

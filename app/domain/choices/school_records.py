"""A choice the school records on a guardian's word (paper form, phone, in person).

It takes effect at once, and it is the family's latest word: any request still waiting for a
guardian's confirmation for the same child and choice is closed (`cancelled`, reason
SUPERSEDED_BY_SCHOOL) and its links stop working, so an older link can never overturn it.
Every guardian with an address on file is told; the one whose request was closed is told so.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.boards.models import Board
from app.domain.catalog.models import ChoiceDefinition, ServiceVersion
from app.domain.catalog.queries import category_names
from app.domain.choices.guardian_queries import guardians_of
from app.domain.choices.labels import LABELS
from app.domain.choices.models import SUPERSEDED_BY_SCHOOL, ChoiceEvent, CurrentChoice
from app.domain.choices.requests import revoke_links
from app.domain.choices.service import close_request, pending_requests, record_confirmed
from app.domain.notifications.service import queue_email
from app.domain.people.language import language_of
from app.domain.people.models import Student
from app.i18n import localized


def record_for_guardian(
    db: Session,
    *,
    definition: ChoiceDefinition,
    service_version: ServiceVersion | None,  # None: a board-wide choice (ADR 0092)
    student: Student,
    value: str,
    category_codes: list[str],
    channel: str,
    reason: str,
    actor_account_id: int,
    guardian_id: int | None,
    base_url: str,
) -> ChoiceEvent:
    """Record the school's entry, close what it supersedes and tell the child's guardians."""
    superseded = pending_requests(db, student.id, definition.id)
    for request in superseded:
        revoke_links(db, request.id)
        close_request(
            db,
            request,
            "cancelled",
            actor_account_id=actor_account_id,
            channel=channel,
            reason=SUPERSEDED_BY_SCHOOL,
        )
    event = record_confirmed(
        db,
        definition=definition,
        student_id=student.id,
        value=value,
        category_codes=category_codes,
        channel=channel,
        reason=reason,
        actor_account_id=actor_account_id,
        guardian_id=guardian_id,
    )
    event.definition = definition
    closed_for = {request.guardian_id: request for request in superseded}
    names = category_names(db)
    board = db.get_one(Board, student.board_id)
    for guardian in guardians_of(db, student.id):
        if not guardian.email:
            continue
        queue_email(
            db,
            to=guardian.email,
            template="email/staff_choice_recorded.txt",
            context={
                "guardian": guardian,
                "student": student,
                "school_name": localized(student.school, "name"),
                "board_name": localized(board, "name"),
                "contact": " / ".join(part for part in (board.contact_phone, board.contact_email) if part),
                "child_url": f"{base_url.rstrip('/')}/children/{student.id}",
                "version": service_version,
                "definition": definition,
                "event": event,
                "superseded": closed_for.get(guardian.id),
                "category_map": names,
                "LABELS": LABELS,
            },
            purpose="staff_choice_recorded",
            language=language_of(guardian),
            board_id=student.board_id,
        )
    return event


Standing = dict[int, list[tuple[ChoiceDefinition, CurrentChoice]]]


def standing_choices(db: Session, student_ids: list[int]) -> Standing:
    """What each listed student's family has chosen away from the default, in one statement:
    the column a school clerk scans in the student list."""
    if not student_ids:
        return {}
    rows = db.execute(
        select(CurrentChoice, ChoiceDefinition)
        .join(ChoiceDefinition, ChoiceDefinition.id == CurrentChoice.definition_id)
        .where(CurrentChoice.student_id.in_(student_ids))
        .order_by(CurrentChoice.student_id, ChoiceDefinition.id)
    ).all()
    standing: Standing = {}
    for current, definition in rows:
        if current.value != definition.default_value:
            standing.setdefault(current.student_id, []).append((definition, current))
    return standing

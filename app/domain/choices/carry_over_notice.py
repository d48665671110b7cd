"""Telling guardians that the school has recorded their earlier request in Tobira (the
optional e-mail of a carry-over, ADR 0084): one mail per guardian, however many of their
children's choices were carried over, in the guardian's language, through the outbox in the
import's own transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.boards.models import Board
from app.domain.catalog.models import ChoiceDefinition
from app.domain.catalog.queries import category_names
from app.domain.choices.labels import LABELS
from app.domain.notifications.service import queue_email
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, GuardianStudent, Student


@dataclass(frozen=True)
class Carried:
    student: Student
    definition: ChoiceDefinition
    value: str
    category_codes: list[str]
    received_on: date


def notify_guardians(db: Session, board_id: int, carried: Sequence[Carried], *, base_url: str) -> int:
    """Queue one e-mail per active guardian (with an address) of the carried-over children."""
    if not carried:
        return 0
    by_student: dict[int, list[Carried]] = defaultdict(list)
    for item in carried:
        by_student[item.student.id].append(item)
    rows = db.execute(
        select(Guardian, GuardianStudent.student_id)
        .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
        .where(
            GuardianStudent.student_id.in_(by_student),
            GuardianStudent.status == "active",
            Guardian.status == "active",
            Guardian.board_id == board_id,
        )
        .order_by(Guardian.id, GuardianStudent.student_id)
    )
    guardians: dict[int, Guardian] = {}
    items: dict[int, list[Carried]] = defaultdict(list)
    for guardian, student_id in rows:
        guardians[guardian.id] = guardian
        items[guardian.id].extend(by_student[student_id])
    board = db.get_one(Board, board_id)
    categories = category_names(db)
    sent = 0
    for guardian_id, guardian in guardians.items():
        if not guardian.email:
            continue
        queue_email(
            db,
            to=guardian.email,
            template="email/choices_carried_over.txt",
            context={
                "guardian": guardian,
                "board": board,
                "items": items[guardian_id],
                "category_map": categories,
                "LABELS": LABELS,
                "base_url": base_url.rstrip("/"),
            },
            purpose="carried_over",
            language=language_of(guardian),
            board_id=board_id,
        )
        sent += 1
    return sent

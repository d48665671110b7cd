"""Choices some families already made on paper, so exports and the API have something to show.

Written the way staff record a paper form (see app/choices/models.py): a `requested` and a
`confirmed` event together, with a receipt id, and the CurrentChoice projection. The story
family (roster guardians 1 and 2) is left untouched so its first choice is the guardian's own.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.choices.models import ChoiceDefinition, ChoiceEvent, CurrentChoice
from app.db import utcnow
from app.roster.models import GuardianStudent, Student

REASON = "紙の届出（デモ用に登録）"
# (definition code, every n-th student, values in turn, categories for hide_some)
PLAN: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("dashboard_display", 9, ("hide_all", "hide_some")),
    ("class_photos", 13, ("deny",)),
)
HIDE_SOME_CATEGORIES = ["grades", "guidance"]


def seed_paper_choices(db: Session, board_id: int, notice_version_id: int, skip_students: set[int]) -> int:
    definitions = {
        d.code: d for d in db.scalars(select(ChoiceDefinition).where(ChoiceDefinition.board_id == board_id))
    }
    students = db.scalars(
        select(Student).where(Student.board_id == board_id).order_by(Student.sourced_id)
    ).all()
    first_guardian = dict(
        db.execute(
            select(GuardianStudent.student_id, GuardianStudent.guardian_id).order_by(
                GuardianStudent.id.desc()
            )
        )
        .tuples()
        .all()
    )
    now = utcnow()
    pairs: list[tuple[ChoiceEvent, dict[str, object]]] = []
    for code, step, values in PLAN:
        definition: ChoiceDefinition = definitions[code]
        chosen = [s for s in students if s.id not in skip_students][step - 1 :: step]
        for turn, student in enumerate(chosen):
            value = values[turn % len(values)]
            common: dict[str, object] = {
                "board_id": board_id,
                "student_id": student.id,
                "definition_id": definition.id,
                "value": value,
                "category_codes": HIDE_SOME_CATEGORIES if value == "hide_some" else [],
                "channel": "paper",
                "reason": REASON,
                "guardian_id": first_guardian.get(student.id),
                "notice_version_id": notice_version_id,
                "created_at": now,
            }
            pairs.append((ChoiceEvent(kind="requested", **common), common))
    db.add_all(requested for requested, _common in pairs)
    db.flush()
    confirmed = [
        ChoiceEvent(kind="confirmed", request_id=requested.id, receipt_id=str(uuid.uuid4()), **common)
        for requested, common in pairs
    ]
    db.add_all(confirmed)
    db.flush()
    db.add_all(
        CurrentChoice(
            board_id=board_id,
            student_id=event.student_id,
            definition_id=event.definition_id,
            value=event.value,
            category_codes=event.category_codes,
            event_id=event.id,
            channel="paper",
            effective_since=now,
        )
        for event in confirmed
    )
    count = len(confirmed)
    db.flush()
    return count

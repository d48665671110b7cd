"""Choices some families already made on paper, so exports and the API have something to show.

Recorded through the same service staff use for a paper form (requested + confirmed at
once, with a receipt id, the current-choice projection and audit events). The story
family (roster guardians 1 and 2) is left untouched so its first choice is the guardian's own.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.catalog.models import ChoiceDefinition
from app.domain.choices import service as choices
from app.domain.people.models import GuardianStudent, Student

REASON = "紙の届出（デモ用に登録）"
# (definition code, every n-th student, values in turn, categories for hide_some)
PLAN: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("dashboard_display", 9, ("hide_all", "hide_some")),
    ("class_photos", 13, ("deny",)),
)
HIDE_SOME_CATEGORIES = ["grades", "guidance"]


def seed_paper_choices(db: Session, board_id: int, skip_students: set[int]) -> int:
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
        ).all()
    )
    recorded = 0
    for code, step, values in PLAN:
        definition: ChoiceDefinition = definitions[code]
        chosen = [s for s in students if s.id not in skip_students][step - 1 :: step]
        for turn, student in enumerate(chosen):
            value = values[turn % len(values)]
            choices.record_confirmed(
                db,
                definition=definition,
                student_id=student.id,
                value=value,
                category_codes=HIDE_SOME_CATEGORIES if value == "hide_some" else [],
                channel="paper",
                reason=REASON,
                actor_account_id=None,
                guardian_id=first_guardian.get(student.id),
            )
            recorded += 1
    return recorded

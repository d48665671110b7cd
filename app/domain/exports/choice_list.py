"""The choice list (`/api/v1/choice-list`, ADR 0092): every kind of choice, as values.

The hide list answers "whose data must be hidden" for a service choice whose non-default
value hides. An opt-in choice (default "deny") or a board-wide one (no service) does not fit
that question: what matters downstream is who chose something other than the default — for an
opt-in choice, who has *allowed*. So this list carries, per student, the confirmed `value`
that differs from the definition's `default`, and the definition's kind, options and default,
so that a downstream system applies either rule: everyone not listed has the default.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.catalog.models import ChoiceDefinition, Service
from app.domain.choices.models import CurrentChoice
from app.domain.choices.service import hidden_by
from app.domain.exports.feed import chosen_categories, decode_cursor, encode_cursor
from app.domain.exports.feed_schemas import ChoiceList, StudentChoice
from app.domain.people.models import Student


def find_choice(
    db: Session, board_id: int, service_code: str | None, choice_code: str
) -> tuple[ChoiceDefinition, str | None] | None:
    """A board's choice by its code and its service's code (None: a board-wide choice)."""
    query = select(ChoiceDefinition, Service.code).outerjoin(
        Service, Service.id == ChoiceDefinition.service_id
    )
    query = query.where(ChoiceDefinition.board_id == board_id, ChoiceDefinition.code == choice_code)
    if service_code is None:
        query = query.where(ChoiceDefinition.service_id.is_(None))
    else:
        query = query.where(Service.code == service_code)
    row = db.execute(query.order_by(ChoiceDefinition.id).limit(1)).first()
    return (row[0], row[1]) if row else None


def choice_list(
    db: Session, definition: ChoiceDefinition, service_code: str | None, *, cursor: str | None, limit: int
) -> ChoiceList:
    after = decode_cursor("v", cursor)
    rows = db.execute(
        select(CurrentChoice.id, Student.sourced_id, CurrentChoice.value, chosen_categories())
        .join(Student, Student.id == CurrentChoice.student_id)
        .where(
            CurrentChoice.definition_id == definition.id,
            CurrentChoice.board_id == definition.board_id,
            CurrentChoice.value != definition.default_value,
            CurrentChoice.id > after,
        )
        .order_by(CurrentChoice.id)
        .limit(limit + 1)
    ).all()
    items = [
        StudentChoice(
            student_id=sourced_id,
            value=value,
            categories=hidden_by(definition, value, chosen or []) if definition.kind == "categories" else [],
        )
        for _id, sourced_id, value, chosen in rows[:limit]
    ]
    return ChoiceList(
        service=service_code,
        choice=definition.code,
        kind=definition.kind,
        options=list(definition.options),
        default=definition.default_value,
        status=definition.status,
        items=items,
        next_cursor=encode_cursor("v", rows[limit - 1][0]) if len(rows) > limit else None,
    )

"""Reads of the choices domain that pages share, one statement for any number of choices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.tokens.models import OneTimeToken

CONFIRMATION_PURPOSE = "choice_confirmation"


def pending_requests_for(
    db: Session, student_ids: Sequence[int], definition_ids: Sequence[int] | None = None
) -> dict[tuple[int, int], list[ChoiceEvent]]:
    """(student id, definition id) → its pending requests, oldest first."""
    if not student_ids:
        return {}
    closed = select(ChoiceEvent.request_id).where(
        ChoiceEvent.student_id.in_(student_ids), ChoiceEvent.request_id.is_not(None)
    )
    query = select(ChoiceEvent).where(
        ChoiceEvent.student_id.in_(student_ids),
        ChoiceEvent.kind == "requested",
        ChoiceEvent.id.not_in(closed),
    )
    if definition_ids is not None:
        query = query.where(ChoiceEvent.definition_id.in_(definition_ids))
    pending: dict[tuple[int, int], list[ChoiceEvent]] = {}
    for event in db.scalars(query.order_by(ChoiceEvent.id)):
        pending.setdefault((event.student_id, event.definition_id), []).append(event)
    return pending


@dataclass
class Word:
    """The family's word on one choice for one child: what is in force, what waits."""

    current: CurrentChoice | None = None
    # Pending requests, oldest first, each with the confirmation link sent last for it.
    pending: list[tuple[ChoiceEvent, OneTimeToken | None]] = field(default_factory=list)


def words_query(
    student_id: Any, definition_ids: Sequence[int]
) -> Select[ChoiceEvent, CurrentChoice, OneTimeToken]:
    """One statement: the confirmed events in force and the pending requests (with their
    links) of these choices for a student. `student_id` may be a column of an outer query."""
    closed = select(ChoiceEvent.request_id).where(
        ChoiceEvent.student_id == student_id, ChoiceEvent.request_id.is_not(None)
    )
    return (
        select(ChoiceEvent, CurrentChoice, OneTimeToken)
        .outerjoin(CurrentChoice, CurrentChoice.event_id == ChoiceEvent.id)
        .outerjoin(
            OneTimeToken,
            and_(
                ChoiceEvent.kind == "requested",
                OneTimeToken.choice_event_id == ChoiceEvent.id,
                OneTimeToken.purpose == CONFIRMATION_PURPOSE,
            ),
        )
        .where(
            ChoiceEvent.student_id == student_id,
            ChoiceEvent.definition_id.in_(definition_ids),
            or_(
                CurrentChoice.id.is_not(None),
                and_(ChoiceEvent.kind == "requested", ChoiceEvent.id.not_in(closed)),
            ),
        )
        .order_by(ChoiceEvent.id, OneTimeToken.id)
    )


def gather_words(
    rows: Sequence[tuple[ChoiceEvent, CurrentChoice | None, OneTimeToken | None]],
) -> dict[int, Word]:
    """Definition id → Word, from the rows of `words_query` (ordered by event, then link)."""
    words: dict[int, Word] = {}
    links: dict[int, OneTimeToken | None] = {}
    order: list[ChoiceEvent] = []
    for event, current, token in rows:
        word = words.setdefault(event.definition_id, Word())
        if current is not None:
            word.current = current
            continue
        if event.id not in links:
            order.append(event)
            links[event.id] = None
        if token is not None:
            links[event.id] = token  # the latest, as rows come in link order
    for event in order:
        words[event.definition_id].pending.append((event, links[event.id]))
    return words


def family_words(db: Session, student_id: int, definition_ids: Sequence[int]) -> dict[int, Word]:
    if not definition_ids:
        return {}
    return gather_words([(e, c, t) for e, c, t in db.execute(words_query(student_id, definition_ids))])

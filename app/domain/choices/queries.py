"""Reads of the choices domain that pages share, one statement for any number of choices."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.choices.models import ChoiceEvent
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


def latest_confirmation_links(db: Session, request_ids: Sequence[int]) -> dict[int, OneTimeToken]:
    """Request id → the confirmation link sent last for it."""
    if not request_ids:
        return {}
    latest: dict[int, OneTimeToken] = {}
    for token in db.scalars(
        select(OneTimeToken)
        .where(OneTimeToken.purpose == CONFIRMATION_PURPOSE, OneTimeToken.choice_event_id.in_(request_ids))
        .order_by(OneTimeToken.id)
    ):
        assert token.choice_event_id is not None
        latest[token.choice_event_id] = token
    return latest

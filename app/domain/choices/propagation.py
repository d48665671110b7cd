"""Has each downstream system applied the child's current setting? (propagation receipts)

A downstream system acknowledges the feed position it has applied (`feed_acknowledgements`,
`POST /api/v1/acknowledgements`); the child's current setting is in force at the feed
position of the child's latest confirmed event. A system has applied it when it acknowledged
that position or a later one — "applied on" is the time of the first such acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.domain.apikeys.models import ApiKey
from app.domain.choices.models import ChoiceEvent
from app.domain.evidence.models import FeedAcknowledgement
from app.domain.people.models import Student


@dataclass(frozen=True)
class Propagation:
    system: str  # the API key's name
    applied_at: datetime | None  # None: not yet applied
    has_setting: bool  # False: no choice was ever confirmed for the child (nothing to pass on)


def propagation(db: Session, student: Student) -> list[Propagation]:
    """Per live API key of the board, when it applied the child's current setting (one statement)."""
    position = (
        select(func.max(ChoiceEvent.feed_position))
        .where(ChoiceEvent.student_id == student.id, ChoiceEvent.kind == "confirmed")
        .scalar_subquery()
    )
    rows = db.execute(
        select(
            ApiKey.name,
            position,
            func.min(case((FeedAcknowledgement.position >= position, FeedAcknowledgement.acknowledged_at))),
        )
        .outerjoin(
            FeedAcknowledgement,
            and_(
                FeedAcknowledgement.api_key_id == ApiKey.id, FeedAcknowledgement.board_id == ApiKey.board_id
            ),
        )
        .where(ApiKey.board_id == student.board_id, ApiKey.revoked_at.is_(None))
        .group_by(ApiKey.id, ApiKey.name)
        .order_by(ApiKey.name, ApiKey.id)
    ).all()
    return [
        Propagation(name, applied if at is not None else None, at is not None) for name, at, applied in rows
    ]

"""Writing the evidence: one row per API response, and a downstream system's acknowledgement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.audit.service import Actor, record
from app.domain.evidence.models import ApiPickup, FeedAcknowledgement


class CursorNotServed(ValueError):
    """The cursor was never handed to this key (another key's, another board's, or made up)."""


def record_pickup(
    db: Session,
    *,
    board_id: int,
    api_key_id: int,
    kind: str,
    definition_id: int | None,
    low: int,
    high: int,
    served_position: int,
    rows: int,
) -> None:
    """One row for one API response, whatever the number of students in it."""
    db.add(
        ApiPickup(
            board_id=board_id,
            api_key_id=api_key_id,
            kind=kind,
            definition_id=definition_id,
            low=low,
            high=high,
            served_position=served_position,
            rows=rows,
        )
    )
    db.flush()


@dataclass(frozen=True)
class Acknowledged:
    position: int
    acknowledged_at: datetime
    created: bool  # False: the same cursor was acknowledged before (nothing changed)


def acknowledge(db: Session, *, board_id: int, api_key_id: int, position: int) -> Acknowledged:
    """Record that this key applied the feed up to `position`, a position it was served.

    Idempotent: the same position again answers the first acknowledgement and writes nothing."""
    existing = db.scalar(
        select(FeedAcknowledgement).where(
            FeedAcknowledgement.api_key_id == api_key_id, FeedAcknowledgement.position == position
        )
    )
    if existing is not None:
        return Acknowledged(existing.position, existing.acknowledged_at, created=False)
    served = db.scalar(
        select(ApiPickup.id)
        .where(
            ApiPickup.api_key_id == api_key_id,
            ApiPickup.board_id == board_id,
            ApiPickup.served_position == position,
        )
        .limit(1)
    )
    if served is None:
        raise CursorNotServed(position)
    row = FeedAcknowledgement(
        board_id=board_id, api_key_id=api_key_id, position=position, acknowledged_at=utcnow()
    )
    db.add(row)
    db.flush()
    record(
        db,
        "api.acknowledged",
        actor=Actor.api_key(api_key_id),
        board_id=board_id,
        target_type="api_key",
        target_id=api_key_id,
        details={"position": position},
    )
    return Acknowledged(row.position, row.acknowledged_at, created=True)

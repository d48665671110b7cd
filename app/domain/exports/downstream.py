"""How far behind each downstream system is: the board's latest feed position against the
latest position each API key acknowledged, and when it last did (two statements)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from app.domain.apikeys.models import ApiKey
from app.domain.evidence.models import FeedAcknowledgement
from app.domain.exports.feed import latest_position


@dataclass(frozen=True)
class SystemStatus:
    name: str
    prefix: str
    revoked: bool
    acknowledged_position: int | None  # None: never acknowledged
    last_acknowledged_at: datetime | None
    behind: int  # feed positions not yet acknowledged


@dataclass(frozen=True)
class DownstreamStatus:
    latest_position: int
    systems: list[SystemStatus]


def downstream_systems(db: Session, board_id: int) -> DownstreamStatus:
    latest = latest_position(db, board_id)
    rows = db.execute(
        select(
            ApiKey.name,
            ApiKey.prefix,
            ApiKey.revoked_at,
            func.max(FeedAcknowledgement.position),
            func.max(FeedAcknowledgement.acknowledged_at),
        )
        .outerjoin(
            FeedAcknowledgement,
            and_(
                FeedAcknowledgement.api_key_id == ApiKey.id, FeedAcknowledgement.board_id == ApiKey.board_id
            ),
        )
        .where(ApiKey.board_id == board_id)
        .group_by(ApiKey.id, ApiKey.name, ApiKey.prefix, ApiKey.revoked_at)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.name, ApiKey.id)
    ).all()
    systems = [
        SystemStatus(
            name=name,
            prefix=prefix,
            revoked=revoked is not None,
            acknowledged_position=None if position is None else int(position),
            last_acknowledged_at=at,
            behind=max(latest - int(position or 0), 0),
        )
        for name, prefix, revoked, position, at in rows
    ]
    return DownstreamStatus(latest, systems)

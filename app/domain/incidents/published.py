"""Incident notices sent, kept in memory with the board's catalogue (ADR 0095).

The child page shows under each service the notices sent about it; they change as rarely as
the catalogue, so they are loaded with it and a notice written or sent moves the counter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.catalog import published
from app.domain.catalog.published import Catalogue
from app.domain.incidents.models import Incident

PART = "incidents"


@dataclass(frozen=True)
class IncidentNotice:
    __tablename__: ClassVar[str] = "incidents"  # its translations are the incident's (ADR 0101)

    id: int
    service_id: int
    title: str
    body: str
    vendor_action: str
    category_codes: tuple[str, ...]
    period_start: date
    period_end: date | None
    sent_at: datetime


def _load(db: Session, board_id: int) -> dict[int, tuple[IncidentNotice, ...]]:
    """Service id → the notices sent about it, newest first (one statement)."""
    found: dict[int, list[IncidentNotice]] = defaultdict(list)
    for i in db.scalars(
        select(Incident)
        .where(Incident.board_id == board_id, Incident.sent_at.is_not(None))
        .order_by(Incident.sent_at.desc(), Incident.id.desc())
    ):
        assert i.sent_at is not None
        found[i.service_id].append(
            IncidentNotice(
                i.id,
                i.service_id,
                i.title,
                i.body,
                i.vendor_action,
                tuple(i.category_codes),
                i.period_start,
                i.period_end,
                i.sent_at,
            )
        )
    return {service_id: tuple(notices) for service_id, notices in found.items()}


def sent_notices(catalogue: Catalogue) -> dict[int, tuple[IncidentNotice, ...]]:
    notices: dict[int, tuple[IncidentNotice, ...]] = catalogue.parts.get(PART, {})
    return notices


published.add_part(PART, _load, board_rows=(Incident,))

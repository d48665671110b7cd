from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

ACTOR_TYPES = ("account", "api_key", "system", "cli", "anonymous")


class AuditEvent(Base):
    """Append-only: every staff view of student data, change, export, import and sign-in."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_board_occurred_at", "board_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    actor_type: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(100), default="")
    outcome: Mapped[str] = mapped_column(String(10), default="success")
    request_id: Mapped[str] = mapped_column(String(40), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

"""What the roster import records about its own runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow


class RosterImport(Base):
    """One run of a roster import: what it was asked to do and what it reported."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    mode: Mapped[str] = mapped_column(String(10), default="bulk")
    dry_run: Mapped[bool] = mapped_column(default=False)
    source_name: Mapped[str] = mapped_column(String(255), default="")
    progress: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)

"""Compact records of who received a child's entry, and what downstream systems applied.

- `ExportRecord` + `ExportStudent`: one row per export and one per student in it, written by
  a single INSERT … SELECT of the export's own query (no row-by-row writes).
- `ApiPickup`: one row per API response, with the range it covered (current-choice ids for
  the hide list, feed positions for the change feed) and the feed position it handed out;
  whether a child was in it is derived by a query, never written per child.
- `FeedAcknowledgement`: a downstream system's word that it applied the feed up to a position
  it was served (`POST /api/v1/acknowledgements`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

PICKUP_KINDS = ("hide_list", "changes")


class ExportRecord(Base):
    __tablename__ = "export_records"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    actor_type: Mapped[str] = mapped_column(String(20))  # account | cli | system
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    format: Mapped[str] = mapped_column(String(10))
    row_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExportStudent(Base):
    __tablename__ = "export_students"

    export_id: Mapped[int] = mapped_column(
        ForeignKey("export_records.id", ondelete="CASCADE"), primary_key=True
    )
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiPickup(Base):
    """One API response. `low` < x <= `high` is what it covered: current-choice ids (hide
    list, one choice) or feed positions (change feed, one choice or all); `served_position`
    is the feed position handed out with it (the `e…` cursor)."""

    __tablename__ = "api_pickups"
    __table_args__ = (
        Index("ix_api_pickups_api_key_served", "api_key_id", "served_position"),
        Index("ix_api_pickups_board_kind_high", "board_id", "kind", "high"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("choice_definitions.id", ondelete="CASCADE"))
    low: Mapped[int] = mapped_column(BigInteger)
    high: Mapped[int] = mapped_column(BigInteger)
    served_position: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(default=0)
    picked_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedAcknowledgement(Base):
    __tablename__ = "feed_acknowledgements"
    __table_args__ = (UniqueConstraint("api_key_id", "position"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(BigInteger)
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)

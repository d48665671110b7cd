from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow


class Incident(Base):
    """An incident at a service's vendor. A draft until sent; a sent notice is not edited.

    `sent_at`: the administrator sent it (the job is queued); `notified_at`: the job wrote the
    e-mails (`emails` of them) to the outbox."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_service_sent", "service_id", "sent_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # what happened and which data
    vendor_action: Mapped[str] = mapped_column(Text, default="")
    category_codes: Mapped[list[str]] = mapped_column(default=list)
    period_start: Mapped[date]
    period_end: Mapped[date | None]
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    emails: Mapped[int] = mapped_column(default=0)

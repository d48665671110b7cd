from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

# "sending": claimed by a dispatcher until `claimed_until`; if it dies, the claim runs out and
# the message is sent again (the one in flight is the only one that can arrive twice).
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")


class OutboxEmail(Base):
    """An e-mail written in the same transaction as the change it announces.

    The dispatcher claims due rows in a short transaction, sends each outside any
    transaction and marks it in another, with retries and backoff.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="ja")
    # What the mail is about, e.g. "choice_confirmation"; never personal data.
    purpose: Mapped[str] = mapped_column(String(40))
    # [{"filename": ..., "content_type": ..., "content": <text>}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

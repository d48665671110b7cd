from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

# "sending": claimed by a dispatcher until `claimed_until`; if it dies, the claim runs out and
# the message is sent again (the one in flight is the only one that can arrive twice).
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")


class Mailing(Base):
    """One announcement to many guardians (ADR 0099): the template and the parameters every
    message shares (ids and codes, never names or addresses). Its messages are outbox rows
    with an empty body, rendered when each is sent, in its recipient's language. `key` names
    what is announced (e.g. `service_change:<version id>`), so the announcement has one mailing
    however often its job runs; `queued_at` is set in the transaction that wrote its messages,
    so a job that runs again writes none (once per guardian without a per-row constraint)."""

    __tablename__ = "mailings"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    template: Mapped[str] = mapped_column(String(80))
    purpose: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None]


class OutboxEmail(Base):
    """An e-mail written in the same transaction as the change it announces.

    The dispatcher claims due rows in a short transaction, sends each outside any
    transaction and marks it in another, with retries and backoff. A message of a mailing
    holds no text until it is sent: the mailing, the guardian and the children it is about.
    """

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(20), default="ja")
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
    # A message of a mailing: ids resolved when it is sent (a guardian or child erased by then
    # is simply not found and the message is cancelled). Plain columns, not foreign keys: a
    # mailing writes 300,000 rows at once, and each key would be checked row by row.
    mailing_id: Mapped[int | None] = mapped_column(BigIntPK)
    guardian_id: Mapped[int | None] = mapped_column(BigIntPK)
    student_ids: Mapped[list[int] | None] = mapped_column(JSON)

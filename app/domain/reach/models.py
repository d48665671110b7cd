"""A board's reminder setting, and one row per reminder sent (ADR 0084)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

REMINDER_KINDS = ("confirmation", "service_change")
# How a reminder went: the periodic job, or a staff member by hand from the reach lists.
REMINDER_VIAS = ("job", "staff")
DEFAULT_DELAY_DAYS = 2
DEFAULT_MAX_REMINDERS = 2


class ReminderSetting(Base):
    """Per board: remind after `delay_days`, at most `max_reminders` times (no row: defaults)."""

    __tablename__ = "board_reminder_settings"

    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True)
    delay_days: Mapped[int] = mapped_column(default=DEFAULT_DELAY_DAYS)
    max_reminders: Mapped[int] = mapped_column(default=DEFAULT_MAX_REMINDERS)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Reminder(Base):
    """One reminder about one child: a request waiting for confirmation (`choice_event_id`),
    or a service version the guardian has not reviewed yet (`service_version_id`, ADR 0090)."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_request", "choice_event_id"),
        Index("ix_reminders_guardian_version", "guardian_id", "service_version_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    choice_event_id: Mapped[int | None] = mapped_column(ForeignKey("choice_events.id", ondelete="CASCADE"))
    service_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_versions.id", ondelete="CASCADE")
    )
    via: Mapped[str] = mapped_column(String(10), default="job")
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

"""A guardian's request about a child's data, and where it stands.

`received` → (`extended`) → `answered` → `closed`. The due date starts at the day of receipt
(Japan time) plus the board's answer period (30 days by default, the statutory period for a
public body) and moves only by an extension with a reason.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

# disclosure 開示, correction 訂正, stop_use 利用停止, portability データの持ち運び
REQUEST_KINDS = ("disclosure", "correction", "stop_use", "portability")
# Kinds answered with the disclosure package.
PACKAGE_KINDS = ("disclosure", "portability")
REQUEST_STATUSES = ("received", "extended", "answered", "closed")
OPEN_STATUSES = ("received", "extended")


class GuardianRequest(Base):
    __tablename__ = "guardian_requests"
    __table_args__ = (Index("ix_guardian_requests_board_status_due", "board_id", "status", "due_on"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="received")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date]
    original_due_on: Mapped[date]
    extended_at: Mapped[datetime | None]
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def overdue_on(self, today: date) -> bool:
        return self.is_open and self.due_on < today

    @property
    def has_package(self) -> bool:
        return self.kind in PACKAGE_KINDS

"""Messages students send their school about a service (ADR 0085).

Written once by the student; staff only mark one handled (who, when). The text is kept as
the student wrote it and shown escaped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigIntPK, utcnow
from app.domain.people.models import Student

MESSAGE_KINDS = ("guardian_look",)
TEXT_LIMIT = 400


class StudentMessage(Base):
    __tablename__ = "student_messages"
    __table_args__ = (Index("ix_student_messages_board_school_id", "board_id", "school_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default="guardian_look")
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]
    handled_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))

    student: Mapped[Student] = relationship(lazy="raise")

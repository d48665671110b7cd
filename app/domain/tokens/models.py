"""Single-use secrets sent to people (codes, links) and rate-limit counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

TOKEN_PURPOSES = ("enrolment_code", "email_signin", "choice_confirmation", "staff_invitation")


class OneTimeToken(Base):
    """Only the SHA-256 of the secret is stored; `used_at` makes it single-use."""

    __tablename__ = "one_time_tokens"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    guardian_id: Mapped[int | None] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    choice_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("choice_events.id", ondelete="CASCADE"), index=True
    )
    staff_role_id: Mapped[int | None] = mapped_column(ForeignKey("staff_roles.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RateLimitBucket(Base):
    """Fixed-window counter shared by all app processes (key is hashed, never raw PII)."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = (UniqueConstraint("key", "window_start"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=0)

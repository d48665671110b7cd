"""Durable background work: one row per piece of work, claimed by a worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

JOB_STATUSES = ("queued", "running", "succeeded", "failed")
ACTIVE = ("queued", "running")


class Job(Base):
    """Written in the same transaction as the change that asks for it; run by `portal worker`.

    A running job's worker renews `heartbeat_at`; a job whose heartbeat went stale (its worker
    died) is claimed again until `max_attempts`, then marked failed with `last_error`.
    `singleton_key` names work of which at most one may be queued or running (periodic jobs).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index(
            "uq_jobs_singleton_key_active",
            "singleton_key",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    # Ids and flags only: never names, e-mail addresses or secrets.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    singleton_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str] = mapped_column(String(100), default="")
    heartbeat_at: Mapped[datetime | None]
    # A message a board administrator can read; no personal data.
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

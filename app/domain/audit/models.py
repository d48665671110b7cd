from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

ACTOR_TYPES = ("account", "api_key", "system", "cli", "anonymous")


class AuditEvent(Base):
    """Append-only: every staff view of student data, change, export, import and sign-in.

    Each board's events form a hash chain (`chain.py`): `seq` counts them, `hash` covers the
    event's canonical content and `prev_hash`, so a changed, removed or reordered event is
    found by `portal audit verify`. On PostgreSQL, triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_board_occurred_at", "board_id", "occurred_at"),
        Index("uq_audit_events_board_seq", "board_id", "seq", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="RESTRICT"))
    actor_type: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(100), default="")
    outcome: Mapped[str] = mapped_column(String(10), default="success")
    request_id: Mapped[str] = mapped_column(String(40), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")


class AuditChainHead(Base):
    """The last link of a board's chain (board_key 0: events of no board). Locked while a
    transaction appends, at its commit, so links are added one transaction at a time."""

    __tablename__ = "audit_chain_heads"

    board_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="")


class AuditChainCheckpoint(Base):
    """Where a board's chain now starts after retention removed its oldest events: the `seq`
    and `hash` of the last removed event. Written by the retention run in the transaction
    that removes them, and vouched for by that run's `audit.prefix_removed` event, which
    stays in the chain; `verify` starts from the latest checkpoint. Append-only (on
    PostgreSQL the same triggers as the event logs)."""

    __tablename__ = "audit_chain_checkpoints"
    __table_args__ = (UniqueConstraint("board_key", "seq"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_key: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    removed: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Choices guardians make about services, as an append-only event log.

A ChoiceEvent of kind `requested` is pending until a `confirmed` event points back at
it (`request_id`); `cancelled` and `expired` close a request without effect. Staff
recording a paper or phone choice write `requested` and `confirmed` together.
CurrentChoice is a projection of the latest confirmed event per (student, definition),
written in the same transaction, so exports and the API read one row per student.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigIntPK, utcnow
from app.domain.catalog.models import ChoiceDefinition

EVENT_KINDS = ("requested", "confirmed", "cancelled", "expired")
CHANNELS = ("web", "paper", "phone", "in_person", "import")
# The reason of a `cancelled` event closing a guardian's request that a choice the school
# recorded replaced (a stable msgid: shown translated).
SUPERSEDED_BY_SCHOOL = "superseded by the school's record"


class ChoiceEvent(Base):
    """Append-only (PostgreSQL triggers refuse UPDATE and DELETE); nothing cascades into it."""

    __tablename__ = "choice_events"
    __table_args__ = (
        Index("ix_choice_events_student_definition", "student_id", "definition_id"),
        Index("ix_choice_events_board_kind_id", "board_id", "kind", "id"),
        Index("uq_choice_events_board_feed_position", "board_id", "feed_position", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="RESTRICT"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="RESTRICT"))
    definition_id: Mapped[int] = mapped_column(ForeignKey("choice_definitions.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(12))
    request_id: Mapped[int | None] = mapped_column(
        # NO ACTION, checked at the end of a statement: a request cannot go while its closing
        # event stays, yet one statement may remove both (retention).
        ForeignKey("choice_events.id"),
        index=True,
    )
    value: Mapped[str] = mapped_column(String(40))
    category_codes: Mapped[list[str]] = mapped_column(default=list)
    channel: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="SET NULL"))
    notice_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("notice_versions.id", ondelete="SET NULL")
    )
    # Receipt id (UUID) for confirmed events.
    receipt_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    # Confirmed events only: the board's change-feed position, assigned in commit order
    # (FeedCounter); the feed's cursor is a position, never an id.
    feed_position: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A choice the school received before Tobira (carried over): the day and how it came
    # (paper, email, phone, in_person), shown to the guardian on the history and the receipt.
    received_on: Mapped[date | None]
    received_by: Mapped[str] = mapped_column(String(12), default="")
    # The version of the choice's wording the guardian was shown (ADR 0092); null = version 1.
    definition_version: Mapped[int | None]

    definition: Mapped[ChoiceDefinition] = relationship(lazy="raise")


class FeedCounter(Base):
    """The last change-feed position a board handed out. Taking the next one locks this row
    until the confirming transaction ends, so positions become visible in the order they
    were given: a reader that has seen position n has seen every position below n."""

    __tablename__ = "feed_counters"

    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)


class CurrentChoice(Base):
    """Effective value per (student, definition): the latest confirmed event."""

    __tablename__ = "current_choices"
    __table_args__ = (
        UniqueConstraint("student_id", "definition_id"),
        Index("ix_current_choices_board_definition_value", "board_id", "definition_id", "value"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    definition_id: Mapped[int] = mapped_column(ForeignKey("choice_definitions.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(40))
    category_codes: Mapped[list[str]] = mapped_column(default=list)
    event_id: Mapped[int] = mapped_column(ForeignKey("choice_events.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(12))
    effective_since: Mapped[datetime]

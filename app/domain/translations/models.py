from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow


class ContentTranslation(Base):
    """One field of one piece of board content in one language (ADR 0101).

    The Japanese text stays on the model (the board writes in Japanese and it is what a
    guardian's confirmed choice refers to); a translation is found by the model's table
    (`entity_kind`), its id and the field. `board_id` is null for the shared vocabulary of
    data categories. Pages read a board's translations in one language in one statement.
    """

    __tablename__ = "content_translations"
    __table_args__ = (
        UniqueConstraint("entity_kind", "entity_id", "field", "language"),
        Index("ix_content_translations_board_language", "board_id", "language"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    entity_kind: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(BigIntPK)
    field: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

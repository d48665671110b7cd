from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow


class Board(Base):
    """A board of education (教育委員会): the tenant everything else belongs to."""

    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    # Jurisdiction written on consent receipts, e.g. "JP-11" (ISO 3166-2 prefecture).
    jurisdiction: Mapped[str] = mapped_column(String(20), default="JP")
    # sourcedId of the district org its rosters come from (kept by the first import), so a
    # roster of another district is noticed before it is applied.
    roster_district_id: Mapped[str] = mapped_column(String(255), default="")
    # Guardians' "who saw my child's data" names the staff member (default: role and school only).
    show_staff_names: Mapped[bool] = mapped_column(default=False)
    # Days a guardian's request (disclosure, correction …) is answered within, from receipt.
    request_answer_days: Mapped[int] = mapped_column(default=30)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Moved by every change to the board's published catalogue (app.domain.catalog.published):
    # the key under which app processes keep the catalogue in memory (ADR 0095).
    catalogue_version: Mapped[int] = mapped_column(default=0, server_default="0")


class BoardProviderSetting(Base):
    """Per board: may a provider's verified e-mail link a guardian automatically?"""

    __tablename__ = "board_provider_settings"
    __table_args__ = (UniqueConstraint("board_id", "provider_name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    provider_name: Mapped[str] = mapped_column(String(40))
    trust_verified_email: Mapped[bool] = mapped_column(default=False)

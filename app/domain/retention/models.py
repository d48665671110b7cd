"""A board's retention policy and the erasure certificates its vendors sent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, utcnow

# What a certificate covers: the students who left in one school year (卒業等), or every
# student's data at the end of the contract (the service was retired).
COHORT_KINDS = ("graduation", "contract_end")


class RetentionPolicy(Base):
    """How long a board keeps what (seed 003: 保存期間５年を基本, 卒業等に際しては削除).

    A board without a row keeps the defaults (`policy.DEFAULTS`). One-time tokens and
    sessions always go at expiry; they are not a board's choice."""

    __tablename__ = "retention_policies"

    board_id: Mapped[int] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # A student who left, their choice history and receipts, and guardians left with no child.
    student_years: Mapped[int] = mapped_column(default=5)
    # Audit events older than this go, from the start of the board's chain.
    audit_years: Mapped[int] = mapped_column(default=5)
    # Sent mail bodies; NULL follows the installation's MAIL_BODY_RETENTION_DAYS.
    mail_body_days: Mapped[int | None]
    # Roster uploads and checked carry-over files never confirmed.
    upload_days: Mapped[int] = mapped_column(default=7)
    # A cohort's or a contract's erasure certificate is overdue this long after it ended.
    certificate_due_days: Mapped[int] = mapped_column(default=90)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ErasureCertificate(Base):
    """A vendor's certificate that it erased a cohort's data (消去証明, seed 004).

    The file lives under UPLOAD_DIR/certificates/<board>/ with a random name (`stored_name`);
    the name it was uploaded under is not kept."""

    __tablename__ = "erasure_certificates"
    __table_args__ = (Index("ix_erasure_certificates_board_service", "board_id", "service_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    cohort_kind: Mapped[str] = mapped_column(String(20))
    # The school year (年度) of a graduation cohort; NULL for the contract end.
    cohort_year: Mapped[int | None]
    received_on: Mapped[date]
    vendor_reference: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    recorded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

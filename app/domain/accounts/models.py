"""Authenticated identities, their links to guardians, staff roles and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigIntPK, utcnow

STAFF_ROLES = ("board_admin", "school_admin", "teacher", "auditor")
ACCOUNT_KINDS = ("guardian", "staff", "student")
# How an account came to act for a guardian.
LINK_METHODS = ("enrolment_code", "verified_email", "email_link")


class Account(Base):
    """An authenticated identity, keyed by (issuer, subject) and never by e-mail alone.

    Guardians without an OIDC account sign in by e-mail link; their account has
    issuer `urn:tobira:email-link` and the guardian id as subject.
    """

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    provider_name: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(default=False)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    preferred_language: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


class AccountGuardian(Base):
    """This account acts for this roster guardian (and so sees that guardian's children)."""

    __tablename__ = "account_guardians"
    __table_args__ = (UniqueConstraint("account_id", "guardian_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StudentAccount(Base):
    """This student account is this roster student (matched at every sign-in, ADR 0085)."""

    __tablename__ = "student_accounts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffRole(Base):
    """A role granted to staff, scoped to the whole board (school_id NULL) or one school.

    Granted by invitation (bound to an account at first sign-in) or by a group mapping.
    """

    __tablename__ = "staff_roles"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    invited_email: Mapped[str | None] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="invitation")
    granted_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    account: Mapped[Account | None] = relationship(foreign_keys=[account_id], lazy="raise")


class StaffGroupMapping(Base):
    """A staff provider's group claim value that grants a role at sign-in."""

    __tablename__ = "staff_group_mappings"
    __table_args__ = (UniqueConstraint("board_id", "provider_name", "group_value", "role", "school_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    provider_name: Mapped[str] = mapped_column(String(40))
    group_value: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(Base):
    """Server-side record of a signed-in session; the cookie carries its signed id.

    Lets sign-out and timeouts take effect on every app process.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # SHA-256 of the random session id held in the cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    id_token_hint: Mapped[str | None] = mapped_column(Text)

    account: Mapped[Account] = relationship(lazy="raise")

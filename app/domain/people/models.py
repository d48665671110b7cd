"""People and places of a board: schools, homerooms, students and guardians.

The roster import (app.domain.roster) keeps them in step with OneRoster; every other
domain reads them from here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigIntPK, utcnow

SCHOOL_KINDS = ("elementary", "junior_high", "compulsory", "special_needs", "high")
# MEXT grade codes used by the OneRoster Japan Profile, in school order.
GRADES = ("P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3", "H1", "H2", "H3")
ROSTER_STATUSES = ("active", "inactive")


class School(Base):
    __tablename__ = "schools"
    __table_args__ = (
        UniqueConstraint("board_id", "code"),
        UniqueConstraint("board_id", "sourced_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    sourced_id: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="elementary")
    status: Mapped[str] = mapped_column(String(10), default="active")


class SchoolYear(Base):
    """An academic session of type schoolYear (年度)."""

    __tablename__ = "school_years"
    __table_args__ = (UniqueConstraint("board_id", "sourced_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    sourced_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(100))
    year: Mapped[int]
    start_date: Mapped[date]
    end_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="active")


class SchoolClass(Base):
    """A homeroom (学級). Course classes are not needed by the portal."""

    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("board_id", "sourced_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    school_year_id: Mapped[int | None] = mapped_column(
        ForeignKey("school_years.id", ondelete="SET NULL"), index=True
    )
    sourced_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(100))
    grade: Mapped[str | None] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(10), default="active")

    school: Mapped[School] = relationship(lazy="raise")


class Student(Base):
    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("board_id", "sourced_id"),
        Index("ix_students_school_grade_class", "school_id", "grade", "class_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="SET NULL"), index=True)
    sourced_id: Mapped[str] = mapped_column(String(255))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name_kana: Mapped[str] = mapped_column(String(100), default="")
    given_name_kana: Mapped[str] = mapped_column(String(100), default="")
    grade: Mapped[str | None] = mapped_column(String(4))
    attendance_number: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(10), default="active")
    deactivated_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    school: Mapped[School] = relationship(lazy="raise")
    school_class: Mapped[SchoolClass | None] = relationship(lazy="raise")

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def full_name_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}".strip()


class Guardian(Base):
    __tablename__ = "guardians"
    __table_args__ = (UniqueConstraint("board_id", "sourced_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    sourced_id: Mapped[str] = mapped_column(String(255))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name_kana: Mapped[str] = mapped_column(String(100), default="")
    given_name_kana: Mapped[str] = mapped_column(String(100), default="")
    # The address the school has on file: confirmations always go here.
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    preferred_language: Mapped[str] = mapped_column(String(20), default="ja")
    status: Mapped[str] = mapped_column(String(10), default="active")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"


class GuardianStudent(Base):
    """Roster link between a guardian and a student (from the student's agentSourcedIds)."""

    __tablename__ = "guardian_students"
    __table_args__ = (UniqueConstraint("guardian_id", "student_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="active")

    guardian: Mapped[Guardian] = relationship(lazy="raise")
    student: Mapped[Student] = relationship(lazy="raise")

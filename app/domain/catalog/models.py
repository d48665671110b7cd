"""The service catalogue: what each cloud service holds, why, and under which promises.

Services are versioned: a published ServiceVersion is never edited; a change publishes a
new version and a new NoticeVersion, and guardians' choices point at the notice they saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigIntPK, utcnow

USE_GROUPS = ("learning", "home_contact", "survey", "dashboard")
SERVICE_STATUSES = ("active", "retired")
# Permitted uses (a–e) in the shape of the Ashiya review-board report (seed 001).
PERMITTED_USES = ("a", "b", "c", "d", "e")
ANONYMIZED_STATISTICS = ("none", "produced", "shared")


class DataCategory(Base):
    """Controlled vocabulary of personal-data categories (個人情報の種類)."""

    __tablename__ = "data_categories"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    # Grades, guidance and health records: shown with extra care and hideable on the dashboard.
    sensitive: Mapped[bool] = mapped_column(default=False)


class Service(Base):
    """A cloud service or system holding student data. Its facts live in versions."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("board_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class ServiceVersion(Base):
    __tablename__ = "service_versions"
    __table_args__ = (UniqueConstraint("service_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    use_group: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    vendor_name: Mapped[str] = mapped_column(String(200))
    policy_url: Mapped[str] = mapped_column(String(500), default="")
    # Vendor facts a parent and a review board ask for (seeds 001, 004).
    certifications: Mapped[list[str]] = mapped_column(default=list)  # ISMS, ISMAP, PrivacyMark …
    data_centre_country: Mapped[str] = mapped_column(String(2), default="JP")
    governing_law: Mapped[str] = mapped_column(String(100), default="日本法")
    court: Mapped[str] = mapped_column(String(200), default="")
    backup_retention_days: Mapped[int | None]
    erased_at_graduation: Mapped[bool] = mapped_column(default=True)
    erased_at_contract_end: Mapped[bool] = mapped_column(default=True)
    erasure_certificate: Mapped[bool] = mapped_column(default=False)
    subcontracting_requires_approval: Mapped[bool] = mapped_column(default=True)
    anonymized_statistics: Mapped[str] = mapped_column(String(10), default="none")
    no_advertising: Mapped[bool] = mapped_column(default=True)
    no_profiling: Mapped[bool] = mapped_column(default=True)
    yearly_audit: Mapped[bool] = mapped_column(default=False)
    incident_reporting: Mapped[bool] = mapped_column(default=True)
    # A material change from the previous version (catalog.changes.MATERIAL): the guardians of
    # covered children are asked to look at their choice again (ServiceReview).
    asks_review: Mapped[bool] = mapped_column(default=False)
    # Who the service covered when this version was published (coverage.snapshot): school and
    # homeroom by code and title, students by roster id, so the record outlives database ids.
    coverage: Mapped[list[dict[str, Any]]] = mapped_column(default=list)

    service: Mapped[Service] = relationship(lazy="raise")
    categories: Mapped[list[ServiceVersionCategory]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ServiceVersionCategory.id"
    )
    purposes: Mapped[list[ServicePurpose]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="ServicePurpose.sort_order"
    )
    subcontractors: Mapped[list[Subcontractor]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Subcontractor.sort_order"
    )


class ServiceVersionCategory(Base):
    """A data category a service version holds, with the concrete items (e.g. 氏名, ID)."""

    __tablename__ = "service_version_categories"
    __table_args__ = (UniqueConstraint("service_version_id", "category_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    service_version_id: Mapped[int] = mapped_column(
        ForeignKey("service_versions.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("data_categories.id", ondelete="RESTRICT"), index=True
    )
    items: Mapped[str] = mapped_column(Text, default="")

    category: Mapped[DataCategory] = relationship(lazy="raise")


class ServicePurpose(Base):
    __tablename__ = "service_purposes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    service_version_id: Mapped[int] = mapped_column(
        ForeignKey("service_versions.id", ondelete="CASCADE"), index=True
    )
    permitted_use: Mapped[str | None] = mapped_column(String(1))
    text: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(default=0)


class Subcontractor(Base):
    """委託 → 再委託: parent_id points at the contractor that subcontracts to this one."""

    __tablename__ = "subcontractors"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    service_version_id: Mapped[int] = mapped_column(
        ForeignKey("service_versions.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("subcontractors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(Text, default="")
    data_items: Mapped[str] = mapped_column(Text, default="")
    country: Mapped[str] = mapped_column(String(2), default="JP")
    certifications: Mapped[list[str]] = mapped_column(default=list)
    sort_order: Mapped[int] = mapped_column(default=0)


class ServiceAssignment(Base):
    """Which students a service covers. A row matches students satisfying all its set
    fields; no school means every school of the board. A service covers the union of rows."""

    __tablename__ = "service_assignments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    grade_from: Mapped[str | None] = mapped_column(String(4))
    grade_to: Mapped[str | None] = mapped_column(String(4))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NoticeVersion(Base):
    """The exact notice text and catalogue state a guardian was shown."""

    __tablename__ = "notice_versions"
    __table_args__ = (UniqueConstraint("board_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    # {"service_versions": {service_id: service_version_id, …}, "changes": [...]}
    catalogue: Mapped[dict[str, Any]] = mapped_column(default=dict)


class GuardianServiceView(Base):
    """Which version of a service a guardian last saw for a child, to mark what changed."""

    __tablename__ = "guardian_service_views"
    __table_args__ = (UniqueConstraint("guardian_id", "student_id", "service_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    service_version_id: Mapped[int] = mapped_column(ForeignKey("service_versions.id", ondelete="CASCADE"))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceReview(Base):
    """A guardian asked to look at a service again for a child after a material change.

    Written for every covered guardian and child when a version that asks for review is
    announced; `reviewed_at` is set when the guardian keeps or changes the choice. The choice
    in force stays in force meanwhile ("not yet reviewed since …").
    """

    __tablename__ = "service_reviews"
    __table_args__ = (
        UniqueConstraint("guardian_id", "student_id", "service_version_id"),
        Index("ix_service_reviews_version_reviewed", "service_version_id", "reviewed_at"),
        Index("ix_service_reviews_guardian_student", "guardian_id", "student_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # An announcement writes a row per covered guardian and child in one statement, and each
    # foreign key is checked row by row: only the three that remove a review with what it is
    # about are kept. The board, the service and the earlier version go only with the version
    # itself (a board takes its services, a service its versions), so they are plain columns.
    board_id: Mapped[int] = mapped_column(BigIntPK)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(BigIntPK)
    service_version_id: Mapped[int] = mapped_column(ForeignKey("service_versions.id", ondelete="CASCADE"))
    # The version the guardian had been shown before the change (what the change is against).
    previous_version_id: Mapped[int | None] = mapped_column(BigIntPK)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(10), default="")  # "" | "kept" | "changed"


CHOICE_KINDS = ("toggle", "categories")


class ChoiceDefinition(Base):
    """A decision the board offers per service, e.g. "hide on the School Dashboard", or to the
    whole board (`service_id` null, e.g. photos in the newsletter: offered to every guardian
    of every active student of the board, ADR 0092).

    `kind="toggle"`: values are `options` (["show", "hide"], or ["allow", "deny"] with either
    default: opt-out when the default is "allow", opt-in when it is "deny").
    `kind="categories"`: values are `options` (e.g. ["show", "hide_all", "hide_some"]);
    with `hide_some` the guardian picks among `category_codes`.
    """

    __tablename__ = "choice_definitions"
    __table_args__ = (UniqueConstraint("service_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20), default="toggle")
    options: Mapped[list[str]] = mapped_column(default=list)
    default_value: Mapped[str] = mapped_column(String(40))
    category_codes: Mapped[list[str]] = mapped_column(default=list)
    label: Mapped[str] = mapped_column(String(300))
    explanation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
    # The wording above is that of version `version` (ChoiceDefinitionVersion); an edit adds
    # a version and moves these columns to it, so the rows guardians confirmed keep theirs.
    version: Mapped[int] = mapped_column(default=1)
    announced_at: Mapped[datetime | None]

    @property
    def board_wide(self) -> bool:
        return self.service_id is None


class ChoiceDefinitionVersion(Base):
    """The wording and options of a choice as published; never edited (ADR 0092)."""

    __tablename__ = "choice_definition_versions"
    __table_args__ = (UniqueConstraint("definition_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("choice_definitions.id", ondelete="CASCADE"))
    version: Mapped[int]
    options: Mapped[list[str]] = mapped_column(default=list)
    category_codes: Mapped[list[str]] = mapped_column(default=list)
    label: Mapped[str] = mapped_column(String(300))
    explanation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))

"""Renewal: after a material change to a service, covered guardians look at their choice again.

Publishing a version that asks for review (catalog.changes.MATERIAL) makes the announcement
job write one ServiceReview per covered guardian and child, in the transaction that mails them. The
choice in force stays in force; the guardian's card says "not yet reviewed since …" with the
change in words until the guardian keeps the choice or sends a new one. Staff see who has and
has not reviewed (`review_overview`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, Select, String, func, insert, literal, select, update
from sqlalchemy.orm import Session

from app.db import UTCDateTime, utcnow
from app.domain.audit.service import Actor, record
from app.domain.catalog.models import ServiceReview, ServiceVersion
from app.domain.people.models import Guardian, School, Student

OUTCOMES = ("kept", "changed")
NOT_YET_SHOWN = 200


def request_reviews(
    db: Session,
    *,
    board_id: int,
    service_id: int,
    version_id: int,
    previous_version_id: int | None,
    pairs: Select[int, int],
) -> int:
    """One review row per (guardian_id, student_id) of `pairs`, in one INSERT … SELECT (the
    caller writes it once, with the announcement's mailing)."""
    now = utcnow()
    links = pairs.subquery("links")
    columns = {
        "board_id": literal(board_id, Integer),
        "guardian_id": links.c.guardian_id,
        "student_id": links.c.student_id,
        "service_id": literal(service_id, Integer),
        "service_version_id": literal(version_id, Integer),
        "previous_version_id": literal(previous_version_id, Integer),
        "requested_at": literal(now, UTCDateTime),
        "outcome": literal("", String),
    }
    statement = insert(ServiceReview).from_select(list(columns), select(*columns.values()).select_from(links))
    # Core, not the ORM, and asked for: only then does the result say how many rows it wrote.
    result = db.connection().execute(statement.execution_options(preserve_rowcount=True))
    return int(result.rowcount)


@dataclass(frozen=True)
class PendingReview:
    service_id: int
    since: datetime  # when the first change not yet reviewed was announced
    previous_version_id: int | None  # what the guardian had been shown before it


def mark_reviewed(
    db: Session,
    *,
    board_id: int,
    guardian_id: int,
    student_id: int,
    service_id: int,
    outcome: str,
    account_id: int | None,
) -> int:
    """Close what this guardian owed for this service and child; audited when anything was owed."""
    assert outcome in OUTCOMES
    result = db.execute(
        update(ServiceReview)
        .where(
            ServiceReview.guardian_id == guardian_id,
            ServiceReview.student_id == student_id,
            ServiceReview.service_id == service_id,
            ServiceReview.reviewed_at.is_(None),
        )
        .values(reviewed_at=utcnow(), outcome=outcome)
    )
    closed = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if closed:
        record(
            db,
            "choice.reviewed",
            actor=Actor.account(account_id) if account_id is not None else Actor("system"),
            board_id=board_id,
            target_type="student",
            target_id=student_id,
            details={"service_id": service_id, "guardian_id": guardian_id, "outcome": outcome},
        )
    return closed


@dataclass(frozen=True)
class NotYetReviewed:
    guardian_name: str
    student_name: str
    school_name: str
    grade: str
    since: datetime


@dataclass
class ReviewOverview:
    version: ServiceVersion | None  # the latest version that asked for review
    kept: int = 0
    changed: int = 0
    not_yet: int = 0
    not_yet_rows: list[NotYetReviewed] | None = None


def review_overview(db: Session, service_id: int, student_scope: ColumnElement[bool]) -> ReviewOverview:
    """Who has and has not reviewed the latest change that asked for it, within the caller's
    students (three statements)."""
    version = db.scalar(
        select(ServiceVersion)
        .where(ServiceVersion.service_id == service_id, ServiceVersion.asks_review.is_(True))
        .order_by(ServiceVersion.version.desc())
        .limit(1)
    )
    if version is None:
        return ReviewOverview(None)
    scoped = (
        select(ServiceReview.outcome, func.count())
        .join(Student, Student.id == ServiceReview.student_id)
        .where(ServiceReview.service_version_id == version.id, student_scope)
        .group_by(ServiceReview.outcome)
    )
    counts: dict[str, int] = {outcome: count for outcome, count in db.execute(scoped)}
    rows = db.execute(
        select(
            Guardian.family_name,
            Guardian.given_name,
            Student.family_name,
            Student.given_name,
            School.name,
            Student.grade,
            ServiceReview.requested_at,
        )
        .join(Student, Student.id == ServiceReview.student_id)
        .join(Guardian, Guardian.id == ServiceReview.guardian_id)
        .join(School, School.id == Student.school_id)
        .where(
            ServiceReview.service_version_id == version.id, ServiceReview.reviewed_at.is_(None), student_scope
        )
        .order_by(School.name, Student.grade, Student.family_name_kana, Student.id, Guardian.id)
        .limit(NOT_YET_SHOWN)
    )
    return ReviewOverview(
        version,
        kept=counts.get("kept", 0),
        changed=counts.get("changed", 0),
        not_yet=counts.get("", 0),
        not_yet_rows=[
            NotYetReviewed(f"{gf} {gg}", f"{sf} {sg}", school, grade or "", since)
            for gf, gg, sf, sg, school, grade, since in rows
        ],
    )

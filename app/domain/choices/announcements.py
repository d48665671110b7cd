"""E-mails to guardians about changes they did not make themselves.

- `announce_service_change`: a board published a service version whose data categories,
  purposes, vendor facts or subcontractors changed → every guardian of a covered
  active student gets one e-mail (however many of their children are covered).
- `notify_co_guardians`: a choice about a child took effect → every other guardian
  of that child is told.

Mail goes through the outbox in the caller's transaction; the dispatcher sends it. A service
change reaches every guardian through a job (`app/domain/choices/jobs.py`), in chunks, never
inside the staff request that published it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.catalog import coverage
from app.domain.catalog.models import ServiceAssignment, ServiceVersion
from app.domain.catalog.queries import category_names
from app.domain.choices.labels import LABELS
from app.domain.choices.models import ChoiceEvent
from app.domain.notifications.service import compose_email, queue_email
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, GuardianStudent, Student

# Changes that guardians are told about; a change of wording alone ("text") is not mailed.
ANNOUNCED_CHANGES = ("categories", "purposes", "vendor_facts", "subcontractors")


class CoveredChild(NamedTuple):
    id: int
    full_name: str


def covered_guardians(
    db: Session, board_id: int, service_id: int, *, only: ColumnElement[bool] | None = None
) -> dict[int, list[CoveredChild]]:
    """Guardian id → their covered active children, in one query over the assignments
    (plain columns, not ORM objects, so that a city-wide service stays light). `only` narrows
    it to some of the covered students (e.g. those a new coverage rule brings in)."""
    assignments = list(
        db.scalars(select(ServiceAssignment).where(ServiceAssignment.service_id == service_id))
    )
    if not assignments:
        return {}
    rows = db.execute(
        select(GuardianStudent.guardian_id, Student.id, Student.family_name, Student.given_name)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(
            Student.board_id == board_id,
            Student.status == "active",
            GuardianStudent.status == "active",
            or_(*[coverage.condition(a) for a in assignments]),
            only if only is not None else true(),
        )
        .order_by(GuardianStudent.guardian_id, Student.id)
    )
    children: dict[int, list[CoveredChild]] = defaultdict(list)
    for guardian_id, student_id, family_name, given_name in rows:
        children[guardian_id].append(CoveredChild(student_id, f"{family_name} {given_name}"))
    return children


def queue_announcements(
    db: Session,
    *,
    board_id: int,
    version: ServiceVersion,
    guardian_ids: Sequence[int],
    children: dict[int, list[CoveredChild]],
    changed: list[str],
    is_new: bool,
    base_url: str,
    details: Sequence[dict[str, object]] = (),
) -> int:
    """Queue the service-change e-mail for these guardians (one each); return how many."""
    queued = 0
    categories = category_names(db)
    guardians = db.scalars(
        select(Guardian).where(
            Guardian.id.in_(guardian_ids), Guardian.status == "active", Guardian.email.is_not(None)
        )
    )
    for guardian in guardians:
        if not guardian.email:
            continue
        queue_email(
            db,
            to=guardian.email,
            template="email/guardian_service_change.txt",
            context={
                "guardian": guardian,
                "children": children[guardian.id],
                "version": version,
                "is_new": is_new,
                "changed": changed,
                "details": list(details),
                "category_map": categories,
                "LABELS": LABELS,
                "base_url": base_url.rstrip("/"),
            },
            purpose="service_change",
            language=language_of(guardian),
            board_id=board_id,
        )
        queued += 1
    return queued


def notify_co_guardians(
    db: Session,
    settings: Settings,
    confirmed: ChoiceEvent,
    student: Student,
    guardians: list[Guardian],
    *,
    category_map: Mapping[str, Any] | None = None,
    into: list[dict[str, Any]] | None = None,
) -> int:
    """Tell every other guardian of the child that a choice about them took effect (`into`:
    the mails are composed into the caller's list, queued with its own in one statement)."""
    categories = category_map if category_map is not None else category_names(db)
    sent = 0
    for guardian in guardians:
        if guardian.id == confirmed.guardian_id or not guardian.email:
            continue
        mail: dict[str, Any] = dict(
            to=guardian.email,
            template="email/guardian_choice_notice.txt",
            context={
                "guardian": guardian,
                "student": student,
                "event": confirmed,
                "definition": confirmed.definition,
                "category_map": categories,
                "LABELS": LABELS,
                "base_url": settings.base_url.rstrip("/"),
            },
            purpose="choice_notice",
            language=language_of(guardian),
            board_id=confirmed.board_id,
        )
        if into is not None:
            into.append(compose_email(db, **mail))
        else:
            queue_email(db, **mail)
        sent += 1
    return sent

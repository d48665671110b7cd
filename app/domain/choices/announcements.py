"""E-mails to guardians about changes they did not make themselves.

- Announcing a service change: a board published a service version whose data categories,
  purposes, vendor facts or subcontractors changed (or a new service, or a coverage rule that
  brings children in) → every guardian of a covered active student gets one e-mail, however
  many of their children are covered. A new choice is announced the same way
  (`choice_announcements.py`).
- `notify_co_guardians`: a choice about a child took effect → every other guardian
  of that child is told.

An announcement is a job (`app/domain/choices/jobs.py`), never the staff request that caused
it. The job writes a mailing and all its messages with one INSERT … SELECT (ADR 0099): each
message holds the guardian's id and their covered children's ids, no text; the dispatcher
renders it when it sends it, in the guardian's language, from the contexts registered here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, case, func, or_, select, true
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.catalog import coverage
from app.domain.catalog.models import ChoiceDefinition, ServiceAssignment, ServiceVersion
from app.domain.catalog.queries import category_names
from app.domain.choices.labels import LABELS
from app.domain.choices.models import ChoiceEvent
from app.domain.notifications.models import Mailing, OutboxEmail
from app.domain.notifications.service import (
    compose_email,
    queue_email,
    queue_mailing,
    register_mailing_template,
)
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.i18n import DEFAULT_LANGUAGE, LANGUAGES

# Changes that guardians are told about; a change of wording alone ("text") is not mailed.
ANNOUNCED_CHANGES = ("categories", "purposes", "vendor_facts", "subcontractors")
SERVICE_CHANGE = "email/guardian_service_change.txt"
NEW_CHOICE = "email/guardian_new_choice.txt"


class CoveredChild(NamedTuple):
    id: int
    full_name: str


def board_pairs(board_id: int) -> Select[int, int]:
    """(guardian_id, student_id) of every active link to an active student of the board."""
    return (
        select(GuardianStudent.guardian_id, GuardianStudent.student_id)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(Student.board_id == board_id, Student.status == "active", GuardianStudent.status == "active")
    )


def covered_pairs(
    db: Session, board_id: int, service_id: int, *, only: ColumnElement[bool] | None = None
) -> Select[int, int] | None:
    """(guardian_id, student_id) of the service's covered active children, as a query to build
    on (None when the service has no coverage rule). `only` narrows it to some of the covered
    students (e.g. those a new coverage rule brings in)."""
    assignments = list(
        db.scalars(select(ServiceAssignment).where(ServiceAssignment.service_id == service_id))
    )
    if not assignments:
        return None
    return board_pairs(board_id).where(
        or_(*[coverage.condition(a) for a in assignments]), only if only is not None else true()
    )


def _language() -> ColumnElement[str]:
    """The guardian's language, as `language_of` says it, in SQL."""
    return case(
        (Guardian.preferred_language.in_(LANGUAGES), Guardian.preferred_language), else_=DEFAULT_LANGUAGE
    )


def mail_guardians(db: Session, mailing: Mailing, pairs: Select[int, int]) -> int:
    """One message of `mailing` per active guardian with an address among `pairs`, naming their
    children there; one statement, whatever the number of guardians. Returns how many."""
    links = pairs.subquery("links")
    if db.get_bind().dialect.name == "postgresql":
        children = func.json_agg(links.c.student_id)
    else:
        children = func.json_group_array(links.c.student_id)
    recipients = (
        select(
            Guardian.id.label("guardian_id"),
            Guardian.email.label("to_address"),
            _language().label("language"),
            children.label("student_ids"),
        )
        .join(links, links.c.guardian_id == Guardian.id)
        .where(Guardian.status == "active", Guardian.email.is_not(None), Guardian.email != "")
        .group_by(Guardian.id, Guardian.email, Guardian.preferred_language)
    )
    return queue_mailing(db, mailing, recipients)


def _recipient(db: Session, email: OutboxEmail) -> tuple[Guardian, list[CoveredChild]] | None:
    """The guardian of a mailing's message and the children it names, as they are now."""
    guardian = db.get(Guardian, email.guardian_id) if email.guardian_id is not None else None
    if guardian is None:
        return None
    rows = db.execute(
        select(Student.id, Student.family_name, Student.given_name)
        .where(Student.id.in_(sorted(email.student_ids or [])))
        .order_by(Student.id)
    )
    children = [CoveredChild(sid, f"{family} {given}") for sid, family, given in rows]
    return (guardian, children) if children else None


def _service_change_context(db: Session, mailing: Mailing, email: OutboxEmail) -> dict[str, Any] | None:
    recipient = _recipient(db, email)
    version = db.get(ServiceVersion, int(mailing.params["version_id"]))
    if recipient is None or version is None:
        return None
    return {
        "guardian": recipient[0],
        "children": recipient[1],
        "version": version,
        "is_new": bool(mailing.params["is_new"]),
        "changed": list(mailing.params["changed"]),
        "details": list(mailing.params.get("details", [])),
        "category_map": category_names(db),
        "LABELS": LABELS,
        "base_url": str(mailing.params.get("base_url", "")).rstrip("/"),
    }


def _new_choice_context(db: Session, mailing: Mailing, email: OutboxEmail) -> dict[str, Any] | None:
    recipient = _recipient(db, email)
    definition = db.get(ChoiceDefinition, int(mailing.params["definition_id"]))
    if recipient is None or definition is None:
        return None
    return {
        "guardian": recipient[0],
        "children": recipient[1],
        "definition": definition,
        "LABELS": LABELS,
        "base_url": str(mailing.params.get("base_url", "")).rstrip("/"),
    }


register_mailing_template(SERVICE_CHANGE, _service_change_context)
register_mailing_template(NEW_CHOICE, _new_choice_context)


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

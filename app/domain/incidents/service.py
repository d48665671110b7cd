"""Recording, previewing and sending incident notices; what guardians and staff read of them.

A board administrator records an incident on a service (a draft), previews the e-mail in
each language with the number of families it reaches, and sends it. Sending marks the notice
and queues one job (`incidents.notify`) in the same transaction; the job writes the e-mails
(`notify.py`). A sent notice shows on the service's card of every covered child.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.audit.service import Actor, record
from app.domain.catalog import coverage
from app.domain.catalog.models import Service, ServiceAssignment
from app.domain.incidents import published as _kept  # noqa: F401  (sent notices move the catalogue counter)
from app.domain.incidents.models import Incident
from app.domain.jobs import service as jobs
from app.domain.jobs.models import Job
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.errors import Conflict, Invalid, NotFound
from app.i18n import LANGUAGES, N_, default_language

NOTIFY = "incidents.notify"


@dataclass(frozen=True)
class Draft:
    title: str
    body: str
    vendor_action: str
    period_start: date
    period_end: date | None
    category_codes: list[str]


def parse_draft(form: dict[str, str], known_categories: set[str], categories: list[str]) -> Draft:
    """The draft from form fields, or `Invalid` naming every field that cannot be accepted."""
    problems: dict[str, str] = {}
    text = {name: (form.get(name) or "").strip() for name in Draft.__dataclass_fields__}
    if not text["title"]:
        problems["title"] = N_("Enter a title in Japanese.")
    if not text["body"]:
        problems["body"] = N_("Say in Japanese what happened and which data it concerns.")
    if len(text["title"]) > 200:
        problems["title"] = N_("A title has at most 200 characters.")
    start = _date(text["period_start"])
    end = _date(text["period_end"]) if text["period_end"] else None
    if start is None:
        problems["period_start"] = N_("Enter the first day of the period as YYYY-MM-DD.")
    if text["period_end"] and (end is None or (start is not None and end < start)):
        problems["period_end"] = N_("Enter the last day as YYYY-MM-DD, not before the first day.")
    if any(code not in known_categories for code in categories):
        problems["categories"] = N_("Choose data categories from the list.")
    if problems:
        raise Invalid(fields=problems)
    assert start is not None
    return Draft(
        title=text["title"],
        body=text["body"],
        vendor_action=text["vendor_action"],
        period_start=start,
        period_end=end,
        category_codes=sorted(set(categories)),
    )


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def create(db: Session, service: Service, draft: Draft, actor: Actor) -> Incident:
    incident = Incident(
        board_id=service.board_id,
        service_id=service.id,
        title=draft.title,
        body=draft.body,
        vendor_action=draft.vendor_action,
        period_start=draft.period_start,
        period_end=draft.period_end,
        category_codes=draft.category_codes,
        created_by_account_id=actor.id if actor.type == "account" else None,
    )
    db.add(incident)
    db.flush()
    record(
        db,
        "incident.recorded",
        actor=actor,
        board_id=service.board_id,
        target_type="incident",
        target_id=incident.id,
        details={"service_id": service.id, "categories": draft.category_codes},
    )
    return incident


def find(db: Session, board_id: int, incident_id: int) -> Incident:
    incident = db.scalar(select(Incident).where(Incident.id == incident_id, Incident.board_id == board_id))
    if incident is None:
        raise NotFound()
    return incident


def send(db: Session, incident: Incident, actor: Actor, *, base_url: str) -> Job:
    """Mark the notice sent and queue the e-mails (in the caller's transaction)."""
    if incident.sent_at is not None:
        raise Conflict(N_("This notice was sent already."))
    incident.sent_at = utcnow()
    db.flush()
    record(
        db,
        "incident.sent",
        actor=actor,
        board_id=incident.board_id,
        target_type="incident",
        target_id=incident.id,
        details={"service_id": incident.service_id},
    )
    payload = {"incident_id": incident.id, "actor": [actor.type, actor.id], "base_url": base_url}
    return jobs.enqueue(db, NOTIFY, payload, board_id=incident.board_id, max_attempts=5)


def covered_students(db: Session, board_id: int, service_id: int) -> ColumnElement[bool]:
    """Active students the service covers now (its coverage rules), as SQL on `students`."""
    rules = list(db.scalars(select(ServiceAssignment).where(ServiceAssignment.service_id == service_id)))
    if not rules:
        return Student.id.is_(None)  # a service with no rule reaches nobody
    return and_(
        Student.board_id == board_id, Student.status == "active", or_(*[coverage.condition(r) for r in rules])
    )


def language_condition(lang: str) -> ColumnElement[bool]:
    """Guardians who read `lang` (an unknown or empty setting reads the default language)."""
    if lang == default_language():
        return or_(Guardian.preferred_language == lang, Guardian.preferred_language.not_in(LANGUAGES))
    return Guardian.preferred_language == lang


def family_addresses(covered: ColumnElement[bool], lang: str) -> ColumnElement[bool]:
    """Active guardians with an address, linked to a covered student, reading `lang`."""
    return and_(
        Guardian.status == "active",
        Guardian.email.is_not(None),
        Guardian.email != "",
        GuardianStudent.status == "active",
        covered,
        language_condition(lang),
    )


def reach_by_language(db: Session, incident: Incident) -> dict[str, int]:
    """Addresses the notice goes to, per language (one statement after the rules)."""
    covered = covered_students(db, incident.board_id, incident.service_id)
    counts: dict[str, int] = {}
    for lang in LANGUAGES:
        counts[lang] = int(
            db.scalar(
                select(func.count(distinct(Guardian.email)))
                .select_from(Guardian)
                .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
                .join(Student, Student.id == GuardianStudent.student_id)
                .where(family_addresses(covered, lang))
            )
            or 0
        )
    return counts


def of_service(db: Session, board_id: int, service_id: int) -> list[Incident]:
    return list(
        db.scalars(
            select(Incident)
            .where(Incident.board_id == board_id, Incident.service_id == service_id)
            .order_by(Incident.created_at.desc(), Incident.id.desc())
        )
    )

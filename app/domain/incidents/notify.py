"""The `incidents.notify` job: one e-mail per family address of the covered students, in
their language, written set-based — per language the text is rendered once and one
INSERT … SELECT writes every message to the outbox — in one transaction with the notice's
`notified_at`, so a job that runs again writes nothing twice (ADR 0086)."""

from __future__ import annotations

from sqlalchemy import JSON, Integer, String, Text, func, insert, literal, select
from sqlalchemy.orm import Session

from app.db import Database, UTCDateTime, utcnow
from app.domain.audit.service import Actor, record
from app.domain.boards.models import Board
from app.domain.catalog.models import DataCategory, ServiceVersion
from app.domain.catalog.queries import latest_version_ids
from app.domain.incidents.models import Incident
from app.domain.incidents.service import NOTIFY, covered_students, family_addresses
from app.domain.jobs.runner import JobRun
from app.domain.notifications.models import OutboxEmail
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.translations import service as translations
from app.i18n import LANGUAGES, current_language
from app.templating import render_text

PURPOSE = "incident_notice"
__all__ = ["NOTIFY", "queue_notices", "render", "run_notify"]
TEMPLATE = "email/incident_notice.txt"


def render(db: Session, incident: Incident, lang: str, base_url: str) -> tuple[str, str]:
    """(subject, body) of the notice in `lang` — the preview shows exactly this."""
    board = db.get_one(Board, incident.board_id)
    version = db.scalar(
        select(ServiceVersion).where(
            ServiceVersion.service_id == incident.service_id,
            ServiceVersion.id.in_(latest_version_ids(incident.board_id)),
        )
    )
    categories = list(
        db.scalars(
            select(DataCategory)
            .where(DataCategory.code.in_(incident.category_codes or ["-"]))
            .order_by(DataCategory.sort_order, DataCategory.code)
        )
    )
    token = current_language.set(lang)
    try:
        with translations.translations_for(db, [incident.board_id]):
            text = render_text(
                TEMPLATE,
                {
                    "lang": lang,
                    "incident": incident,
                    "board": board,
                    "version": version,
                    "categories": categories,
                    "base_url": base_url,
                },
            )
    finally:
        current_language.reset(token)
    first_line, _sep, body = text.lstrip().partition("\n")
    return first_line.removeprefix("Subject:").strip(), body.lstrip("\n")


def queue_notices(db: Session, incident: Incident, base_url: str) -> int:
    """Write the notice for every covered family (distinct addresses); returns how many."""
    covered = covered_students(db, incident.board_id, incident.service_id)
    now = utcnow()
    total = 0
    for lang in LANGUAGES:
        subject, body = render(db, incident, lang, base_url)
        addresses = (
            select(
                literal(incident.board_id, Integer),
                Guardian.email,
                literal(subject, String),
                literal(body, Text),
                literal(lang, String),
                literal(PURPOSE, String),
                literal([], JSON),
                literal("pending", String),
                literal(0, Integer),
                literal(now, UTCDateTime),
                literal("", Text),
                literal(now, UTCDateTime),
            )
            .select_from(Guardian)
            .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
            .join(Student, Student.id == GuardianStudent.student_id)
            .where(family_addresses(covered, lang), Guardian.board_id == incident.board_id)
            .group_by(Guardian.email)
        )
        columns = [
            "board_id",
            "to_address",
            "subject",
            "body_text",
            "language",
            "purpose",
            "attachments",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
        ]
        # Count first: drivers differ in what rowcount says of an INSERT … SELECT.
        total += int(db.scalar(select(func.count()).select_from(addresses.subquery())) or 0)
        db.execute(insert(OutboxEmail).from_select(columns, addresses))
    return total


def run_notify(database: Database, run: JobRun) -> None:
    with database.transaction() as db:
        incident = db.get(Incident, int(run.payload["incident_id"]))
        if incident is None or incident.notified_at is not None:
            return  # deleted with its board, or written by an earlier run
        emails = queue_notices(db, incident, str(run.payload.get("base_url", "")))
        incident.notified_at = utcnow()
        incident.emails = emails
        actor_type, actor_id = run.payload["actor"]
        record(
            db,
            "incident.notified",
            actor=Actor(actor_type, actor_id),
            board_id=incident.board_id,
            target_type="incident",
            target_id=incident.id,
            details={"service_id": incident.service_id, "emails": emails},
        )

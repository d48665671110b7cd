"""Announcing a new choice (ADR 0092): every guardian it is offered to gets one e-mail, in
their language, through the durable job runner — never inside the staff request.

A board-wide choice is offered to every guardian of every active student of the board; a
service choice to the guardians of the children the service covers. The job mails in chunks
whose e-mails and bookmark commit together, so a restarted job mails nobody twice.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.domain.audit.service import Actor, record
from app.domain.catalog.models import ChoiceDefinition
from app.domain.choices.announcements import CoveredChild, covered_guardians
from app.domain.choices.labels import LABELS
from app.domain.jobs import service as jobs
from app.domain.jobs.models import Job
from app.domain.jobs.runner import JobRun
from app.domain.notifications.service import queue_email
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.errors import Conflict

ANNOUNCE_CHOICE = "choices.announce_choice"
CHUNK = 500


def offered_guardians(db: Session, definition: ChoiceDefinition) -> dict[int, list[CoveredChild]]:
    """Guardian id → their children the choice is offered for, in one query."""
    if definition.service_id is not None:
        return covered_guardians(db, definition.board_id, definition.service_id)
    rows = db.execute(
        select(GuardianStudent.guardian_id, Student.id, Student.family_name, Student.given_name)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(
            Student.board_id == definition.board_id,
            Student.status == "active",
            GuardianStudent.status == "active",
        )
        .order_by(GuardianStudent.guardian_id, Student.id)
    )
    children: dict[int, list[CoveredChild]] = defaultdict(list)
    for guardian_id, student_id, family_name, given_name in rows:
        children[guardian_id].append(CoveredChild(student_id, f"{family_name} {given_name}"))
    return children


def request_choice_announcement(
    db: Session, definition: ChoiceDefinition, actor: Actor, *, base_url: str
) -> Job:
    """Queue the announcement in the staff request's transaction; a choice is announced once."""
    if definition.status != "active":
        raise Conflict("This choice is no longer offered.")
    if definition.announced_at is not None:
        raise Conflict("This choice has already been announced.")
    definition.announced_at = utcnow()
    payload = {"definition_id": definition.id, "actor": [actor.type, actor.id], "base_url": base_url}
    job = jobs.enqueue(db, ANNOUNCE_CHOICE, payload, board_id=definition.board_id, max_attempts=5)
    record(
        db,
        "choice_definition.announcement_requested",
        actor=actor,
        board_id=definition.board_id,
        target_type="choice_definition",
        target_id=definition.id,
        details={"job_id": job.id},
    )
    return job


def _queue(
    db: Session,
    definition: ChoiceDefinition,
    guardian_ids: list[int],
    children: dict[int, list[CoveredChild]],
    base_url: str,
) -> int:
    queued = 0
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
            template="email/guardian_new_choice.txt",
            context={
                "guardian": guardian,
                "children": children[guardian.id],
                "definition": definition,
                "LABELS": LABELS,
                "base_url": base_url.rstrip("/"),
            },
            purpose="choice_announcement",
            language=language_of(guardian),
            board_id=definition.board_id,
        )
        queued += 1
    return queued


def run_choice_announcement(database: Database, run: JobRun) -> None:
    board_id = run.board_id
    assert board_id is not None
    definition_id = int(run.payload["definition_id"])
    after = int(run.payload.get("after_guardian_id", 0))
    with database.session() as db:
        definition = db.get(ChoiceDefinition, definition_id)
        if definition is None:  # removed with its board meanwhile
            return
        children = offered_guardians(db, definition)
    remaining = sorted(g for g in children if g > after)
    for start in range(0, len(remaining), CHUNK):
        chunk = remaining[start : start + CHUNK]
        with database.transaction() as db:
            definition = db.get(ChoiceDefinition, definition_id)
            if definition is None:
                return
            queued = _queue(db, definition, chunk, children, str(run.payload["base_url"]))
            run.save_progress(
                db, after_guardian_id=chunk[-1], emails=int(run.payload.get("emails", 0)) + queued
            )
    actor_type, actor_id = run.payload["actor"]
    with database.transaction() as db:
        record(
            db,
            "choice_definition.announced",
            actor=Actor(actor_type, actor_id),
            board_id=board_id,
            target_type="choice_definition",
            target_id=definition_id,
            details={"emails": int(run.payload.get("emails", 0))},
        )

"""Announcing a new choice (ADR 0092): every guardian it is offered to gets one e-mail, in
their language, through the durable job runner — never inside the staff request.

A board-wide choice is offered to every guardian of every active student of the board; a
service choice to the guardians of the children the service covers. The job writes the
mailing and all its messages with one INSERT … SELECT in one transaction, one per guardian, so
a job that runs again mails nobody twice (ADR 0099); each is rendered when it is sent.
"""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.domain.audit.service import Actor, record
from app.domain.catalog.models import ChoiceDefinition
from app.domain.choices.announcements import NEW_CHOICE, board_pairs, covered_pairs, mail_guardians
from app.domain.jobs import service as jobs
from app.domain.jobs.models import Job
from app.domain.jobs.runner import JobRun
from app.domain.notifications.service import mailing
from app.errors import Conflict

ANNOUNCE_CHOICE = "choices.announce_choice"


def offered_pairs(db: Session, definition: ChoiceDefinition) -> Select[int, int] | None:
    """(guardian_id, student_id) of the children the choice is offered for, as a query."""
    if definition.service_id is not None:
        return covered_pairs(db, definition.board_id, definition.service_id)
    return board_pairs(definition.board_id)


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


def run_choice_announcement(database: Database, run: JobRun) -> None:
    board_id = run.board_id
    assert board_id is not None
    definition_id = int(run.payload["definition_id"])
    with database.transaction() as db:
        definition = db.get(ChoiceDefinition, definition_id)
        if definition is None:  # removed with its board meanwhile
            return
        pairs = offered_pairs(db, definition)
        params = {"definition_id": definition_id, "base_url": str(run.payload["base_url"])}
        letter = mailing(
            db,
            board_id=board_id,
            key=f"new_choice:{definition_id}",
            template=NEW_CHOICE,
            purpose="choice_announcement",
            params=params,
        )
        if letter.queued_at is not None:  # an earlier run wrote it all, and audited it
            return
        emails = mail_guardians(db, letter, pairs) if pairs is not None else 0
        letter.queued_at = letter.queued_at or utcnow()
        run.save_progress(db, emails=emails)
        actor_type, actor_id = run.payload["actor"]
        record(
            db,
            "choice_definition.announced",
            actor=Actor(actor_type, actor_id),
            board_id=board_id,
            target_type="choice_definition",
            target_id=definition_id,
            details={"emails": emails},
        )

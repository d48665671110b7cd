"""Reminders to families who have not answered (ADR 0084).

- a request waiting for confirmation: the confirmation mail again, marked as a reminder, with
  a fresh link — the guardian's own "send the link again" path (`requests.resend`), so there is
  one token flow;
- a service change not yet reviewed (ADR 0090): one mail per guardian naming the children and
  services.

The periodic job sends what is due: nothing before the board's delay (since the request, or
the review was asked for, or the last reminder), never more than the board's maximum, never
to a guardian who already acted — a request confirmed, cancelled, superseded or expired is no
longer pending; a change kept or answered with a new choice is reviewed. Staff may send one by hand from the
reach lists. Every reminder is a `reminders` row and an audit event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from app.config import Settings
from app.db import Database, utcnow
from app.domain.audit.service import Actor, record
from app.domain.boards.models import Board
from app.domain.catalog.models import ServiceReview, ServiceVersion
from app.domain.choices import requests
from app.domain.choices.labels import LABELS
from app.domain.choices.models import ChoiceEvent
from app.domain.jobs.runner import JobKind, JobRun
from app.domain.notifications.service import queue_email
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.reach.models import Reminder
from app.domain.reach.overview import board_assignments, owed_reviews
from app.domain.reach.settings import Reminders, reminders_of
from app.errors import Conflict

SEND = "reach.send_reminders"
SEND_EVERY = timedelta(hours=1)
CHUNK = 200


def _reachable() -> list[ColumnElement[bool]]:
    return [
        Guardian.status == "active",
        Guardian.email.is_not(None),
        Guardian.email != "",
        Student.status == "active",
        GuardianStudent.status == "active",
    ]


def _pending_requests(board_id: int) -> Select[ChoiceEvent]:
    closing = aliased(ChoiceEvent)
    return (
        select(ChoiceEvent)
        .join(Guardian, Guardian.id == ChoiceEvent.guardian_id)
        .join(Student, Student.id == ChoiceEvent.student_id)
        .join(
            GuardianStudent,
            and_(GuardianStudent.guardian_id == Guardian.id, GuardianStudent.student_id == Student.id),
        )
        .options(joinedload(ChoiceEvent.definition))
        .where(
            ChoiceEvent.board_id == board_id,
            ChoiceEvent.kind == "requested",
            ChoiceEvent.channel == "web",
            ~exists().where(closing.request_id == ChoiceEvent.id),
            *_reachable(),
        )
    )


def due_confirmations(db: Session, board_id: int, setting: Reminders, now: datetime) -> list[ChoiceEvent]:
    """Pending requests whose reminder is due: fewer than the maximum sent, and the request
    (or the last reminder about it) older than the delay."""
    sent = select(func.count(Reminder.id), func.max(Reminder.sent_at)).where(
        Reminder.choice_event_id == ChoiceEvent.id
    )
    count = sent.with_only_columns(func.count(Reminder.id)).scalar_subquery()
    last = sent.with_only_columns(func.max(Reminder.sent_at)).scalar_subquery()
    cutoff = now - setting.confirmation_delay
    query = _pending_requests(board_id).where(
        ChoiceEvent.created_at <= cutoff,
        count < setting.max_reminders,
        func.coalesce(last, ChoiceEvent.created_at) <= cutoff,
    )
    return list(db.scalars(query.order_by(ChoiceEvent.id).limit(CHUNK)))


@dataclass(frozen=True)
class Unreviewed:
    guardian_id: int
    student_id: int
    version_id: int  # the version that asked for the review


def _unreviewed_rows(
    db: Session, board_id: int, *, guardian_id: int | None = None, student_id: int | None = None
) -> Select[int, int, int, datetime]:
    """(guardian, child, version that asked for review, when it asked) for reviews still owed."""
    query = (
        select(
            ServiceReview.guardian_id,
            ServiceReview.student_id,
            ServiceReview.service_version_id,
            ServiceReview.requested_at,
        )
        .join(Guardian, Guardian.id == ServiceReview.guardian_id)
        .join(Student, Student.id == ServiceReview.student_id)
        .join(
            GuardianStudent,
            and_(GuardianStudent.guardian_id == Guardian.id, GuardianStudent.student_id == Student.id),
        )
        .where(
            Guardian.board_id == board_id,
            owed_reviews(board_assignments(db, board_id)),
            *_reachable(),
        )
    )
    if guardian_id is not None:
        query = query.where(ServiceReview.guardian_id == guardian_id)
    if student_id is not None:
        query = query.where(ServiceReview.student_id == student_id)
    return query


def due_changes(db: Session, board_id: int, setting: Reminders, now: datetime) -> list[Unreviewed]:
    cutoff = now - setting.delay
    rows = db.execute(_unreviewed_rows(db, board_id).order_by(ServiceReview.guardian_id)).all()
    if not rows:
        return []
    history: dict[tuple[int, int, int], list[datetime]] = defaultdict(list)
    for reminder in db.scalars(
        select(Reminder).where(
            Reminder.board_id == board_id,
            Reminder.kind == "service_change",
            Reminder.service_version_id.in_({row[2] for row in rows}),
        )
    ):
        assert reminder.service_version_id is not None
        history[(reminder.guardian_id, reminder.student_id, reminder.service_version_id)].append(
            reminder.sent_at
        )
    due = []
    for guardian_id, student_id, version_id, asked_at in rows:
        sent = history[(guardian_id, student_id, version_id)]
        if len(sent) >= setting.max_reminders or max([asked_at, *sent]) > cutoff:
            continue
        due.append(Unreviewed(guardian_id, student_id, version_id))
    return due


def remind_confirmation(
    db: Session, settings: Settings, request: ChoiceEvent, *, actor: Actor, via: str
) -> bool:
    """The confirmation mail again, marked as a reminder, with a fresh link; False when the
    guardian's resends are rate-limited (then nothing is counted)."""
    account_id = actor.id if actor.type == "account" else None
    token = requests.resend(
        db, settings, request, account_id=account_id, via=f"reminder_{via}", reminder=True
    )
    if token is None:
        return False
    assert request.guardian_id is not None
    db.add(
        Reminder(
            board_id=request.board_id,
            guardian_id=request.guardian_id,
            student_id=request.student_id,
            kind="confirmation",
            choice_event_id=request.id,
            via=via,
            actor_account_id=account_id,
        )
    )
    db.flush()
    record(
        db,
        "reach.reminder_sent",
        actor=actor,
        board_id=request.board_id,
        target_type="choice_event",
        target_id=request.id,
        details={"kind": "confirmation", "via": via, "guardian_id": request.guardian_id},
    )
    return True


def remind_changes(
    db: Session,
    settings: Settings,
    board_id: int,
    guardian_id: int,
    items: list[Unreviewed],
    *,
    actor: Actor,
    via: str,
) -> bool:
    """One mail to the guardian naming each child and changed service; False without an address."""
    guardian = db.get(Guardian, guardian_id)
    if guardian is None or not guardian.email or not items:
        return False
    students = {
        s.id: s for s in db.scalars(select(Student).where(Student.id.in_({i.student_id for i in items})))
    }
    versions = {
        v.id: v
        for v in db.scalars(
            select(ServiceVersion).where(ServiceVersion.id.in_({i.version_id for i in items}))
        )
    }
    by_child: dict[int, list[ServiceVersion]] = defaultdict(list)
    for item in items:
        by_child[item.student_id].append(versions[item.version_id])
    board = db.get_one(Board, board_id)
    queue_email(
        db,
        to=guardian.email,
        template="email/reach_change_reminder.txt",
        context={
            "guardian": guardian,
            "board": board,
            "children": [(students[sid], vs) for sid, vs in sorted(by_child.items())],
            "base_url": settings.base_url.rstrip("/"),
            "LABELS": LABELS,
        },
        purpose="change_reminder",
        language=language_of(guardian),
        board_id=board_id,
    )
    account_id = actor.id if actor.type == "account" else None
    for item in items:
        db.add(
            Reminder(
                board_id=board_id,
                guardian_id=guardian_id,
                student_id=item.student_id,
                kind="service_change",
                service_version_id=item.version_id,
                via=via,
                actor_account_id=account_id,
            )
        )
    db.flush()
    record(
        db,
        "reach.reminder_sent",
        actor=actor,
        board_id=board_id,
        target_type="guardian",
        target_id=guardian_id,
        details={
            "kind": "service_change",
            "via": via,
            "service_versions": sorted({i.version_id for i in items}),
        },
    )
    return True


def send_due(db: Session, settings: Settings, board_id: int, now: datetime | None = None) -> int:
    """Send every reminder of this board that is due; returns how many mails were queued."""
    now = now or utcnow()
    setting = reminders_of(db, board_id)
    if setting.max_reminders == 0:
        return 0
    sent = 0
    for request in due_confirmations(db, board_id, setting, now):
        sent += remind_confirmation(db, settings, request, actor=Actor("system"), via="job")
    grouped: dict[int, list[Unreviewed]] = defaultdict(list)
    for item in due_changes(db, board_id, setting, now):
        grouped[item.guardian_id].append(item)
    for guardian_id, items in grouped.items():
        sent += remind_changes(db, settings, board_id, guardian_id, items, actor=Actor("system"), via="job")
    return sent


def remind_by_hand(
    db: Session,
    settings: Settings,
    board_id: int,
    kind: str,
    guardian_id: int,
    student_id: int,
    *,
    actor: Actor,
) -> int:
    """A staff member reminds one family now (the pair is in the caller's scope: the surface
    checks). Conflict when there is nothing left to remind of — the guardian already acted."""
    if kind == "confirmation":
        pending = list(
            db.scalars(
                _pending_requests(board_id).where(
                    ChoiceEvent.guardian_id == guardian_id, ChoiceEvent.student_id == student_id
                )
            )
        )
        if not pending:
            raise Conflict("Nothing to remind of: this family has already answered.")
        sent = sum(remind_confirmation(db, settings, r, actor=actor, via="staff") for r in pending)
        if not sent:
            raise Conflict("This family was sent a link several times in the last hour. Please try later.")
        return sent
    rows = db.execute(_unreviewed_rows(db, board_id, guardian_id=guardian_id, student_id=student_id)).all()
    items = [Unreviewed(g, s, v) for g, s, v, _published in rows]
    if not items or not remind_changes(db, settings, board_id, guardian_id, items, actor=actor, via="staff"):
        raise Conflict("Nothing to remind of: this family has already answered.")
    return 1


def job_kind(settings: Settings) -> JobKind:
    """The periodic job (wired in app/worker.py): each board in its own transaction."""

    def run(database: Database, _run: JobRun) -> None:
        with database.session() as db:
            board_ids = list(db.scalars(select(Board.id).order_by(Board.id)))
        for board_id in board_ids:
            while True:
                with database.transaction() as db:
                    if send_due(db, settings, board_id) < CHUNK:
                        break

    return JobKind(SEND, run, every=SEND_EVERY)

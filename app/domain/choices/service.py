"""Writing and reading choices. Events are appended, never edited; CurrentChoice is the
projection of the latest confirmed event per (student, definition), kept in step here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import EllipsisType
from typing import Literal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from app.domain.audit.service import Actor, record
from app.domain.catalog.published import Offered
from app.domain.catalog.service import current_notice
from app.domain.choices.models import ChoiceEvent, CurrentChoice, FeedCounter
from app.domain.choices.queries import pending_requests_for
from app.errors import Conflict, Invalid

RequestState = Literal["pending", "confirmed", "cancelled", "expired"]


@dataclass
class Effective:
    value: str
    category_codes: list[str]
    since: datetime | None
    channel: str | None
    event_id: int | None

    @property
    def is_default(self) -> bool:
        return self.event_id is None


def validate_choice(definition: Offered, value: str, category_codes: list[str]) -> str | None:
    """None when the value is allowed; otherwise an English msgid saying what is wrong."""
    if definition.status != "active":
        return "This choice is no longer offered."
    if value not in definition.options:
        return "Please choose one of the options shown."
    if definition.kind == "categories" and value == "hide_some":
        if not category_codes:
            return "Please tick at least one kind of data to hide."
        if not set(category_codes) <= set(definition.category_codes):
            return "One of the kinds of data cannot be chosen here."
        if len(set(category_codes)) != len(category_codes):
            return "One of the kinds of data cannot be chosen here."
    elif category_codes:
        return "One of the kinds of data cannot be chosen here."
    return None


def hidden_by(definition: Offered, value: str, chosen: Sequence[str]) -> list[str]:
    """The kinds of data a value of a categories choice hides: the one list that the guardian
    reads, the receipt states and exports and the API send. `hide_all` hides the kinds the
    choice offers (frozen into the request when it is made), `hide_some` those chosen."""
    if value == definition.default_value:
        return []
    if value == "hide_all":
        return list(chosen) or list(definition.category_codes)
    return sorted(chosen)


@dataclass(frozen=True)
class Difference:
    """What confirming a request would change, against the setting in force."""

    newly_hidden: list[str]  # kinds of data (categories choices)
    shown_again: list[str]
    changes_value: bool

    @property
    def changes_nothing(self) -> bool:
        return not (self.newly_hidden or self.shown_again or self.changes_value)


def difference(definition: Offered, current: Effective, request: ChoiceEvent) -> Difference:
    if definition.kind != "categories":
        return Difference([], [], request.value != current.value)
    before = hidden_by(definition, current.value, current.category_codes)
    after = hidden_by(definition, request.value, request.category_codes)
    return Difference(
        [code for code in after if code not in before],
        [code for code in before if code not in after],
        request.value != current.value,
    )


def _default(definition: Offered) -> Effective:
    return Effective(definition.default_value, [], None, None, None)


def _from_current(row: CurrentChoice) -> Effective:
    return Effective(row.value, list(row.category_codes), row.effective_since, row.channel, row.event_id)


def effective_choice(db: Session, student_id: int, definition: Offered) -> Effective:
    row = db.scalar(
        select(CurrentChoice).where(
            CurrentChoice.student_id == student_id, CurrentChoice.definition_id == definition.id
        )
    )
    return _from_current(row) if row else _default(definition)


def effective_choices(
    db: Session, student_ids: Sequence[int], definitions: Sequence[Offered]
) -> dict[tuple[int, int], Effective]:
    """(student_id, definition_id) → effective value, defaults filled in."""
    result = {(s, d.id): _default(d) for s in student_ids for d in definitions}
    if not student_ids or not definitions:
        return result
    rows = db.scalars(
        select(CurrentChoice).where(
            CurrentChoice.student_id.in_(student_ids),
            CurrentChoice.definition_id.in_([d.id for d in definitions]),
        )
    )
    for row in rows:
        result[(row.student_id, row.definition_id)] = _from_current(row)
    return result


def _actor(account_id: int | None) -> Actor:
    return Actor.account(account_id) if account_id is not None else Actor("system")


def write_request(
    db: Session,
    *,
    definition: Offered,
    student_id: int,
    value: str,
    category_codes: list[str],
    channel: str,
    actor_account_id: int | None,
    guardian_id: int | None,
    reason: str = "",
    received: tuple[date, str] | None = None,
    notice_id: int | EllipsisType | None = ...,
) -> ChoiceEvent:
    """`notice_id`: the notice version in force, when the caller has read it already."""
    problem = validate_choice(definition, value, category_codes)
    if problem:
        raise Invalid(fields={"value": problem})
    if isinstance(notice_id, EllipsisType):
        notice = current_notice(db, definition.board_id)
        notice_id = notice.id if notice is not None else None
    if definition.kind == "categories" and value == "hide_all":
        category_codes = hidden_by(definition, value, [])
    event = ChoiceEvent(
        board_id=definition.board_id,
        student_id=student_id,
        definition_id=definition.id,
        kind="requested",
        value=value,
        category_codes=category_codes if value == "hide_all" else sorted(category_codes),
        channel=channel,
        reason=reason,
        actor_account_id=actor_account_id,
        guardian_id=guardian_id,
        notice_version_id=notice_id,
        received_on=received[0] if received else None,
        received_by=received[1] if received else "",
        definition_version=definition.version,
    )
    db.add(event)
    db.flush()
    record(
        db,
        "choice.requested",
        actor=_actor(actor_account_id),
        board_id=definition.board_id,
        target_type="choice_event",
        target_id=event.id,
        details={
            "student_id": student_id,
            "definition_id": definition.id,
            "value": value,
            "channel": channel,
        },
    )
    return event


def closing_event(db: Session, request: ChoiceEvent) -> ChoiceEvent | None:
    """The event that confirmed, cancelled or expired a request (None while it is pending)."""
    return db.scalar(select(ChoiceEvent).where(ChoiceEvent.request_id == request.id).limit(1))


def request_state(db: Session, request: ChoiceEvent) -> RequestState:
    closing = closing_event(db, request)
    if closing is None:
        return "pending"
    state: RequestState = closing.kind  # type: ignore[assignment]
    return state


def _follow_up(request: ChoiceEvent, kind: str, actor_account_id: int | None) -> ChoiceEvent:
    return ChoiceEvent(
        board_id=request.board_id,
        student_id=request.student_id,
        definition_id=request.definition_id,
        kind=kind,
        request_id=request.id,
        value=request.value,
        category_codes=list(request.category_codes),
        channel=request.channel,
        reason=request.reason,
        definition_version=request.definition_version,
        actor_account_id=actor_account_id,
        guardian_id=request.guardian_id,
        notice_version_id=request.notice_version_id,
        received_on=request.received_on,
        received_by=request.received_by,
    )


def confirm_request(
    db: Session,
    request: ChoiceEvent,
    *,
    actor_account_id: int | None,
    pending_with: CurrentChoice | EllipsisType | None = ...,
) -> ChoiceEvent:
    """`pending_with`: the caller read in this transaction that the request is pending, and
    the choice in force (None: the default) — the confirmation link's one statement."""
    if isinstance(pending_with, EllipsisType):
        if request.kind != "requested" or request_state(db, request) != "pending":
            raise Conflict("This request is no longer waiting for confirmation.")
        current = db.scalar(
            select(CurrentChoice).where(
                CurrentChoice.student_id == request.student_id,
                CurrentChoice.definition_id == request.definition_id,
            )
        )
    else:
        if request.kind != "requested":
            raise Conflict("This request is no longer waiting for confirmation.")
        current = pending_with
    if current is not None and current.event_id > request.id:
        # Something newer took effect since this request was made: it is no longer the
        # family's latest word (the school's record closes such requests; this is the guard).
        raise Conflict("This request is no longer waiting for confirmation.")
    event = _follow_up(request, "confirmed", actor_account_id)
    event.receipt_id = str(uuid.uuid4())
    event.feed_position = next_feed_position(db, request.board_id)
    db.add(event)
    db.flush()
    if current is None:
        current = CurrentChoice(
            board_id=request.board_id, student_id=request.student_id, definition_id=request.definition_id
        )
        db.add(current)
    current.value = event.value
    current.category_codes = list(event.category_codes)
    current.event_id = event.id
    current.channel = event.channel
    current.effective_since = event.created_at
    db.flush()
    record(
        db,
        "choice.confirmed",
        actor=_actor(actor_account_id),
        board_id=request.board_id,
        target_type="choice_event",
        target_id=event.id,
        details={
            "request_id": request.id,
            "student_id": request.student_id,
            "definition_id": request.definition_id,
            "value": event.value,
        },
    )
    return event


def next_feed_position(db: Session, board_id: int) -> int:
    """The board's next change-feed position. The upsert locks the board's counter row until
    this transaction ends, so a later position can never become visible before an earlier one
    (ADR 0079); confirmations of one board queue here for the rest of their transaction."""
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(FeedCounter)
        .values(board_id=board_id, position=1)
        .on_conflict_do_update(index_elements=["board_id"], set_={"position": FeedCounter.position + 1})
        .returning(FeedCounter.position)
    )
    position: int = db.execute(statement).scalar_one()
    return position


def close_request(
    db: Session,
    request: ChoiceEvent,
    kind: Literal["cancelled", "expired"],
    *,
    actor_account_id: int | None,
    channel: str | None = None,
    reason: str | None = None,
) -> ChoiceEvent:
    """Close a pending request without effect; `channel`/`reason` say how, when not the guardian."""
    if request.kind != "requested" or request_state(db, request) != "pending":
        raise Conflict("This request is no longer waiting for confirmation.")
    event = _follow_up(request, kind, actor_account_id)
    event.channel = channel or request.channel
    event.reason = request.reason if reason is None else reason
    db.add(event)
    db.flush()
    record(
        db,
        f"choice.{kind}",
        actor=_actor(actor_account_id),
        board_id=request.board_id,
        target_type="choice_event",
        target_id=event.id,
        details={"request_id": request.id, "channel": event.channel},
    )
    return event


def pending_requests(db: Session, student_id: int, definition_id: int | None = None) -> list[ChoiceEvent]:
    found = pending_requests_for(db, [student_id], None if definition_id is None else [definition_id])
    return sorted((event for events in found.values() for event in events), key=lambda event: event.id)


def record_confirmed(
    db: Session,
    *,
    definition: Offered,
    student_id: int,
    value: str,
    category_codes: list[str],
    channel: str,
    reason: str,
    actor_account_id: int | None,
    guardian_id: int | None = None,
    received: tuple[date, str] | None = None,
) -> ChoiceEvent:
    """A choice staff take on paper, by phone or in person: effective at once. `received`:
    the day and way the school received it, for a choice carried over from before Tobira."""
    request = write_request(
        db,
        definition=definition,
        student_id=student_id,
        value=value,
        category_codes=category_codes,
        channel=channel,
        actor_account_id=actor_account_id,
        guardian_id=guardian_id,
        reason=reason,
        received=received,
    )
    return confirm_request(db, request, actor_account_id=actor_account_id)


def history(db: Session, student_id: int) -> list[ChoiceEvent]:
    return list(
        db.scalars(
            select(ChoiceEvent)
            .options(joinedload(ChoiceEvent.definition))
            .where(ChoiceEvent.student_id == student_id)
            .order_by(ChoiceEvent.id.desc())
        )
    )

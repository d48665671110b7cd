"""Who saw a child's data: what a guardian is shown of the audit log and the evidence tables.

Four kinds of access, each with the time (ADR 0086):

- `view`: staff opened the child's record (or the form that records a choice for the child);
- `export`: an opt-out export held the child (`export_students`, written set-based);
- `record`: staff recorded a choice for the child on a guardian's word;
- `api`: a downstream system (the API key's name) picked up the child's entry from the hide
  list or the change feed, derived from one row per API response (`api_pickups`), grouped
  per system and kind with how many times, first and last.

Staff are shown by role and by whether it was at the child's school or the board — their name
only when the board chose so (`boards.show_staff_names`, default off). A fixed number of
statements whatever the data size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from app.domain.accounts.models import Account, StaffRole
from app.domain.apikeys.models import ApiKey
from app.domain.audit.models import AuditEvent
from app.domain.boards.models import Board
from app.domain.catalog.models import ChoiceDefinition
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.evidence.models import ApiPickup, ExportRecord, ExportStudent
from app.domain.people.models import Student

SHOWN = 50
# The most specific role an account holds says in what capacity it looked.
ROLE_ORDER = ("teacher", "school_admin", "board_admin", "auditor")
KINDS = ("view", "export", "record", "api")


@dataclass(frozen=True)
class Access:
    at: datetime
    page: str  # view: "record" | "record_form"; export: its format; record: the channel; api: the feed
    role: str  # a staff role code, or "" when the account holds none any more (or not staff)
    at_school: bool  # the role is at the child's school (False: board-wide)
    kind: str = "view"  # one of KINDS
    staff_name: str = ""  # only when the board shows staff names
    system: str = ""  # api: the downstream system (API key name); export by the CLI: "cli"
    times: int = 1  # api: how many responses held the child's entry
    first_at: datetime | None = None  # api: the first of them


def access_history(db: Session, student: Student) -> list[Access]:
    """Everything that touched this child's data, newest first (seven statements)."""
    show_names = bool(db.scalar(select(Board.show_staff_names).where(Board.id == student.board_id)))
    accesses = [
        *_views(db, student, show_names),
        *_exports(db, student, show_names),
        *_records(db, student, show_names),
        *_pickups(db, student),
    ]
    return sorted(accesses, key=lambda access: access.at, reverse=True)


# Who acted, joined to the staff role(s) the account holds in the child's board.
STAFF_COLUMNS = (StaffRole.role, StaffRole.school_id, Account.display_name)


def _staff_joins(query: Any, student: Student, actor: Any) -> Any:
    return query.outerjoin(
        StaffRole, (StaffRole.account_id == actor) & (StaffRole.board_id == student.board_id)
    ).outerjoin(Account, Account.id == actor)


def _choose(rows: Iterable[Sequence[Any]], student: Student, kind: str, show_names: bool) -> list[Access]:
    """Rows (key, at, page, system, role, school_id, name): the best-fitting role per key."""
    chosen: dict[Any, Access] = {}
    for key, at, page, system, role, school_id, name in rows:
        here = school_id == student.school_id
        candidate = Access(
            at,
            str(page),
            role or "",
            here,
            kind=kind,
            staff_name=(name or "") if show_names and role else "",
            system=system or "",
        )
        current = chosen.get(key)
        if current is None or _rank(candidate) < _rank(current):
            chosen[key] = candidate
    return sorted(chosen.values(), key=lambda access: access.at, reverse=True)[:SHOWN]


def _views(db: Session, student: Student, show_names: bool) -> list[Access]:
    query = select(AuditEvent.id, AuditEvent.occurred_at, AuditEvent.details, AuditEvent.actor_type)
    query = _staff_joins(query.add_columns(*STAFF_COLUMNS), student, AuditEvent.actor_id)
    rows = db.execute(
        query.where(
            AuditEvent.board_id == student.board_id,
            AuditEvent.action == "student.viewed",
            AuditEvent.actor_type == "account",
            AuditEvent.target_type == "student",
            AuditEvent.target_id == str(student.id),
        )
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(SHOWN * len(ROLE_ORDER))
    ).all()
    shaped = [
        (event_id, at, (details or {}).get("page", "record"), "", role, school_id, name)
        for event_id, at, details, _actor, role, school_id, name in rows
    ]
    return _choose(shaped, student, "view", show_names)


def _exports(db: Session, student: Student, show_names: bool) -> list[Access]:
    query = (
        select(ExportRecord.id, ExportRecord.created_at, ExportRecord.format, ExportRecord.actor_type)
        .select_from(ExportStudent)
        .join(ExportRecord, ExportRecord.id == ExportStudent.export_id)
    )
    query = _staff_joins(query.add_columns(*STAFF_COLUMNS), student, ExportRecord.actor_account_id)
    rows = db.execute(
        query.where(ExportStudent.student_id == student.id, ExportRecord.board_id == student.board_id)
        .order_by(ExportRecord.created_at.desc(), ExportRecord.id.desc())
        .limit(SHOWN * len(ROLE_ORDER))
    ).all()
    shaped = [
        (export_id, at, fmt, "" if actor == "account" else actor, role, school_id, name)
        for export_id, at, fmt, actor, role, school_id, name in rows
    ]
    return _choose(shaped, student, "export", show_names)


def _records(db: Session, student: Student, show_names: bool) -> list[Access]:
    query = select(ChoiceEvent.id, ChoiceEvent.created_at, ChoiceEvent.channel).add_columns(*STAFF_COLUMNS)
    query = _staff_joins(query, student, ChoiceEvent.actor_account_id)
    rows = db.execute(
        query.where(
            ChoiceEvent.student_id == student.id,
            ChoiceEvent.kind == "confirmed",
            Account.kind == "staff",
        )
        .order_by(ChoiceEvent.created_at.desc(), ChoiceEvent.id.desc())
        .limit(SHOWN * len(ROLE_ORDER))
    ).all()
    shaped = [
        (event_id, at, channel, "", role, school_id, name)
        for event_id, at, channel, role, school_id, name in rows
    ]
    return _choose(shaped, student, "record", show_names)


def _hidden_intervals(db: Session, student: Student) -> ColumnElement[bool]:
    """Feed positions during which the child's entry was on a definition's hide list: from a
    confirmed non-default value to the next confirmed event of that choice."""
    events = db.execute(
        select(
            ChoiceEvent.definition_id,
            ChoiceEvent.feed_position,
            ChoiceEvent.value,
            ChoiceDefinition.default_value,
        )
        .join(ChoiceDefinition, ChoiceDefinition.id == ChoiceEvent.definition_id)
        .where(
            ChoiceEvent.student_id == student.id,
            ChoiceEvent.kind == "confirmed",
            ChoiceEvent.feed_position.is_not(None),
        )
        .order_by(ChoiceEvent.definition_id, ChoiceEvent.feed_position)
    ).all()
    parts: list[ColumnElement[bool]] = []
    by_definition: dict[int, list[tuple[int, bool]]] = {}
    for definition_id, position, value, default in events:
        by_definition.setdefault(definition_id, []).append((int(position or 0), value != default))
    for definition_id, steps in by_definition.items():
        for index, (start, hidden) in enumerate(steps):
            if not hidden:
                continue
            condition = and_(ApiPickup.definition_id == definition_id, ApiPickup.served_position >= start)
            if index + 1 < len(steps):
                condition = and_(condition, ApiPickup.served_position < steps[index + 1][0])
            parts.append(condition)
    return or_(false(), *parts)


def _pickups(db: Session, student: Student) -> list[Access]:
    hidden = _hidden_intervals(db, student)
    grouped = (
        ApiPickup.api_key_id,
        ApiKey.name,
        func.count(func.distinct(ApiPickup.id)),
        func.min(ApiPickup.picked_at),
        func.max(ApiPickup.picked_at),
    )
    hide_lists = db.execute(
        select(*grouped)
        .join(ApiKey, ApiKey.id == ApiPickup.api_key_id)
        .join(
            CurrentChoice,
            and_(
                CurrentChoice.student_id == student.id,
                CurrentChoice.definition_id == ApiPickup.definition_id,
                CurrentChoice.id > ApiPickup.low,
                CurrentChoice.id <= ApiPickup.high,
            ),
        )
        .where(ApiPickup.board_id == student.board_id, ApiPickup.kind == "hide_list", hidden)
        .group_by(ApiPickup.api_key_id, ApiKey.name)
    ).all()
    feeds = db.execute(
        select(*grouped)
        .join(ApiKey, ApiKey.id == ApiPickup.api_key_id)
        .join(
            ChoiceEvent,
            and_(
                ChoiceEvent.student_id == student.id,
                ChoiceEvent.board_id == ApiPickup.board_id,
                ChoiceEvent.feed_position > ApiPickup.low,
                ChoiceEvent.feed_position <= ApiPickup.high,
                or_(ApiPickup.definition_id.is_(None), ApiPickup.definition_id == ChoiceEvent.definition_id),
            ),
        )
        .where(ApiPickup.board_id == student.board_id, ApiPickup.kind == "changes")
        .group_by(ApiPickup.api_key_id, ApiKey.name)
    ).all()
    found: list[Access] = []
    for feed, rows in (("hide_list", hide_lists), ("changes", feeds)):
        for _key, name, times, first, last in rows:
            found.append(
                Access(last, feed, "", False, kind="api", system=name, times=int(times), first_at=first)
            )
    return found


def _rank(access: Access) -> tuple[int, int]:
    order = ROLE_ORDER.index(access.role) if access.role in ROLE_ORDER else len(ROLE_ORDER)
    return (0 if access.at_school else 1, order)

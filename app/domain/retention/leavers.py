"""Students whose period after leaving has ended, and what goes with them (ADR 0087).

A student left when the roster made them inactive (`deactivated_at`; `updated_at` for rows
that arrived inactive). When `student_years` have passed since, the student is **removed**
with their choice events (receipts are those events), the current-choice rows, the roster
links, their one-time tokens and coverage rules naming them. A guardian left with no child
on the roster is removed too (with their account links and tokens), as are the outbox rows
addressed to them — only "who was mailed what, when" is left of those by then — and
guardian accounts that act for nobody any more. Choice events of children who stay keep
their content: the removed guardian and account are cleared from them (anonymised) by the
foreign keys' SET NULL. Audit events are not touched here: they go by age, from the start
of the chain (`app.domain.audit.removal`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.orm import Session, aliased

from app.domain.accounts.models import Account, AccountGuardian, StudentAccount
from app.domain.catalog.models import ServiceAssignment
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.choices.service import next_feed_position
from app.domain.notifications.models import OutboxEmail
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.tokens.models import OneTimeToken

CHUNK = 500


def _chunks(ids: Sequence[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def left_before(board_id: int, cutoff: datetime) -> Select[Any]:
    left_at = func.coalesce(Student.deactivated_at, Student.updated_at)
    return select(Student.id).where(
        Student.board_id == board_id, Student.status == "inactive", left_at < cutoff
    )


@dataclass(frozen=True)
class Leavers:
    students: list[int]
    guardians: list[int]
    accounts: list[int]
    addresses: list[str]


def find(db: Session, board_id: int, cutoff: datetime) -> Leavers:
    """Who goes: the students, the guardians with no child left (or none for as long), the
    guardian accounts acting for nobody else, the students' own accounts, and the addresses no
    remaining guardian uses."""
    students = list(db.scalars(left_before(board_id, cutoff).order_by(Student.id)))
    gone = set(students)
    links = db.execute(
        select(GuardianStudent.guardian_id, GuardianStudent.student_id)
        .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
        .where(Guardian.board_id == board_id, GuardianStudent.guardian_id.in_(_linked_to(board_id, cutoff)))
    )
    keeps: dict[int, bool] = {}
    for guardian_id, student_id in links:
        keeps[guardian_id] = keeps.get(guardian_id, False) or student_id not in gone
    link = aliased(GuardianStudent)
    orphans = db.scalars(  # no child at all, and unchanged for the whole period
        select(Guardian.id).where(
            Guardian.board_id == board_id,
            Guardian.updated_at < cutoff,
            ~exists(select(link.id).where(link.guardian_id == Guardian.id)),
        )
    )
    guardians = sorted({g for g, kept in keeps.items() if not kept} | set(orphans))
    accounts: list[int] = []
    addresses: set[str] = set()
    for chunk in _chunks(guardians):
        addresses |= {a for a in db.scalars(select(Guardian.email).where(Guardian.id.in_(chunk))) if a}
        other = aliased(AccountGuardian)
        accounts += db.scalars(
            select(Account.id)
            .join(AccountGuardian, AccountGuardian.account_id == Account.id)
            .where(
                Account.kind == "guardian",
                AccountGuardian.guardian_id.in_(chunk),
                ~exists(
                    select(other.id).where(
                        other.account_id == Account.id, other.guardian_id.not_in(guardians)
                    )
                ),
            )
            .distinct()
        )
    for chunk in _chunks(students):  # the students' own sign-ins (ADR 0085) go with them
        accounts += db.scalars(select(StudentAccount.account_id).where(StudentAccount.student_id.in_(chunk)))
    if addresses:
        staying = set(
            db.scalars(
                select(Guardian.email).where(
                    Guardian.board_id == board_id,
                    Guardian.email.in_(sorted(addresses)),
                    Guardian.id.not_in(guardians),
                )
            )
        )
        addresses -= staying
    return Leavers(students, guardians, sorted(set(accounts)), sorted(addresses))


def _linked_to(board_id: int, cutoff: datetime) -> Select[Any]:
    return select(GuardianStudent.guardian_id).where(
        GuardianStudent.student_id.in_(left_before(board_id, cutoff))
    )


# (kind, which of the Leavers' lists, table, the column holding those ids), in an order the
# foreign keys allow.
STEPS: tuple[tuple[str, str, Any, Any], ...] = (
    ("outbox_rows", "addresses", OutboxEmail, OutboxEmail.to_address),
    ("student_tokens", "students", OneTimeToken, OneTimeToken.student_id),
    ("guardian_tokens", "guardians", OneTimeToken, OneTimeToken.guardian_id),
    ("current_choices", "students", CurrentChoice, CurrentChoice.student_id),
    ("choice_events", "students", ChoiceEvent, ChoiceEvent.student_id),
    ("coverage_rules", "students", ServiceAssignment, ServiceAssignment.student_id),
    ("guardian_links", "students", GuardianStudent, GuardianStudent.student_id),
    ("student_accounts", "students", StudentAccount, StudentAccount.student_id),
    ("students", "students", Student, Student.id),
    ("account_links", "guardians", AccountGuardian, AccountGuardian.guardian_id),
    ("guardians", "guardians", Guardian, Guardian.id),
    ("accounts", "accounts", Account, Account.id),
)


def _apply(db: Session, board_id: int, leavers: Leavers, *, remove: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, which, model, column in STEPS:
        total = 0
        for chunk in _chunks(getattr(leavers, which)):
            condition = column.in_(chunk)
            if model is OutboxEmail:  # an address may be on file at another board too
                condition = condition & (OutboxEmail.board_id == board_id)
            if remove:
                result = db.execute(
                    delete(model).where(condition).execution_options(synchronize_session=False)
                )
                total += int(result.rowcount or 0)  # type: ignore[attr-defined]
            else:
                total += int(db.scalar(select(func.count()).select_from(model).where(condition)) or 0)
        counts[kind] = total
    return counts


def count(db: Session, board_id: int, leavers: Leavers) -> dict[str, int]:
    """What `remove` would delete, per kind (a token of both a student and a guardian who go
    is counted under each)."""
    return _apply(db, board_id, leavers, remove=False)


def remove(db: Session, board_id: int, leavers: Leavers) -> dict[str, int]:
    """Delete in foreign-key order; the caller has opened the removal path (choice events).

    Removed current choices leave the API's hide and choice lists, whose ETag follows the
    board's feed counter (ADR 0099): the counter moves on, so no client keeps a 304."""
    counts = _apply(db, board_id, leavers, remove=True)
    if counts.get("current_choices"):
        next_feed_position(db, board_id)
    return counts

"""Who Tobira has not reached yet, per school and homeroom, and the families behind each
number (ADR 0084). Every count is of guardians; a list is of guardian–child pairs.

- no_email: the school has no e-mail address on file for the guardian;
- not_redeemed: a letter code was issued for this guardian and child, and no account acts for
  the guardian (the code was not redeemed, nor the guardian linked another way);
- never_signed_in: no account acting for the guardian has ever signed in;
- waiting: a request of the guardian about this child has waited for confirmation longer than
  the board's reminder delay;
- unreviewed: a material change to an active service still covering this child asked the
  guardian to review their choices, and they have not yet (a `service_reviews` row, ADR 0090).

Each read is one statement for any number of schools, classes and families.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, exists, false, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from app.domain.accounts.linking import ENROLMENT_PURPOSE
from app.domain.accounts.models import Account, AccountGuardian
from app.domain.catalog import coverage
from app.domain.catalog.models import Service, ServiceAssignment, ServiceReview
from app.domain.choices.models import ChoiceEvent
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, Student
from app.domain.reach.settings import Reminders
from app.domain.tokens.models import OneTimeToken
from app.i18n import N_

MEASURES = ("no_email", "not_redeemed", "never_signed_in", "waiting", "unreviewed")
# What each number means, for the page (msgids).
MEASURE_LABELS = {
    "no_email": N_("No e-mail on file"),
    "not_redeemed": N_("Letter code not redeemed"),
    "never_signed_in": N_("Never signed in"),
    "waiting": N_("Request waiting for confirmation"),
    "unreviewed": N_("Service change not yet reviewed"),
}
# The lists whose families can be reminded by e-mail, and the reminder's kind.
REMINDABLE = {"waiting": "confirmation", "unreviewed": "service_change"}


@dataclass(frozen=True)
class Scope:
    """Whose families: one board, every school (None) or these schools."""

    board_id: int
    school_ids: frozenset[int] | None = None

    def students(self) -> ColumnElement[bool]:
        clause = Student.board_id == self.board_id
        if self.school_ids is not None:
            clause = clause & Student.school_id.in_(sorted(self.school_ids))
        return clause


def waiting_request(now: datetime, reminders: Reminders) -> ColumnElement[bool]:
    """A pending request of the guardian about the child, older than the reminder delay."""
    closing = aliased(ChoiceEvent)
    return exists().where(
        ChoiceEvent.kind == "requested",
        ChoiceEvent.guardian_id == Guardian.id,
        ChoiceEvent.student_id == Student.id,
        ChoiceEvent.created_at <= now - reminders.confirmation_delay,
        ~exists().where(closing.request_id == ChoiceEvent.id),
    )


def owed_reviews(assignments: Sequence[ServiceAssignment]) -> ColumnElement[bool]:
    """Conditions on `service_reviews` (and the guardian and student): a material change to an
    active service still covering the child that the guardian has not reviewed (ADR 0090)."""
    if not assignments:
        return false()
    covered = or_(
        *[and_(ServiceReview.service_id == a.service_id, coverage.condition(a)) for a in assignments]
    )
    return and_(
        ServiceReview.guardian_id == Guardian.id,
        ServiceReview.student_id == Student.id,
        ServiceReview.reviewed_at.is_(None),
        exists().where(Service.id == ServiceReview.service_id, Service.status == "active"),
        covered,
    )


def board_assignments(db: Session, board_id: int) -> list[ServiceAssignment]:
    return list(
        db.scalars(
            select(ServiceAssignment)
            .join(Service, Service.id == ServiceAssignment.service_id)
            .where(Service.board_id == board_id, Service.status == "active")
        )
    )


def flags(
    board_id: int, now: datetime, reminders: Reminders, assignments: Sequence[ServiceAssignment]
) -> dict[str, ColumnElement[bool]]:
    """Each measure as a condition on one (Guardian, Student) row."""
    return {
        "no_email": or_(Guardian.email.is_(None), Guardian.email == ""),
        "not_redeemed": and_(
            exists().where(
                OneTimeToken.purpose == ENROLMENT_PURPOSE,
                OneTimeToken.guardian_id == Guardian.id,
                OneTimeToken.student_id == Student.id,
            ),
            ~exists().where(AccountGuardian.guardian_id == Guardian.id),
        ),
        "never_signed_in": ~exists()
        .where(AccountGuardian.guardian_id == Guardian.id)
        .where(Account.id == AccountGuardian.account_id, Account.last_sign_in_at.is_not(None)),
        "waiting": waiting_request(now, reminders),
        "unreviewed": exists().where(owed_reviews(assignments)),
    }


def _pairs_where(scope: Scope) -> list[ColumnElement[bool]]:
    return [
        scope.students(),
        Student.status == "active",
        Guardian.status == "active",
        GuardianStudent.status == "active",
    ]


@dataclass
class Counts:
    guardians: int = 0
    by_measure: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))


@dataclass
class HomeroomRow:
    school_class: SchoolClass | None  # None: students without a homeroom
    counts: Counts


@dataclass
class SchoolRow:
    school: School
    counts: Counts
    homerooms: list[HomeroomRow] = field(default_factory=list)


@dataclass
class Overview:
    schools: list[SchoolRow]
    total: Counts
    reminders: Reminders


def _counted(
    db: Session, scope: Scope, conditions: dict[str, ColumnElement[bool]], group: list[Any]
) -> list[Any]:
    columns = [
        func.count(distinct(GuardianStudent.guardian_id)),
        *[func.count(distinct(case((conditions[m], GuardianStudent.guardian_id)))) for m in MEASURES],
    ]
    query = (
        select(*group, *columns)
        .select_from(GuardianStudent)
        .join(Student, Student.id == GuardianStudent.student_id)
        .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
        .where(*_pairs_where(scope))
    )
    if group:
        query = query.group_by(*group)
    return list(db.execute(query))


def _counts(row: Sequence[int]) -> Counts:
    return Counts(int(row[0]), {m: int(n) for m, n in zip(MEASURES, row[1:], strict=True)})


def overview(db: Session, scope: Scope, now: datetime, reminders: Reminders) -> Overview:
    """Counts per school, per homeroom and in all (a guardian counts once in each)."""
    conditions = flags(scope.board_id, now, reminders, board_assignments(db, scope.board_id))
    per_class = _counted(db, scope, conditions, [Student.school_id, Student.class_id])
    per_school = {row[0]: _counts(row[1:]) for row in _counted(db, scope, conditions, [Student.school_id])}
    total_rows = _counted(db, scope, conditions, [])
    schools = {s.id: s for s in db.scalars(select(School).where(School.id.in_(per_school)))}
    class_ids = {row[1] for row in per_class if row[1] is not None}
    classes = {c.id: c for c in db.scalars(select(SchoolClass).where(SchoolClass.id.in_(class_ids)))}
    rows = {sid: SchoolRow(schools[sid], counts) for sid, counts in per_school.items()}
    for school_id, class_id, *numbers in per_class:
        rows[school_id].homerooms.append(HomeroomRow(classes.get(class_id), _counts(numbers)))
    for row in rows.values():
        row.homerooms.sort(key=lambda h: (h.school_class is None, *_class_key(h.school_class)))
    ordered = sorted(rows.values(), key=lambda r: r.school.code)
    total = _counts(total_rows[0]) if total_rows else Counts()
    return Overview(ordered, total, reminders)


def _class_key(school_class: SchoolClass | None) -> tuple[str, str]:
    if school_class is None:
        return ("", "")
    return (school_class.grade or "", school_class.title)


def families(
    db: Session,
    scope: Scope,
    measure: str,
    now: datetime,
    reminders: Reminders,
    *,
    school_id: int | None = None,
    class_id: int | None = None,
) -> list[GuardianStudent]:
    """The guardian–child pairs behind one number (optionally of one school or homeroom),
    guardian and student (with school and homeroom) loaded."""
    condition = flags(scope.board_id, now, reminders, board_assignments(db, scope.board_id))[measure]
    query = (
        select(GuardianStudent)
        .join(Student, Student.id == GuardianStudent.student_id)
        .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .options(
            joinedload(GuardianStudent.guardian),
            joinedload(GuardianStudent.student).joinedload(Student.school),
            joinedload(GuardianStudent.student).joinedload(Student.school_class),
        )
        .where(*_pairs_where(scope), condition)
        .order_by(
            Student.school_id,
            SchoolClass.grade,
            SchoolClass.title,
            Student.attendance_number,
            Student.id,
            Guardian.id,
        )
    )
    if school_id is not None:
        query = query.where(Student.school_id == school_id)
    if class_id is not None:
        query = query.where(Student.class_id == class_id)
    return list(db.scalars(query).unique())

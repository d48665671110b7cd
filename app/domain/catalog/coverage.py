"""Which students a service covers: its coverage rules (`ServiceAssignment` rows).

A rule matches the students that satisfy every field it sets — a school, a grade range
(P1–P6, J1–J3, H1–H3), a homeroom, one student; a rule with none set covers the whole board.
A service covers the union of its rules; with no rule it reaches nobody. Rules are added and
removed by board administrators (console, `portal catalogue cover`), each change audited, and
the reach of a rule (students and guardians) can be previewed before it is saved. Each change
publishes a version holding the rules (`snapshot`); see app/domain/choices/coverage_changes.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, distinct, func, or_, select, true
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor, record
from app.domain.catalog.models import Service, ServiceAssignment
from app.domain.people.models import GRADES, GuardianStudent, School, SchoolClass, Student
from app.errors import Invalid, NotFound
from app.i18n import N_


@dataclass(frozen=True)
class Rule:
    school_id: int | None = None
    grade_from: str | None = None
    grade_to: str | None = None
    class_id: int | None = None
    student_id: int | None = None


@dataclass(frozen=True)
class Reach:
    students: int
    guardians: int


def grades_between(grade_from: str | None, grade_to: str | None) -> list[str]:
    low = GRADES.index(grade_from) if grade_from in GRADES else 0
    high = GRADES.index(grade_to) if grade_to in GRADES else len(GRADES) - 1
    return list(GRADES[low : high + 1])


def condition(rule: Rule | ServiceAssignment) -> ColumnElement[bool]:
    """The students a rule matches, as SQL on `students`."""
    parts: list[ColumnElement[bool]] = []
    if rule.student_id is not None:
        parts.append(Student.id == rule.student_id)
    if rule.school_id is not None:
        parts.append(Student.school_id == rule.school_id)
    if rule.class_id is not None:
        parts.append(Student.class_id == rule.class_id)
    if rule.grade_from is not None or rule.grade_to is not None:
        parts.append(Student.grade.in_(grades_between(rule.grade_from, rule.grade_to)))
    return and_(true(), *parts)


def snapshot(db: Session, service_id: int) -> list[dict[str, str]]:
    """The rules in words a person (and a file) can read: codes, titles and roster ids."""
    rows = db.execute(
        select(ServiceAssignment, School.code, SchoolClass.title, Student.sourced_id)
        .outerjoin(School, School.id == ServiceAssignment.school_id)
        .outerjoin(SchoolClass, SchoolClass.id == ServiceAssignment.class_id)
        .outerjoin(Student, Student.id == ServiceAssignment.student_id)
        .where(ServiceAssignment.service_id == service_id)
        .order_by(ServiceAssignment.id)
    )
    shown = []
    for rule, school_code, class_title, roster_id in rows:
        parts = {
            "school": school_code,
            "grade_from": rule.grade_from,
            "grade_to": rule.grade_to,
            "class": class_title,
            "student": roster_id,
        }
        shown.append({key: value for key, value in parts.items() if value})
    return shown


def newly_covered(rule: ServiceAssignment, earlier: Sequence[ServiceAssignment]) -> ColumnElement[bool]:
    """Students this rule brings in: it matches them and no rule added before it did (so a
    child covered by two new rules is told once, by the older one)."""
    before = [condition(r) for r in earlier if r.id < rule.id]
    return and_(condition(rule), ~or_(*before)) if before else condition(rule)


def rules_of(db: Session, service_id: int) -> list[ServiceAssignment]:
    return list(
        db.scalars(
            select(ServiceAssignment)
            .where(ServiceAssignment.service_id == service_id)
            .order_by(ServiceAssignment.id)
        )
    )


def reach(db: Session, board_id: int, rules: Sequence[Rule | ServiceAssignment]) -> Reach:
    """Active students the rules cover together, and their active guardians (two counts)."""
    if not rules:
        return Reach(0, 0)
    covered = and_(
        Student.board_id == board_id, Student.status == "active", or_(*[condition(r) for r in rules])
    )
    students = db.scalar(select(func.count()).select_from(Student).where(covered)) or 0
    guardians = (
        db.scalar(
            select(func.count(distinct(GuardianStudent.guardian_id)))
            .join(Student, Student.id == GuardianStudent.student_id)
            .where(covered, GuardianStudent.status == "active")
        )
        or 0
    )
    return Reach(students, guardians)


def check_rule(db: Session, board_id: int, rule: Rule) -> None:
    """Invalid naming each field that does not fit this board (nothing is written)."""
    problems: dict[str, str] = {}
    school = db.get(School, rule.school_id) if rule.school_id is not None else None
    if rule.school_id is not None and (school is None or school.board_id != board_id):
        problems["school"] = N_("Choose a school of this board.")
    for field, grade in (("grade_from", rule.grade_from), ("grade_to", rule.grade_to)):
        if grade is not None and grade not in GRADES:
            problems[field] = N_("Choose a grade (P1–P6, J1–J3, H1–H3).")
    if (
        rule.grade_from in GRADES
        and rule.grade_to in GRADES
        and GRADES.index(rule.grade_from) > GRADES.index(rule.grade_to)
    ):
        problems["grade_to"] = N_("The last grade comes before the first.")
    if rule.class_id is not None:
        homeroom = db.get(SchoolClass, rule.class_id)
        owner = db.get(School, homeroom.school_id) if homeroom is not None else None
        if (
            owner is None
            or owner.board_id != board_id
            or (rule.school_id is not None and owner.id != rule.school_id)
        ):
            problems["class"] = N_("Choose a homeroom of the chosen school.")
    if rule.student_id is not None:
        student = db.get(Student, rule.student_id)
        if student is None or student.board_id != board_id:
            problems["students"] = N_("No student of this board has this roster id.")
    if problems:
        raise Invalid(fields=problems)


def add_rule(db: Session, service: Service, rule: Rule, *, actor: Actor) -> ServiceAssignment:
    check_rule(db, service.board_id, rule)
    row = ServiceAssignment(
        service_id=service.id,
        school_id=rule.school_id,
        grade_from=rule.grade_from,
        grade_to=rule.grade_to,
        class_id=rule.class_id,
        student_id=rule.student_id,
    )
    db.add(row)
    db.flush()
    record(
        db,
        "catalog.coverage_added",
        actor=actor,
        board_id=service.board_id,
        target_type="service",
        target_id=service.id,
        details={"rule_id": row.id, **{k: v for k, v in rule.__dict__.items() if v is not None}},
    )
    return row


def remove_rule(db: Session, service: Service, rule_id: int, *, actor: Actor) -> None:
    row = db.get(ServiceAssignment, rule_id)
    if row is None or row.service_id != service.id:
        raise NotFound()
    db.delete(row)
    db.flush()
    record(
        db,
        "catalog.coverage_removed",
        actor=actor,
        board_id=service.board_id,
        target_type="service",
        target_id=service.id,
        details={"rule_id": rule_id},
    )

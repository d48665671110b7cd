"""The student's own page: the services covering them and what their guardians chose.

Built from the shared reads of the catalogue (`services_for_student`, the same coverage the
guardian child page uses) and of the choices domain (`effective_choices`,
`pending_requests_for`); a fixed number of statements whatever the catalogue size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.domain.catalog.models import ChoiceDefinition
from app.domain.catalog.service import ServiceView, services_for_student
from app.domain.choices.queries import pending_requests_for
from app.domain.choices.service import Effective, effective_choices
from app.domain.people.models import Student
from app.domain.student_view.models import StudentMessage

# Grades whose pages carry furigana over every kanji of the page's own text (ADR 0085).
RUBY_GRADES = ("P1", "P2", "P3", "P4", "P5", "P6")


@dataclass
class ChoiceLine:
    definition: ChoiceDefinition
    effective: Effective
    # A guardian asked for a change that is not confirmed yet.
    waiting: bool = False


@dataclass
class ServiceEntry:
    view: ServiceView
    choices: list[ChoiceLine] = field(default_factory=list)


@dataclass
class StudentPage:
    student: Student  # school loaded
    services: list[ServiceEntry]
    messages: list[StudentMessage]

    @property
    def with_ruby(self) -> bool:
        return self.student.grade in RUBY_GRADES

    def service_name(self, service_id: int) -> ServiceView | None:
        return next((e.view for e in self.services if e.view.service.id == service_id), None)


def load_student(db: Session, student_id: int) -> Student | None:
    return db.scalar(
        select(Student)
        .options(joinedload(Student.school))
        .where(Student.id == student_id, Student.status == "active")
    )


def student_page(db: Session, student: Student) -> StudentPage:
    views = services_for_student(db, student)
    definitions = [d for view in views for d in view.definitions]
    effective = effective_choices(db, [student.id], definitions)
    waiting = (
        set(pending_requests_for(db, [student.id], [d.id for d in definitions])) if definitions else set()
    )
    services = [
        ServiceEntry(
            view,
            [
                ChoiceLine(d, effective[(student.id, d.id)], (student.id, d.id) in waiting)
                for d in view.definitions
            ],
        )
        for view in views
    ]
    messages = list(
        db.scalars(
            select(StudentMessage)
            .where(StudentMessage.student_id == student.id)
            .order_by(StudentMessage.id.desc())
            .limit(20)
        )
    )
    return StudentPage(student, services, messages)

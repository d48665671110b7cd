"""/staff/services/{id}/coverage: which students a service covers (board administrators).

Without a rule a service reaches no guardian. A rule is a school, a grade range, a homeroom or
a list of students (by roster id); "Preview" counts the students and guardians it would reach
before "Add" saves it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor
from app.domain.catalog import coverage
from app.domain.catalog.models import Service
from app.domain.choices import coverage_changes
from app.domain.choices.labels import LABELS
from app.domain.people.models import GRADES, School, SchoolClass, Student
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.errors import form_errors
from app.surfaces.permissions import BoardAdmin, StaffScope
from app.surfaces.staff.forms import bounded_int
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/services", include_in_schema=False)
MAX_STUDENTS_PER_RULE = 500


def _service(db: Session, scope: StaffScope, service_id: int) -> Service:
    service = db.scalar(select(Service).where(Service.id == service_id, Service.board_id == scope.board_id))
    if service is None or service.status != "active":
        raise NotFound()
    return service


def _page(
    request: Request,
    db: Session,
    service: Service,
    *,
    values: dict[str, str] | None = None,
    preview: coverage.Reach | None = None,
    errors: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    rules = coverage.rules_of(db, service.id)
    schools = list(
        db.scalars(select(School).where(School.board_id == service.board_id).order_by(School.code))
    )
    homerooms = list(
        db.scalars(
            select(SchoolClass)
            .where(SchoolClass.school_id.in_([s.id for s in schools]))
            .order_by(SchoolClass.school_id, SchoolClass.title)
        )
    )
    student_ids = [r.student_id for r in rules if r.student_id is not None]
    students = (
        {s.id: s for s in db.scalars(select(Student).where(Student.id.in_(student_ids)))}
        if student_ids
        else {}
    )
    return render(
        request,
        "staff/coverage.html",
        {
            "service": service,
            "rules": rules,
            "total": coverage.reach(db, service.board_id, rules),
            "schools": schools,
            "school_names": {s.id: s for s in schools},
            "homerooms": homerooms,
            "homeroom_names": {h.id: h for h in homerooms},
            "students": students,
            "grades": GRADES,
            "values": values or {},
            "preview": preview,
            "errors": errors or [],
            "LABELS": LABELS,
        },
        status_code=status,
    )


def _rules_from_form(db: Session, board_id: int, values: dict[str, str]) -> list[coverage.Rule]:
    """One rule from the school / grades / homeroom fields, or one per listed roster id."""
    school_id = bounded_int(values["school"]) if values["school"] else None
    if values["school"] and school_id is None:
        raise Invalid(fields={"school": N_("Choose a school of this board.")})
    class_id = bounded_int(values["class"]) if values["class"] else None
    base = coverage.Rule(
        school_id=school_id,
        grade_from=values["grade_from"] or None,
        grade_to=values["grade_to"] or None,
        class_id=class_id,
    )
    roster_ids = [line.strip() for line in values["students"].splitlines() if line.strip()]
    if len(roster_ids) > MAX_STUDENTS_PER_RULE:
        raise Invalid(fields={"students": N_("List at most 500 students at a time.")})
    if not roster_ids:
        coverage.check_rule(db, board_id, base)
        return [base]
    rows = db.execute(
        select(Student.sourced_id, Student.id).where(
            Student.board_id == board_id, Student.sourced_id.in_(roster_ids)
        )
    )
    found = {sourced_id: student_id for sourced_id, student_id in rows}
    if len(found) != len(set(roster_ids)):
        raise Invalid(fields={"students": N_("No student of this board has this roster id.")})
    return [coverage.Rule(student_id=found[sid]) for sid in dict.fromkeys(roster_ids)]


@router.get("/{service_id}/coverage")
def coverage_page(request: Request, db: DbSession, scope: BoardAdmin, service_id: RowId) -> Response:
    return _page(request, db, _service(db, scope, service_id))


@router.post("/{service_id}/coverage")
def add_coverage(
    request: Request,
    db: DbSession,
    scope: BoardAdmin,
    service_id: RowId,
    school: Annotated[str, Form(max_length=20)] = "",
    grade_from: Annotated[str, Form(max_length=4)] = "",
    grade_to: Annotated[str, Form(max_length=4)] = "",
    homeroom: Annotated[str, Form(alias="class", max_length=20)] = "",
    students: Annotated[str, Form(max_length=100_000)] = "",
    action: Annotated[str, Form(max_length=10)] = "preview",
) -> Response:
    service = _service(db, scope, service_id)
    values = {
        "school": school,
        "grade_from": grade_from,
        "grade_to": grade_to,
        "class": homeroom,
        "students": students,
    }
    try:
        rules = _rules_from_form(db, service.board_id, values)
    except Invalid as exc:
        return _page(request, db, service, values=values, errors=form_errors(exc), status=422)
    if action != "add":
        return _page(request, db, service, values=values, preview=coverage.reach(db, service.board_id, rules))
    base_url = str(request.app.state.settings.base_url)
    coverage_changes.cover(db, service, rules, actor=Actor.account(scope.account_id), base_url=base_url)
    return redirect(request, f"/staff/services/{service.id}/coverage")


@router.post("/{service_id}/coverage/{rule_id}/remove")
def remove_coverage(
    request: Request, db: DbSession, scope: BoardAdmin, service_id: RowId, rule_id: RowId
) -> Response:
    service = _service(db, scope, service_id)
    coverage_changes.uncover(db, service, rule_id, actor=Actor.account(scope.account_id))
    return redirect(request, f"/staff/services/{service.id}/coverage")

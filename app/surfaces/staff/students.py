"""Students within the caller's scope: search, one student's choices, and choices that
school staff record on a guardian's behalf (paper form, phone, in person).

Every page showing student data writes an audit event; out-of-scope ids answer 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from app.domain.audit.service import Actor, record
from app.domain.catalog import service as catalog
from app.domain.catalog.definitions import board_wide_definitions
from app.domain.catalog.models import ChoiceDefinition
from app.domain.catalog.queries import category_names
from app.domain.choices import school_records
from app.domain.choices import service as choices
from app.domain.people.models import GRADES, Guardian, GuardianStudent, School, SchoolClass, Student
from app.errors import NotFound
from app.i18n import gettext, localized
from app.surfaces.dependencies import AppSettings, DbSession, RowId
from app.surfaces.permissions import ChoiceRecorder, RecentSignIn, SchoolStaff, StaffScope
from app.surfaces.staff.forms import bounded_int
from app.surfaces.staff.labels import STAFF_CHANNELS, channel_label, grade_label, reason_label, value_label
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/students", include_in_schema=False)
PAGE_SIZE = 50


def _search_query(scope: StaffScope, params: dict[str, str]) -> tuple[Select[Any], dict[str, Any]]:
    query = (
        select(Student)
        .options(joinedload(Student.school), joinedload(Student.school_class))
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(scope.student_filter())
    )
    used: dict[str, Any] = {}
    for term in params.get("q", "").split():
        word = term[:50]
        query = query.where(
            or_(
                Student.family_name.icontains(word, autoescape=True),
                Student.given_name.icontains(word, autoescape=True),
                Student.family_name_kana.icontains(word, autoescape=True),
                Student.given_name_kana.icontains(word, autoescape=True),
                Student.sourced_id == word,
            )
        )
        used["q_terms"] = used.get("q_terms", 0) + 1
    school_id = bounded_int(params.get("school", ""))
    if school_id is not None:
        query = query.where(Student.school_id == school_id)
        used["school_id"] = school_id
    if params.get("grade") in GRADES:
        query = query.where(Student.grade == params["grade"])
        used["grade"] = params["grade"]
    if params.get("class", "").strip():
        query = query.where(SchoolClass.title == params["class"].strip())
        used["class"] = params["class"].strip()
    number = bounded_int(params.get("number", ""), 100_000)
    if number is not None:
        query = query.where(Student.attendance_number == number)
        used["number"] = number
    return query, used


@router.get("")
def search(request: Request, db: DbSession, scope: SchoolStaff) -> Response:
    params = {k: request.query_params.get(k, "") for k in ("q", "school", "grade", "class", "number", "page")}
    page = max(1, bounded_int(params["page"], 100_000) or 1)
    query, used = _search_query(scope, params)
    total = int(
        db.scalar(select(func.count()).select_from(query.with_only_columns(Student.id).subquery())) or 0
    )
    students = list(
        db.scalars(
            query.order_by(
                Student.school_id, Student.grade, SchoolClass.title, Student.attendance_number, Student.id
            )
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).unique()
    )
    schools = db.scalars(select(School).where(School.board_id == scope.board_id).order_by(School.code))
    record(
        db,
        "student.searched",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="student",
        details={"filters": used, "shown": len(students), "total": total, "page": page},
    )
    return render(
        request,
        "staff/students.html",
        {
            "students": students,
            "standing": school_records.standing_choices(db, [s.id for s in students]),
            "category_names": _category_names(db),
            "value_label": value_label,
            "grade_label": grade_label,
            "params": params,
            "page": page,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "total": total,
            "schools": [s for s in schools if scope.covers_school(s.id)],
            "grades": GRADES,
        },
        fragment="staff/_student_rows.html",
    )


def _load_student(db: Session, scope: StaffScope, student_id: int) -> Student:
    student = db.scalar(
        select(Student)
        .options(joinedload(Student.school), joinedload(Student.school_class))
        .where(Student.id == student_id, scope.student_filter())
    )
    if student is None:
        raise NotFound()
    return student


def _guardians(db: Session, student: Student) -> list[Guardian]:
    return list(
        db.scalars(
            select(Guardian)
            .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
            .where(
                GuardianStudent.student_id == student.id,
                GuardianStudent.status == "active",
                Guardian.status == "active",
            )
            .order_by(Guardian.id)
        )
    )


def _category_names(db: Session) -> dict[str, str]:
    return {code: localized(c, "name") for code, c in category_names(db).items()}


def _student_context(db: Session, scope: StaffScope, student: Student) -> dict[str, Any]:
    views = catalog.services_for_student(db, student)
    board_choices = board_wide_definitions(db, student.board_id)
    definitions = [d for view in views for d in view.definitions] + board_choices
    effective = choices.effective_choices(db, [student.id], definitions)
    pending = {e.definition_id for e in choices.pending_requests(db, student.id)}
    return {
        "student": student,
        "views": views,
        "board_choices": board_choices,
        "effective": {d.id: effective[(student.id, d.id)] for d in definitions},
        "pending": pending,
        "history": choices.history(db, student.id),
        "guardians": _guardians(db, student),
        "can_record": scope.records_choices_at(student.school_id),
        "category_names": _category_names(db),
        "value_label": value_label,
        "channel_label": channel_label,
        "reason_label": reason_label,
    }


@router.get("/{student_id}")
def student_page(
    request: Request, db: DbSession, scope: SchoolStaff, student_id: RowId, _fresh: RecentSignIn
) -> Response:
    student = _load_student(db, scope, student_id)
    record(
        db,
        "student.viewed",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="student",
        target_id=student.id,
    )
    context = _student_context(db, scope, student)
    context["recorded"] = request.query_params.get("recorded") == "1"
    return render(request, "staff/student.html", context)


def _recordable_student(db: Session, scope: StaffScope, student_id: int) -> Student:
    student = _load_student(db, scope, student_id)
    # A teacher at this school who administers another school may not record here.
    if not scope.records_choices_at(student.school_id):
        raise NotFound()
    return student


def _offered(db: Session, student: Student) -> dict[int, tuple[catalog.ServiceView | None, ChoiceDefinition]]:
    """The choices this student's guardians are offered: per service, then board-wide."""
    offered: dict[int, tuple[catalog.ServiceView | None, ChoiceDefinition]] = {
        d.id: (view, d) for view in catalog.services_for_student(db, student) for d in view.definitions
    }
    offered.update({d.id: (None, d) for d in board_wide_definitions(db, student.board_id)})
    return offered


def _record_form(
    request: Request,
    db: Session,
    student: Student,
    values: dict[str, Any],
    errors: list[tuple[str, str]],
    status: int = 200,
) -> Response:
    offered = _offered(db, student)
    definition_id = bounded_int(str(values.get("definition", "")))
    picked = offered.get(definition_id) if definition_id is not None else None
    return render(
        request,
        "staff/record.html",
        {
            "student": student,
            "offered_choices": list(offered.values()),
            # Only the chosen choice's values are offered, so a value that belongs to another
            # choice cannot be sent by mistake.
            "picked": picked,
            "guardians": _guardians(db, student),
            "channels": STAFF_CHANNELS,
            "category_names": _category_names(db),
            "values": values,
            "errors": errors,
            "value_label": value_label,
            "channel_label": channel_label,
        },
        status_code=status,
    )


def _value_problem(definition: ChoiceDefinition, value: str, chosen: list[str]) -> tuple[str, str] | None:
    """The field and message for a value the chosen choice does not take, in words."""
    if value not in definition.options:
        names = "、".join(value_label(option) for option in definition.options)
        message = gettext("Choose one of the values of “%(choice)s”: %(values)s.") % {
            "choice": localized(definition, "label"),
            "values": names,
        }
        return (f"value-{definition.options[0]}" if definition.options else "definition", message)
    problem = choices.validate_choice(definition, value, chosen if value == "hide_some" else [])
    if problem is None:
        return None
    codes = definition.category_codes or []
    return (f"category-{codes[0]}" if value == "hide_some" and codes else "definition", gettext(problem))


@router.get("/{student_id}/record")
def record_form(
    request: Request, db: DbSession, scope: ChoiceRecorder, student_id: RowId, _fresh: RecentSignIn
) -> Response:
    student = _recordable_student(db, scope, student_id)
    record(
        db,
        "student.viewed",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="student",
        target_id=student.id,
        details={"page": "record_form"},
    )
    wanted = request.query_params.get("definition", "")
    return _record_form(request, db, student, {"definition": wanted, "categories": []}, [])


@router.post("/{student_id}/record")
def record_choice(
    request: Request,
    db: DbSession,
    scope: ChoiceRecorder,
    settings: AppSettings,
    student_id: RowId,
    definition: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    categories: Annotated[list[str] | None, Form()] = None,
    channel: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    guardian: Annotated[str, Form()] = "",
) -> Response:
    student = _recordable_student(db, scope, student_id)
    chosen = categories or []
    values = {
        "definition": definition,
        "value": value,
        "categories": chosen,
        "channel": channel,
        "reason": reason,
        "guardian": guardian,
    }
    errors: list[tuple[str, str]] = []
    definition_id = bounded_int(definition)
    picked = _offered(db, student).get(definition_id) if definition_id is not None else None
    if picked is None:
        errors.append(("definition", gettext("Choose one of the offered choices.")))
    if channel not in STAFF_CHANNELS:
        errors.append(("channel", gettext("Choose how the guardian told the school.")))
    reason = reason.strip()
    if not reason:
        errors.append(("reason", gettext("Write down the reason (for example, the date of the paper form).")))
    elif len(reason) > 1000:
        errors.append(("reason", gettext("The reason is too long (1,000 characters at most).")))
    guardians = {str(g.id): g for g in _guardians(db, student)}
    if guardian and guardian not in guardians:
        errors.append(("guardian", gettext("Choose one of the child's guardians.")))
    if picked is not None:
        problem = _value_problem(picked[1], value, chosen)
        if problem:
            errors.append(problem)
    if errors or picked is None:
        return _record_form(request, db, student, values, errors, status=422)
    view, choice_definition = picked
    school_records.record_for_guardian(
        db,
        definition=choice_definition,
        service_version=view.version if view is not None else None,
        student=student,
        value=value,
        category_codes=chosen if value == "hide_some" else [],
        channel=channel,
        reason=reason,
        actor_account_id=scope.account_id,
        guardian_id=int(guardian) if guardian else None,
        base_url=settings.base_url,
    )
    return redirect(request, f"/staff/students/{student.id}?recorded=1")

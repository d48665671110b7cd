"""/staff/reach: who Tobira has not reached yet, the families behind each number, letters for
exactly those families, reminders by hand, and the board's reminder setting (ADR 0084).

School staff see their own schools, board administrators (and board-wide staff) every school
of the board; a list is of guardian–child pairs in that scope, and viewing one is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.db import utcnow
from app.domain.accounts import staff_admin
from app.domain.audit.service import Actor, record
from app.domain.people.models import GuardianStudent, Student
from app.domain.reach import overview as reach
from app.domain.reach.reminders import remind_by_hand
from app.domain.reach.settings import reminders_of, set_reminders
from app.errors import Invalid, NotFound
from app.surfaces.dependencies import AppSettings, DbSession
from app.surfaces.errors import form_errors
from app.surfaces.permissions import BoardAdmin, CurrentStaff, SchoolStaff, StaffScope
from app.surfaces.staff.forms import bounded_int
from app.surfaces.staff.roles import letters_page
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/reach", include_in_schema=False)


def _scope(scope: StaffScope) -> reach.Scope:
    return reach.Scope(scope.board_id, scope.school_ids)


def _overview_context(db: DbSession, scope: StaffScope) -> dict[str, object]:
    setting = reminders_of(db, scope.board_id)
    return {
        "overview": reach.overview(db, _scope(scope), utcnow(), setting),
        "measures": reach.MEASURES,
        "labels": reach.MEASURE_LABELS,
        "scope": scope,
        "setting": setting,
        "errors": [],
    }


@router.get("")
def overview_page(request: Request, db: DbSession, scope: SchoolStaff) -> Response:
    return render(request, "staff/reach.html", _overview_context(db, scope))


@router.post("/settings")
def save_settings(
    request: Request,
    db: DbSession,
    scope: BoardAdmin,
    delay_days: Annotated[str, Form()] = "",
    max_reminders: Annotated[str, Form()] = "",
) -> Response:
    delay, most = bounded_int(delay_days, 1000), bounded_int(max_reminders, 1000)
    try:
        set_reminders(
            db,
            scope.board_id,
            delay_days=-1 if delay is None else delay,
            max_reminders=-1 if most is None else most,
            actor=Actor.account(scope.account_id),
        )
    except Invalid as error:
        context = _overview_context(db, scope)
        context["errors"] = form_errors(error)
        return render(request, "staff/reach.html", context, status_code=422)
    return redirect(request, "/staff/reach")


def _filters(request: Request, measure: str) -> tuple[int | None, int | None]:
    if measure not in reach.MEASURES:
        raise NotFound()
    return (
        bounded_int(request.query_params.get("school", "")),
        bounded_int(request.query_params.get("class", "")),
    )


def _families(
    db: DbSession, scope: StaffScope, measure: str, school: int | None, klass: int | None
) -> list[GuardianStudent]:
    return reach.families(
        db,
        _scope(scope),
        measure,
        utcnow(),
        reminders_of(db, scope.board_id),
        school_id=school,
        class_id=klass,
    )


def _query(school: int | None, klass: int | None) -> str:
    parts = [f"school={school}" if school is not None else "", f"class={klass}" if klass is not None else ""]
    joined = "&".join(p for p in parts if p)
    return f"?{joined}" if joined else ""


@router.get("/{measure}")
def family_list(
    request: Request, measure: str, db: DbSession, scope: SchoolStaff, principal: CurrentStaff
) -> Response:
    school, klass = _filters(request, measure)
    pairs = _families(db, scope, measure, school, klass)
    record(
        db,
        "reach.list_viewed",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        details={"measure": measure, "school_id": school, "class_id": klass, "families": len(pairs)},
    )
    printable = bool(pairs) and all(
        staff_admin.may_print_letters_at(principal, scope.board_id, p.student.school_id) for p in pairs
    )
    return render(
        request,
        "staff/reach_list.html",
        {
            "measure": measure,
            "label": reach.MEASURE_LABELS[measure],
            "pairs": pairs,
            "query": _query(school, klass),
            "printable": printable,
            "remind_kind": reach.REMINDABLE.get(measure),
            "sent": request.query_params.get("sent") == "1",
        },
    )


@router.post("/{measure}/letters")
def print_letters(
    request: Request,
    measure: str,
    db: DbSession,
    settings: AppSettings,
    scope: SchoolStaff,
    principal: CurrentStaff,
) -> Response:
    """New letter codes for exactly the families of this list (older unused codes stop working)."""
    school, klass = _filters(request, measure)
    pairs = _families(db, scope, measure, school, klass)
    if not all(
        staff_admin.may_print_letters_at(principal, scope.board_id, p.student.school_id) for p in pairs
    ):
        raise NotFound()
    details = {"reach": measure, "school_id": school, "class_id": klass}
    letters = staff_admin.issue_letters_for(db, principal, pairs, board_id=scope.board_id, details=details)
    return letters_page(request, db, settings, letters, scope.board_id)


@router.post("/{measure}/remind")
def remind(
    request: Request,
    measure: str,
    db: DbSession,
    settings: AppSettings,
    scope: SchoolStaff,
    guardian_id: Annotated[str, Form()] = "",
    student_id: Annotated[str, Form()] = "",
) -> Response:
    """Remind one family now (a pair of this board and the caller's schools, or 404)."""
    kind = reach.REMINDABLE.get(measure)
    guardian, student = bounded_int(guardian_id), bounded_int(student_id)
    if kind is None or guardian is None or student is None:
        raise NotFound()
    pair = db.scalar(
        select(GuardianStudent.id)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(
            GuardianStudent.guardian_id == guardian,
            GuardianStudent.student_id == student,
            GuardianStudent.status == "active",
            scope.student_filter(),
        )
    )
    if pair is None:
        raise NotFound()
    remind_by_hand(
        db, settings, scope.board_id, kind, guardian, student, actor=Actor.account(scope.account_id)
    )
    school, klass = _filters(request, measure)
    query = _query(school, klass)
    return redirect(request, f"/staff/reach/{measure}{query}{'&' if query else '?'}sent=1")

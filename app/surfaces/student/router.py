"""/student: a signed-in student sees which services hold their data, what for, and what
their guardians chose; they can send their school a message about a service.

Nothing here changes a choice. The page is the student's own: there is no student id in
any path, so no other student's page can be asked for (ADR 0085).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from app.domain.people.models import Student
from app.domain.student_view import messages
from app.domain.student_view.models import TEXT_LIMIT
from app.domain.student_view.queries import load_student, student_page
from app.errors import Invalid
from app.surfaces.dependencies import DbSession
from app.surfaces.errors import form_errors
from app.surfaces.permissions import CurrentStudent
from app.surfaces.student import words
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/student", include_in_schema=False)


def _student(db: DbSession, principal: CurrentStudent) -> Student:
    assert principal.student_id is not None  # CurrentStudent guarantees it
    student = load_student(db, principal.student_id)
    if student is None:
        raise HTTPException(status_code=404)
    return student


def _page(
    request: Request, db: DbSession, student: Student, *, status_code: int = 200, **context: Any
) -> Response:
    page = student_page(db, student)
    return render(
        request,
        "student/home.html",
        {
            "page": page,
            "ruby_on": page.with_ruby,
            "words": words,
            "text_limit": TEXT_LIMIT,
            "sent": False,
            "errors": [],
            "error_service": None,
            "form_text": "",
            **context,
        },
        status_code=status_code,
    )


@router.get("")
def home(request: Request, db: DbSession, principal: CurrentStudent, sent: str = "") -> Response:
    return _page(request, db, _student(db, principal), sent=sent == "1")


@router.post("/messages")
def send_message(
    request: Request,
    db: DbSession,
    principal: CurrentStudent,
    service_id: Annotated[str, Form(max_length=20)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    student = _student(db, principal)
    if not (service_id.isascii() and service_id.isdigit()):
        raise HTTPException(status_code=404)
    try:
        messages.send(
            db, student=student, account_id=principal.account.id, service_id=int(service_id), text=text
        )
    except Invalid as error:
        return _page(
            request,
            db,
            student,
            status_code=422,
            errors=[(f"text-{service_id}", text) for _field, text in form_errors(error)],
            error_service=int(service_id),
            form_text=text[: TEXT_LIMIT * 2],
        )
    return redirect(request, "/student?sent=1")

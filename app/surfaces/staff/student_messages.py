"""/staff/student-messages: what students asked their school to look at (ADR 0085).

Teachers and school admins see the messages of their schools, board admins the whole
board's; another school's message is 404. Viewing the list and marking one handled are
audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.domain.audit.service import Actor, record
from app.domain.catalog.service import latest_versions
from app.domain.student_view import messages
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.permissions import SchoolStaff
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/student-messages", include_in_schema=False)


@router.get("")
def messages_page(
    request: Request, db: DbSession, scope: SchoolStaff, show: str = "open", student: str = ""
) -> Response:
    """`?show=all` includes handled messages; `?student=<id>` only that student's (the link
    on the student's record)."""
    open_only = show != "all"
    student_id = int(student) if student.isascii() and student.isdigit() and len(student) < 19 else None
    found = messages.for_staff(
        db, board_id=scope.board_id, school_ids=scope.school_ids, open_only=open_only, student_id=student_id
    )
    views = {view.service.id: view for view in latest_versions(db, scope.board_id, include_retired=True)}
    record(
        db,
        "students.messages_viewed",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="student_message",
        target_id="",
        details={"count": len(found), "open_only": open_only, "student_id": student_id},
    )
    return render(
        request,
        "staff/student_messages.html",
        {"messages": found, "views": views, "open_only": open_only, "student_id": student_id},
    )


@router.post("/{message_id}/handled")
def mark_handled(request: Request, db: DbSession, scope: SchoolStaff, message_id: RowId) -> Response:
    messages.mark_handled(
        db,
        board_id=scope.board_id,
        school_ids=scope.school_ids,
        message_id=message_id,
        account_id=scope.account_id,
    )
    return redirect(request, "/staff/student-messages")

"""/children/{id}/notice: the board's notice in force, as the guardian reads it before choosing.

The child page's choice forms carry the version shown here; a version published after the
page was opened is shown again before a choice is recorded (ADR 0089).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app.domain.catalog import notices
from app.domain.catalog.service import current_notice
from app.domain.choices.guardian_queries import children_of, find_child
from app.domain.choices.labels import LABELS
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.permissions import CurrentGuardian
from app.surfaces.web import render

router = APIRouter()


@router.get("/children/{student_id}/notice")
def notice_page(request: Request, db: DbSession, principal: CurrentGuardian, student_id: RowId) -> Response:
    child = find_child(db, principal.guardian_ids, student_id)
    if child is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "guardian/notice.html",
        {
            "LABELS": LABELS,
            "child": child,
            "siblings": children_of(db, principal.guardian_ids),
            "notice": current_notice(db, child.student.board_id),
            "paragraphs": notices.paragraphs,
        },
    )

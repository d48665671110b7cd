"""POST /children/{id}/services/{service_id}/review: "I have looked at the change; keep my choice".

Sending a new choice for the service closes the review as well (router.set_choice). Either way
the choice in force never changed meanwhile (ADR 0089).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app.domain.choices import reviews
from app.domain.choices.guardian_queries import find_child
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.permissions import CurrentGuardian
from app.surfaces.web import redirect

router = APIRouter()


@router.post("/children/{student_id}/services/{service_id}/review")
def keep_after_review(
    request: Request, db: DbSession, principal: CurrentGuardian, student_id: RowId, service_id: RowId
) -> Response:
    child = find_child(db, principal.guardian_ids, student_id)
    if child is None:
        raise HTTPException(status_code=404)
    closed = reviews.mark_reviewed(
        db,
        board_id=child.student.board_id,
        guardian_id=child.guardian_id,
        student_id=child.student.id,
        service_id=service_id,
        outcome="kept",
        account_id=principal.account.id,
    )
    if not closed:
        raise HTTPException(status_code=404, detail="There is nothing to review for this service.")
    return redirect(request, f"/children/{child.student.id}#decisions-{service_id}")

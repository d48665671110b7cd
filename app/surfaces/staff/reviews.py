"""/staff/services/{id}/reviews: who has looked again at a service since its last material change.

Counts of guardians who kept or changed their choices and who have not reviewed yet, and the
families not yet reviewed (school staff see their own schools only), e.g. to phone them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.domain.catalog.models import Service
from app.domain.choices.labels import LABELS
from app.domain.choices.reviews import NOT_YET_SHOWN, review_overview
from app.errors import NotFound
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.permissions import SchoolStaff
from app.surfaces.web import render

router = APIRouter(prefix="/staff/services", include_in_schema=False)


@router.get("/{service_id}/reviews")
def reviews_page(request: Request, db: DbSession, scope: SchoolStaff, service_id: RowId) -> Response:
    service = db.scalar(select(Service).where(Service.id == service_id, Service.board_id == scope.board_id))
    if service is None:
        raise NotFound()
    overview = review_overview(db, service.id, scope.student_filter())
    return render(
        request,
        "staff/reviews.html",
        {"service": service, "overview": overview, "shown": NOT_YET_SHOWN, "LABELS": LABELS},
    )

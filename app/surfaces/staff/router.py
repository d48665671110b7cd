"""/staff: the staff console home; every /staff page lives in a module of this package."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.surfaces.dependencies import DbSession
from app.surfaces.permissions import AnyStaff
from app.surfaces.staff import (
    admin,
    carry_over,
    catalogue,
    choice_kinds,
    coverage,
    exports,
    notice,
    reviews,
    roles,
    roster,
    student_messages,
    students,
)
from app.surfaces.staff import catalogue_file as catalogue_file_download
from app.surfaces.staff import downstream as downstream_pages
from app.surfaces.staff import incidents as incident_pages
from app.surfaces.staff import reach as reach_pages
from app.surfaces.staff import requests as guardian_requests
from app.surfaces.staff import retention as retention_pages
from app.surfaces.staff import translations as translation_pages
from app.surfaces.staff.labels import ROLE_LABELS
from app.surfaces.web import render

router = APIRouter(include_in_schema=False)
router.include_router(students.router)
router.include_router(catalogue.router)
router.include_router(choice_kinds.router)
router.include_router(coverage.router)
router.include_router(admin.router)
router.include_router(roles.router)
router.include_router(roster.router)
router.include_router(exports.router)
router.include_router(carry_over.router)
router.include_router(notice.router)
router.include_router(reviews.router)
router.include_router(retention_pages.router)
router.include_router(student_messages.router)
router.include_router(reach_pages.router)
router.include_router(downstream_pages.router)
router.include_router(incident_pages.router)
router.include_router(guardian_requests.router)
router.include_router(catalogue_file_download.router)
router.include_router(translation_pages.router)


@router.get("/staff")
def home(request: Request, db: DbSession, scope: AnyStaff) -> Response:
    roles = [ROLE_LABELS[r] for r in sorted(scope.roles) if r in ROLE_LABELS]
    return render(request, "staff/home.html", {"scope": scope, "role_labels": roles})

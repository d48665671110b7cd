"""/staff: the staff console home; the pages themselves live in the modules included here.

Colleagues' pages (/staff/roles, /staff/providers, /staff/letters, /staff/roster) are
linked from the home page but served by their own routers.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.dependencies import CurrentStaff
from app.dependencies import DbSession
from app.staff import admin, catalogue, students
from app.staff.labels import ROLE_LABELS
from app.staff.scope import scope_for
from app.web import render

router = APIRouter(include_in_schema=False)
router.include_router(students.router)
router.include_router(catalogue.router)
router.include_router(admin.router)


@router.get("/staff")
def home(request: Request, db: DbSession, principal: CurrentStaff) -> Response:
    scope = scope_for(principal, request)
    roles = [ROLE_LABELS[r] for r in sorted(scope.roles) if r in ROLE_LABELS]
    return render(request, "staff/home.html", {"scope": scope, "role_labels": roles})

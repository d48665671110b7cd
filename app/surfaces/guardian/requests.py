"""/children/{id}/data-requests: a guardian asks for disclosure, correction, a stop of use or a
portable copy of a child's data, sees where each request stands and its due date, and — once
the school or board has answered a disclosure or portability request — downloads the package.

Only the guardian who made a request sees it (the package holds that guardian's own data).
Plain forms (303 after a submit); bad input re-renders the form with an error summary.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.domain.audit.service import Actor, record
from app.domain.catalog.queries import category_names
from app.domain.choices.guardian_queries import Child, children_of, find_child
from app.domain.choices.labels import LABELS
from app.domain.people.models import Guardian
from app.domain.requests import queries
from app.domain.requests import service as requests
from app.domain.requests.labels import LABELS as REQUEST_LABELS
from app.domain.requests.models import REQUEST_KINDS, GuardianRequest
from app.domain.requests.package import build_package, package_json
from app.errors import Invalid, NotFound
from app.surfaces.dependencies import AppSettings, DbSession, RowId
from app.surfaces.permissions import CurrentGuardian
from app.surfaces.web import json_download, redirect, render

router = APIRouter()
ANSWERED = ("answered", "closed")


def _child(db: DbSession, principal: CurrentGuardian, student_id: int) -> Child:
    child = find_child(db, principal.guardian_ids, student_id)
    if child is None:
        raise NotFound()
    return child


def _own_request(db: DbSession, principal: CurrentGuardian, child: Child, request_id: int) -> GuardianRequest:
    found = queries.find_for_guardian(db, principal.guardian_ids, child.student.id, request_id)
    if found is None:
        raise NotFound()
    return found


def _list_page(
    request: Request,
    db: DbSession,
    principal: CurrentGuardian,
    child: Child,
    *,
    values: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "guardian/data_requests.html",
        {
            "child": child,
            "siblings": children_of(db, principal.guardian_ids),
            "requests": queries.for_child(db, principal.guardian_ids, child.student.id),
            "kinds": REQUEST_KINDS,
            "RL": REQUEST_LABELS,
            "LABELS": LABELS,
            "values": values or {},
            "errors": errors or [],
            "details_max": requests.DETAILS_MAX,
            "today": requests.today_jst(),
        },
        status_code=status_code,
    )


@router.get("/children/{student_id}/data-requests")
def list_requests(request: Request, db: DbSession, principal: CurrentGuardian, student_id: RowId) -> Response:
    return _list_page(request, db, principal, _child(db, principal, student_id))


@router.post("/children/{student_id}/data-requests")
def submit(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentGuardian,
    student_id: RowId,
    kind: Annotated[str, Form()] = "",
    details: Annotated[str, Form()] = "",
) -> Response:
    child = _child(db, principal, student_id)
    guardian = db.get_one(Guardian, child.guardian_id)
    try:
        made = requests.submit(
            db,
            settings,
            student=child.student,
            guardian=guardian,
            account_id=principal.account.id,
            kind=kind,
            details=details,
        )
    except Invalid as exc:
        ids = {"kind": f"kind-{REQUEST_KINDS[0]}", "details": "details"}
        errors = [(ids.get(field, field), text) for field, text in exc.field_texts().items()]
        return _list_page(
            request,
            db,
            principal,
            child,
            values={"kind": kind, "details": details},
            errors=errors,
            status_code=422,
        )
    return redirect(request, f"/children/{child.student.id}/data-requests/{made.id}?sent=1")


@router.get("/children/{student_id}/data-requests/{request_id}")
def one_request(
    request: Request, db: DbSession, principal: CurrentGuardian, student_id: RowId, request_id: RowId
) -> Response:
    child = _child(db, principal, student_id)
    found = _own_request(db, principal, child, request_id)
    return render(
        request,
        "guardian/data_request.html",
        {
            "child": child,
            "siblings": children_of(db, principal.guardian_ids),
            "item": found,
            "RL": REQUEST_LABELS,
            "LABELS": LABELS,
            "sent": request.query_params.get("sent") == "1",
            "package_ready": found.has_package and found.status in ANSWERED,
            "today": requests.today_jst(),
        },
    )


@router.get("/children/{student_id}/data-requests/{request_id}/package")
def package(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentGuardian,
    student_id: RowId,
    request_id: RowId,
    format: str = "html",
) -> Response:
    """The guardian's copy, once staff have answered a disclosure or portability request."""
    child = _child(db, principal, student_id)
    found = _own_request(db, principal, child, request_id)
    if not (found.has_package and found.status in ANSWERED):
        raise NotFound()
    data = build_package(db, found, base_url=settings.base_url)
    record(
        db,
        "disclosure_package.downloaded",
        actor=Actor.account(principal.account.id),
        board_id=found.board_id,
        target_type="guardian_request",
        target_id=found.id,
        details={
            "student_id": found.student_id,
            "format": "json" if format == "json" else "html",
            "by": "guardian",
        },
    )
    if format == "json":
        return json_download(package_json(data), f"disclosure-{found.id}.json")
    return render(
        request,
        "requests/package.html",
        {
            "package": data,
            "RL": REQUEST_LABELS,
            "LABELS": LABELS,
            "category_map": category_names(db),
            "json_url": f"{request.url.path}?format=json",
            "back": f"/children/{child.student.id}/data-requests/{found.id}",
        },
        headers={"Cache-Control": "no-store"},
    )

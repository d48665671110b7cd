"""/staff/retention: the board's retention policy and the vendors' erasure certificates.

Board administrators and auditors see the policy, the certificates overdue and those
recorded; board administrators change the policy and record a certificate (a PDF or image
upload). Every change is audited."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor, record
from app.domain.retention import certificates
from app.domain.retention import policy as policies
from app.errors import Invalid
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.errors import form_errors
from app.surfaces.permissions import BoardAdmin, BoardReader, StaffScope
from app.surfaces.staff.forms import bounded_int
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/retention", include_in_schema=False)


def _upload_dir(request: Request) -> Path:
    return Path(request.app.state.settings.upload_dir)


def _page(request: Request, db: Session, scope: StaffScope, *, status: int = 200, **extra: Any) -> Response:
    policy = policies.policy_for(db, scope.board_id)
    context = {
        "scope": scope,
        "policy": policy,
        "mail_default": request.app.state.settings.mail_body_retention_days,
        "overdue": certificates.overdue(db, scope.board_id, policy.certificate_due_days),
        "recorded": certificates.recorded(db, scope.board_id),
        "services": certificates.services_of(db, scope.board_id),
        "policy_errors": [],
        "certificate_errors": [],
        "values": {},
        **extra,
    }
    return render(request, "staff/retention.html", context, status_code=status)


@router.get("")
def retention_page(request: Request, db: DbSession, scope: BoardReader) -> Response:
    return _page(request, db, scope)


@router.post("/policy")
def change_policy(
    request: Request,
    db: DbSession,
    scope: BoardAdmin,
    student_years: Annotated[str, Form(max_length=10)] = "",
    audit_years: Annotated[str, Form(max_length=10)] = "",
    mail_body_days: Annotated[str, Form(max_length=10)] = "",
    upload_days: Annotated[str, Form(max_length=10)] = "",
    certificate_due_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    values = {
        "student_years": student_years,
        "audit_years": audit_years,
        "mail_body_days": mail_body_days,
        "upload_days": upload_days,
        "certificate_due_days": certificate_due_days,
    }
    try:
        changes = policies.parse(values)
    except Invalid as exc:
        return _page(request, db, scope, status=422, policy_errors=form_errors(exc), values=values)
    changed = policies.set_policy(db, scope.board_id, changes)
    if changed:
        record(
            db,
            "retention.policy_changed",
            actor=Actor.account(scope.account_id),
            board_id=scope.board_id,
            details={"changed": changed},
        )
    return redirect(request, "/staff/retention")


@router.post("/certificates")
async def record_certificate(
    request: Request,
    db: DbSession,
    scope: BoardAdmin,
    service: Annotated[str, Form(max_length=20)] = "",
    cohort_kind: Annotated[str, Form(max_length=20)] = "",
    cohort_year: Annotated[str, Form(max_length=10)] = "",
    received_on: Annotated[str, Form(max_length=20)] = "",
    vendor_reference: Annotated[str, Form(max_length=400)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    data = await file.read(certificates.MAX_BYTES + 1) if file is not None else b""
    values = {
        "service": service,
        "cohort_kind": cohort_kind,
        "cohort_year": cohort_year,
        "received_on": received_on,
        "vendor_reference": vendor_reference,
    }
    try:
        certificates.record_certificate(
            db,
            scope.board_id,
            _upload_dir(request),
            service_id=bounded_int(service),
            cohort_kind=cohort_kind,
            cohort_year=cohort_year,
            received_on=received_on,
            vendor_reference=vendor_reference,
            data=data,
            actor=Actor.account(scope.account_id),
        )
    except Invalid as exc:
        return _page(request, db, scope, status=422, certificate_errors=form_errors(exc), values=values)
    return redirect(request, "/staff/retention")


@router.get("/certificates/{certificate_id}/file")
def certificate_file(request: Request, db: DbSession, scope: BoardReader, certificate_id: RowId) -> Response:
    row, path = certificates.certificate_file(db, scope.board_id, certificate_id, _upload_dir(request))
    suffix = path.suffix
    return FileResponse(
        path,
        media_type=row.content_type,
        filename=f"erasure-certificate-{row.id}{suffix}",
        headers={"Cache-Control": "no-store"},
    )

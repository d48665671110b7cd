"""/staff/requests: the queue of guardians' requests with their due dates (overdue first and
marked), one request with its history, extension with a reason, the answer, closing, and the
disclosure package for disclosure and portability requests.

School administrators see the requests about students of their schools, board administrators
every request of the board; anyone else — and another board's staff — gets 404. Opening a
request or its package shows a child's data: it needs a recent sign-in and is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor, record
from app.domain.catalog.queries import category_names
from app.domain.choices.labels import LABELS
from app.domain.requests import queries
from app.domain.requests import service as requests
from app.domain.requests.labels import LABELS as REQUEST_LABELS
from app.domain.requests.package import build_package, package_json
from app.errors import Invalid, NotFound
from app.surfaces.dependencies import AppSettings, DbSession, RowId
from app.surfaces.permissions import ChoiceRecorder, RecentSignIn, StaffScope
from app.surfaces.web import json_download, redirect, render

router = APIRouter(prefix="/staff/requests", include_in_schema=False)


def _schools(scope: StaffScope) -> frozenset[int] | None:
    return scope.recording_school_ids


def _row(db: Session, scope: StaffScope, request_id: int) -> queries.QueueRow:
    row = queries.find_for_staff(db, scope.board_id, _schools(scope), request_id)
    if row is None:
        raise NotFound()
    return row


@router.get("")
def queue(request: Request, db: DbSession, scope: ChoiceRecorder) -> Response:
    include_done = request.query_params.get("all") == "1"
    rows = queries.queue(db, scope.board_id, _schools(scope), include_done=include_done)
    today = requests.today_jst()
    record(
        db,
        "guardian_request.queue_viewed",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="guardian_request",
        details={"shown": len(rows), "include_done": include_done},
    )
    return render(
        request,
        "staff/requests.html",
        {
            "rows": rows,
            "today": today,
            "overdue": sum(1 for r in rows if r.request.overdue_on(today)),
            "include_done": include_done,
            "RL": REQUEST_LABELS,
        },
    )


def _detail(
    request: Request,
    db: Session,
    scope: StaffScope,
    row: queries.QueueRow,
    *,
    errors: list[tuple[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "staff/request.html",
        {
            "row": row,
            "item": row.request,
            "today": requests.today_jst(),
            "RL": REQUEST_LABELS,
            "errors": errors or [],
            "values": values or {},
            "done": request.query_params.get("done", ""),
        },
        status_code=status_code,
    )


def _audit_view(db: Session, scope: StaffScope, row: queries.QueueRow, page: str) -> None:
    record(
        db,
        "guardian_request.viewed",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="guardian_request",
        target_id=row.request.id,
        details={"student_id": row.student.id, "page": page},
    )


@router.get("/{request_id}")
def detail(
    request: Request, db: DbSession, scope: ChoiceRecorder, request_id: RowId, _fresh: RecentSignIn
) -> Response:
    row = _row(db, scope, request_id)
    _audit_view(db, scope, row, "request")
    return _detail(request, db, scope, row)


def _errors(exc: Invalid, ids: dict[str, str]) -> list[tuple[str, str]]:
    return [(ids.get(field, field), text) for field, text in exc.field_texts().items()]


@router.post("/{request_id}/extend")
def extend(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    scope: ChoiceRecorder,
    request_id: RowId,
    due_on: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    row = _row(db, scope, request_id)
    try:
        requests.extend(
            db, settings, row.request, actor_account_id=scope.account_id, new_due=due_on, reason=reason
        )
    except Invalid as exc:
        errors = _errors(exc, {"due_on": "due_on", "reason": "reason"})
        values = {"due_on": due_on, "reason": reason}
        return _detail(request, db, scope, row, errors=errors, values=values, status_code=422)
    return redirect(request, f"/staff/requests/{row.request.id}?done=extended")


@router.post("/{request_id}/answer")
def answer(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    scope: ChoiceRecorder,
    request_id: RowId,
    answer: Annotated[str, Form()] = "",
) -> Response:
    row = _row(db, scope, request_id)
    try:
        requests.answer(db, settings, row.request, actor_account_id=scope.account_id, text=answer)
    except Invalid as exc:
        errors = _errors(exc, {"answer": "answer"})
        return _detail(request, db, scope, row, errors=errors, values={"answer": answer}, status_code=422)
    return redirect(request, f"/staff/requests/{row.request.id}?done=answered")


@router.post("/{request_id}/close")
def close(request: Request, db: DbSession, scope: ChoiceRecorder, request_id: RowId) -> Response:
    row = _row(db, scope, request_id)
    requests.close(db, row.request, actor_account_id=scope.account_id)
    return redirect(request, f"/staff/requests/{row.request.id}?done=closed")


@router.get("/{request_id}/package")
def package(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    scope: ChoiceRecorder,
    request_id: RowId,
    _fresh: RecentSignIn,
    format: str = "html",
) -> Response:
    """The package for staff answering a disclosure or portability request."""
    row = _row(db, scope, request_id)
    if not row.request.has_package:
        raise NotFound()
    data: dict[str, Any] = build_package(db, row.request, base_url=settings.base_url)
    record(
        db,
        "disclosure_package.downloaded",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="guardian_request",
        target_id=row.request.id,
        details={
            "student_id": row.student.id,
            "format": "json" if format == "json" else "html",
            "by": "staff",
        },
    )
    # Everything Tobira holds about the child was opened: the guardian's "who saw" lists it.
    record(
        db,
        "student.viewed",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="student",
        target_id=row.student.id,
        details={"page": "disclosure_package"},
    )
    if format == "json":
        return json_download(package_json(data), f"disclosure-{row.request.id}.json")
    return render(
        request,
        "requests/package.html",
        {
            "package": data,
            "RL": REQUEST_LABELS,
            "LABELS": LABELS,
            "category_map": category_names(db),
            "json_url": f"{request.url.path}?format=json",
            "back": f"/staff/requests/{row.request.id}",
        },
        headers={"Cache-Control": "no-store"},
    )

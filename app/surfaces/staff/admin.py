"""/staff/api-keys and /staff/audit: board-level administration and the audit log reader.

Board admins manage keys; auditors (and board admins) read keys and the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from app.domain.accounts.models import Account
from app.domain.apikeys import service as keys
from app.domain.apikeys.models import ApiKey
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import Actor, record
from app.domain.exports.query import TOKYO
from app.errors import Invalid, NotFound
from app.i18n import gettext
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.errors import form_errors
from app.surfaces.permissions import BoardAdmin, BoardReader
from app.surfaces.staff import audit_words
from app.surfaces.staff.forms import ApiKeyForm, bounded_int
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)
AUDIT_PAGE = 50


def _keys_page(request: Request, db: Any, scope: Any, *, status: int = 200, **extra: Any) -> Response:
    context = {"keys": keys.board_keys(db, scope.board_id), "scope": scope, "secret": None, "errors": []}
    return render(request, "staff/api_keys.html", {**context, **extra}, status_code=status)


@router.get("/api-keys")
def api_keys(request: Request, db: DbSession, scope: BoardReader) -> Response:
    return _keys_page(request, db, scope)


@router.post("/api-keys")
def create_api_key(
    request: Request, db: DbSession, scope: BoardAdmin, name: Annotated[str, Form()] = ""
) -> Response:
    try:
        form = ApiKeyForm.parse({"name": name})
    except Invalid as exc:
        return _keys_page(request, db, scope, status=422, errors=form_errors(exc))
    secret, key = keys.create_key(
        db, board_id=scope.board_id, name=form.name, actor=Actor.account(scope.account_id)
    )
    # Shown once, on this response only (render sets Cache-Control: no-store).
    return _keys_page(request, db, scope, status=201, secret=secret, new_key=key)


@router.post("/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, db: DbSession, scope: BoardAdmin, key_id: RowId) -> Response:
    key = db.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.board_id == scope.board_id))
    if key is None:
        raise NotFound()
    keys.revoke_key(db, key, actor=Actor.account(scope.account_id))
    return redirect(request, "/staff/api-keys")


def _day(text: str, *, end: bool = False) -> datetime | None:
    """Start (or end) of a YYYY-MM-DD day in Japan time, as UTC; None when not a valid date."""
    try:
        day = datetime.fromisoformat(text.strip()).date()
        moment = datetime.combine(day, time.min, tzinfo=TOKYO)
        return (moment + timedelta(days=1) if end else moment).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


@router.get("/audit")
def audit_log(request: Request, db: DbSession, scope: BoardReader) -> Response:
    params = {
        k: request.query_params.get(k, "").strip()
        for k in ("action", "actor", "target", "from", "to", "page")
    }
    page = max(1, bounded_int(params["page"], 100_000) or 1)
    query = select(AuditEvent).where(AuditEvent.board_id == scope.board_id)
    errors: list[str] = []
    if params["action"]:
        query = query.where(AuditEvent.action.startswith(params["action"][:60], autoescape=True))
    if params["actor"]:
        kind, _sep, ident = params["actor"].partition(":")
        query = query.where(AuditEvent.actor_type == kind[:12])
        actor_id = bounded_int(ident)
        if actor_id is not None:
            query = query.where(AuditEvent.actor_id == actor_id)
    if params["target"]:
        kind, _sep, ident = params["target"].partition(":")
        query = query.where(AuditEvent.target_type == kind[:40])
        if ident:
            query = query.where(AuditEvent.target_id == ident[:100])
    for key, end in (("from", False), ("to", True)):
        if params[key]:
            moment = _day(params[key], end=end)
            if moment is None:
                errors.append(gettext("Enter the date as YYYY-MM-DD."))
            elif end:
                query = query.where(AuditEvent.occurred_at < moment)
            else:
                query = query.where(AuditEvent.occurred_at >= moment)
    total = int(db.scalar(select(func.count()).select_from(query.subquery())) or 0)
    events = list(
        db.scalars(
            query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
            .offset((page - 1) * AUDIT_PAGE)
            .limit(AUDIT_PAGE)
        )
    )
    account_ids = {e.actor_id for e in events if e.actor_type == "account" and e.actor_id is not None}
    names = (
        dict(db.execute(select(Account.id, Account.display_name).where(Account.id.in_(account_ids))).all())
        if account_ids
        else {}
    )
    record(
        db,
        "audit.viewed",
        actor=Actor.account(scope.account_id),
        board_id=scope.board_id,
        target_type="audit_log",
        details={"filters": {k: v for k, v in params.items() if v and k != "page"}, "page": page},
    )
    return render(
        request,
        "staff/audit.html",
        {
            "events": events,
            "names": names,
            "params": params,
            "page": page,
            "pages": max(1, (total + AUDIT_PAGE - 1) // AUDIT_PAGE),
            "total": total,
            "errors": errors,
            "words": audit_words,
        },
        status_code=422 if errors else 200,
        fragment="staff/_audit_rows.html",
    )

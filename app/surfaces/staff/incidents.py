"""/staff/…/incidents: board administrators record an incident notice on a service, preview
the e-mail in each language with the number of families it reaches, and send it (a job)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.domain.audit.service import Actor
from app.domain.catalog.models import DataCategory, Service
from app.domain.incidents import notify
from app.domain.incidents import service as incidents
from app.errors import Invalid, NotFound
from app.i18n import LANGUAGES
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.errors import form_errors
from app.surfaces.permissions import BoardAdmin, StaffScope
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


def _service(db: Session, scope: StaffScope, service_id: int) -> Service:
    service = db.scalar(select(Service).where(Service.id == service_id, Service.board_id == scope.board_id))
    if service is None:
        raise NotFound()
    return service


def _form_page(
    request: Request,
    db: Session,
    service: Service,
    values: dict[str, str],
    chosen: Sequence[str],
    errors: Sequence[tuple[str, str]] = (),
    status: int = 200,
) -> Response:
    vocabulary = list(db.scalars(select(DataCategory).order_by(DataCategory.sort_order, DataCategory.code)))
    context = {
        "service": service,
        "values": values,
        "chosen": list(chosen),
        "vocabulary": vocabulary,
        "errors": list(errors),
        "field_errors": dict(errors),
    }
    return render(request, "staff/incident_form.html", context, status_code=status)


@router.get("/services/{service_id}/incidents/new")
def new_incident(request: Request, db: DbSession, scope: BoardAdmin, service_id: RowId) -> Response:
    return _form_page(request, db, _service(db, scope, service_id), {}, [])


@router.post("/services/{service_id}/incidents")
def create_incident(
    request: Request, db: DbSession, scope: BoardAdmin, service_id: RowId, form: Form
) -> Response:
    service = _service(db, scope, service_id)
    values = {name: str(form.get(name, "")) for name in incidents.Draft.__dataclass_fields__}
    chosen = [str(code) for code in form.getlist("categories")]
    known = set(db.scalars(select(DataCategory.code)))
    try:
        draft = incidents.parse_draft(values, known, chosen)
    except Invalid as exc:
        return _form_page(request, db, service, values, chosen, form_errors(exc), status=422)
    incident = incidents.create(db, service, draft, Actor.account(scope.account_id))
    return redirect(request, f"/staff/incidents/{incident.id}")


def _base_url(request: Request) -> str:
    return str(request.app.state.settings.base_url)


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, db: DbSession, scope: BoardAdmin, incident_id: RowId) -> Response:
    incident = incidents.find(db, scope.board_id, incident_id)
    service = _service(db, scope, incident.service_id)
    previews = [(lang, *notify.render(db, incident, lang, _base_url(request))) for lang in LANGUAGES]
    return render(
        request,
        "staff/incident.html",
        {
            "incident": incident,
            "service": service,
            "previews": previews,
            "reach": incidents.reach_by_language(db, incident),
        },
    )


@router.post("/incidents/{incident_id}/send")
def send_incident(request: Request, db: DbSession, scope: BoardAdmin, incident_id: RowId) -> Response:
    incident = incidents.find(db, scope.board_id, incident_id)
    incidents.send(db, incident, Actor.account(scope.account_id), base_url=_base_url(request))
    return redirect(request, f"/staff/incidents/{incident.id}")

"""/staff/services: the service catalogue and its choice definitions.

Every staff member reads; board admins create, edit (publishing version n+1 and a new
notice, then announcing it to guardians) and retire services, and create and retire
choice definitions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.domain.audit.service import Actor
from app.domain.catalog import definitions as choice_definitions
from app.domain.catalog import service as catalog
from app.domain.catalog.changes import PROMISES
from app.domain.catalog.models import (
    ANONYMIZED_STATISTICS,
    PERMITTED_USES,
    USE_GROUPS,
    ChoiceDefinition,
    DataCategory,
    Service,
)
from app.domain.choices.jobs import request_announcement
from app.domain.incidents.service import of_service as incidents_of_service
from app.errors import Invalid, NotFound
from app.i18n import gettext
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.errors import form_errors
from app.surfaces.permissions import AnyStaff, BoardAdmin, StaffScope
from app.surfaces.staff import subcontractors
from app.surfaces.staff.forms import CODE_PATTERN, DEFINITION_KINDS, DefinitionForm
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)

BOOLEAN_FIELDS = PROMISES  # the vendor's promises, ticked on the form
TEXT_FIELDS = (
    "name",
    "description",
    "vendor_name",
    "policy_url",
    "data_centre_country",
    "governing_law",
    "court",
)


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def announce(request: Request, db: Session, result: catalog.PublishResult, actor: Actor) -> None:
    """Queue the e-mail to guardians of covered children about what changed (a job)."""
    request_announcement(db, result, actor, base_url=str(request.app.state.settings.base_url))


def _service(db: Session, scope: StaffScope, service_id: int) -> Service:
    service = db.scalar(select(Service).where(Service.id == service_id, Service.board_id == scope.board_id))
    if service is None:
        raise NotFound()
    return service


def _view(db: Session, scope: StaffScope, service_id: int) -> catalog.ServiceView:
    views = catalog.latest_versions(db, scope.board_id, include_retired=True)
    view = next((v for v in views if v.service.id == service_id), None)
    if view is None:
        raise NotFound()
    return view


def _vocabulary(db: Session) -> list[DataCategory]:
    return list(db.scalars(select(DataCategory).order_by(DataCategory.sort_order, DataCategory.code)))


def parse_version(
    form: FormData, vocabulary: list[DataCategory], keep: catalog.VersionInput | None
) -> tuple[catalog.VersionInput, list[str]]:
    """The edit form as a VersionInput, plus errors (English purpose texts kept from `keep`)."""
    errors: list[str] = []
    text = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
    if not text["name"]:
        errors.append(gettext("Enter the service name."))
    if not text["vendor_name"]:
        errors.append(gettext("Enter the vendor name."))
    use_group = str(form.get("use_group", ""))
    if use_group not in USE_GROUPS:
        errors.append(gettext("Choose how the service is used."))
    if text["policy_url"] and not text["policy_url"].startswith(("https://", "http://")):
        errors.append(gettext("The policy address must start with https://."))
    country = text["data_centre_country"].upper() or "JP"
    if not re.fullmatch(r"[A-Z]{2}", country):
        errors.append(gettext("Enter the data centre country as a two-letter code, e.g. JP."))
    days_text = str(form.get("backup_retention_days", "")).strip()
    days: int | None = None
    if days_text:
        if days_text.isdigit() and int(days_text) <= 36500:
            days = int(days_text)
        else:
            errors.append(gettext("Enter the backup retention as a number of days."))
    statistics = str(form.get("anonymized_statistics", "none"))
    if statistics not in ANONYMIZED_STATISTICS:
        errors.append(gettext("Choose one of the offered options."))
    codes = {c.code for c in vocabulary}
    chosen = [str(code) for code in form.getlist("categories")]
    if any(code not in codes for code in chosen):
        errors.append(gettext("Choose data categories from the list."))
    categories = [
        catalog.CategoryInput(code, str(form.get(f"items_{code}", "")).strip())
        for code in [c.code for c in vocabulary]
        if code in chosen
    ]
    purposes: list[catalog.PurposeInput] = []
    for line in str(form.get("purposes", "")).splitlines():
        line = line.strip()
        if not line:
            continue
        use, sep, rest = line.partition(":")
        if sep and use.strip() in PERMITTED_USES:
            purposes.append(catalog.PurposeInput(rest.strip(), use.strip()))
        else:
            purposes.append(catalog.PurposeInput(line, None))
    certifications = [c.strip() for c in str(form.get("certifications", "")).split(",") if c.strip()]
    chain, chain_errors = subcontractors.parse(form)
    errors.extend(chain_errors)
    promises: dict[str, Any] = {name: form.get(name) == "on" for name in BOOLEAN_FIELDS}
    data = catalog.VersionInput(
        name=text["name"][:200],
        use_group=use_group,
        description=text["description"],
        vendor_name=text["vendor_name"][:200],
        policy_url=text["policy_url"][:500],
        certifications=certifications,
        data_centre_country=country[:2],
        governing_law=text["governing_law"][:100] or "日本法",
        court=text["court"][:200],
        backup_retention_days=days,
        anonymized_statistics=statistics if statistics in ANONYMIZED_STATISTICS else "none",
        categories=categories,
        purposes=purposes,
        subcontractors=chain,
        **promises,
    )
    # Translations are kept by the new version for every text it keeps (catalog.write_version)
    # and are edited on the translations page.
    return data, errors


def _form_page(
    request: Request,
    db: Session,
    *,
    service: Service | None,
    data: catalog.VersionInput | None,
    code: str,
    errors: list[str],
    status: int = 200,
) -> Response:
    return render(
        request,
        "staff/service_form.html",
        {
            "service": service,
            "data": data or catalog.VersionInput(name="", use_group="learning", vendor_name=""),
            "code": code,
            "errors": errors,
            "vocabulary": _vocabulary(db),
            "use_groups": USE_GROUPS,
            "statistics": ANONYMIZED_STATISTICS,
            "boolean_fields": BOOLEAN_FIELDS,
            "subcontractor_rows": subcontractors.form_rows(data.subcontractors if data else []),
        },
        status_code=status,
    )


@router.get("/services")
def services(request: Request, db: DbSession, scope: AnyStaff) -> Response:
    views = catalog.latest_versions(db, scope.board_id, include_retired=True)
    return render(request, "staff/services.html", {"views": views, "scope": scope})


@router.get("/services/new")
def new_service(request: Request, db: DbSession, scope: BoardAdmin) -> Response:
    return _form_page(request, db, service=None, data=None, code="", errors=[])


@router.post("/services/new")
def create_service(request: Request, db: DbSession, scope: BoardAdmin, form: Form) -> Response:
    code = str(form.get("code", "")).strip()
    data, errors = parse_version(form, _vocabulary(db), None)
    if not CODE_PATTERN.match(code):
        errors.insert(0, gettext("The code uses lower-case letters, digits, - and _ (e.g. dashboard)."))
    elif db.scalar(select(Service.id).where(Service.board_id == scope.board_id, Service.code == code)):
        errors.insert(0, gettext("A service with this code already exists."))
    if errors:
        return _form_page(request, db, service=None, data=data, code=code, errors=errors, status=422)
    actor = Actor.account(scope.account_id)
    result = catalog.create_service(db, board_id=scope.board_id, code=code, data=data, actor=actor)
    announce(request, db, result, actor)
    return redirect(request, f"/staff/services/{result.service.id}")


def _service_page(
    request: Request,
    db: Session,
    scope: StaffScope,
    view: catalog.ServiceView,
    errors: Sequence[tuple[str, str]] = (),
    status: int = 200,
) -> Response:
    definitions = list(
        db.scalars(
            select(ChoiceDefinition)
            .where(ChoiceDefinition.service_id == view.service.id)
            .order_by(ChoiceDefinition.id)
        )
    )
    context = {"view": view, "definitions": definitions, "scope": scope, "kinds": DEFINITION_KINDS}
    context["incidents"] = incidents_of_service(db, scope.board_id, view.service.id)
    return render(request, "staff/service.html", {**context, "errors": list(errors)}, status_code=status)


@router.get("/services/{service_id}")
def service_page(request: Request, db: DbSession, scope: AnyStaff, service_id: RowId) -> Response:
    return _service_page(request, db, scope, _view(db, scope, service_id))


@router.get("/services/{service_id}/edit")
def edit_service(request: Request, db: DbSession, scope: BoardAdmin, service_id: RowId) -> Response:
    view = _view(db, scope, service_id)
    if not (view.service.status == "active"):
        raise NotFound()
    data = catalog.version_input_from(view.version)
    return _form_page(request, db, service=view.service, data=data, code=view.service.code, errors=[])


@router.post("/services/{service_id}/edit")
def publish_service(
    request: Request, db: DbSession, scope: BoardAdmin, service_id: RowId, form: Form
) -> Response:
    view = _view(db, scope, service_id)
    if not (view.service.status == "active"):
        raise NotFound()
    before = catalog.version_input_from(view.version)
    data, errors = parse_version(form, _vocabulary(db), before)
    if not errors and data == before:
        errors.append(gettext("Nothing has changed, so no new version was published."))
    if errors:
        return _form_page(
            request, db, service=view.service, data=data, code=view.service.code, errors=errors, status=422
        )
    actor = Actor.account(scope.account_id)
    result = catalog.publish_service_version(db, service=view.service, data=data, actor=actor)
    announce(request, db, result, actor)
    return redirect(request, f"/staff/services/{service_id}")


@router.post("/services/{service_id}/retire")
def retire_service(request: Request, db: DbSession, scope: BoardAdmin, service_id: RowId) -> Response:
    service = _service(db, scope, service_id)
    if service.status == "active":
        catalog.retire_service(db, service=service, actor=Actor.account(scope.account_id))
    return redirect(request, "/staff/services")


@router.post("/services/{service_id}/definitions")
def create_definition(
    request: Request, db: DbSession, scope: BoardAdmin, service_id: RowId, form: Form
) -> Response:
    view = _view(db, scope, service_id)
    hideable = [c.category.code for c in view.version.categories]
    try:
        data = DefinitionForm.parse(form)
        choice_definitions.create_definition(
            db,
            board_id=view.service.board_id,
            service=view.service,
            code=data.code,
            form_kind=data.kind,
            wording=choice_definitions.Wording(data.label, data.explanation),
            category_codes=hideable,
            actor=Actor.account(scope.account_id),
        )
    except Invalid as exc:
        return _service_page(request, db, scope, view, errors=form_errors(exc), status=422)
    return redirect(request, f"/staff/services/{service_id}")


@router.post("/definitions/{definition_id}/retire")
def retire_definition(request: Request, db: DbSession, scope: BoardAdmin, definition_id: RowId) -> Response:
    definition = db.scalar(
        select(ChoiceDefinition).where(
            ChoiceDefinition.id == definition_id, ChoiceDefinition.board_id == scope.board_id
        )
    )
    if definition is None:
        raise NotFound()
    catalog.retire_definition(db, definition, actor=Actor.account(scope.account_id))
    if definition.service_id is None:  # a board-wide choice (ADR 0092)
        return redirect(request, "/staff/choices")
    return redirect(request, f"/staff/services/{definition.service_id}")

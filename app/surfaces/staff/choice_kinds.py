"""/staff/choices and /staff/definitions/{id}: board-wide choices, and every choice's page —
its versions, a new version of its wording, retiring and announcing it (ADR 0092)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor
from app.domain.catalog import definitions
from app.domain.catalog.models import ChoiceDefinition
from app.domain.choices.choice_announcements import request_choice_announcement
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.errors import form_errors
from app.surfaces.permissions import AnyStaff, BoardAdmin, StaffScope
from app.surfaces.staff.catalogue import Form
from app.surfaces.staff.forms import DefinitionForm, WordingForm
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff", include_in_schema=False)


def _choices_page(
    request: Request,
    db: Session,
    scope: StaffScope,
    errors: Sequence[tuple[str, str]] = (),
    status: int = 200,
) -> Response:
    found = definitions.board_wide_definitions(db, scope.board_id, include_retired=True)
    context = {"definitions": found, "scope": scope, "errors": list(errors)}
    return render(request, "staff/choices.html", context, status_code=status)


@router.get("/choices")
def board_choices(request: Request, db: DbSession, scope: AnyStaff) -> Response:
    return _choices_page(request, db, scope)


@router.post("/choices")
def create_board_choice(request: Request, db: DbSession, scope: BoardAdmin, form: Form) -> Response:
    try:
        data = DefinitionForm.parse(form)
        if data.kind == "categories":  # no one service's kinds of data to hide
            raise Invalid(fields={"kind": N_("Choose one of the offered options.")})
        definition = definitions.create_definition(
            db,
            board_id=scope.board_id,
            service=None,
            code=data.code,
            form_kind=data.kind,
            wording=definitions.Wording(data.label, data.explanation),
            actor=Actor.account(scope.account_id),
        )
    except Invalid as exc:
        return _choices_page(request, db, scope, errors=form_errors(exc), status=422)
    return redirect(request, f"/staff/definitions/{definition.id}")


def _definition(db: Session, scope: StaffScope, definition_id: int) -> ChoiceDefinition:
    definition = db.scalar(
        select(ChoiceDefinition).where(
            ChoiceDefinition.id == definition_id, ChoiceDefinition.board_id == scope.board_id
        )
    )
    if definition is None:
        raise NotFound()
    return definition


def _definition_page(
    request: Request,
    db: Session,
    scope: StaffScope,
    definition: ChoiceDefinition,
    errors: Sequence[tuple[str, str]] = (),
    status: int = 200,
) -> Response:
    context = {
        "definition": definition,
        "versions": definitions.versions_of(db, definition.id),
        "scope": scope,
        "errors": list(errors),
    }
    return render(request, "staff/definition.html", context, status_code=status)


@router.get("/definitions/{definition_id}")
def definition_page(request: Request, db: DbSession, scope: AnyStaff, definition_id: RowId) -> Response:
    return _definition_page(request, db, scope, _definition(db, scope, definition_id))


@router.post("/definitions/{definition_id}/edit")
def edit_definition(
    request: Request, db: DbSession, scope: BoardAdmin, definition_id: RowId, form: Form
) -> Response:
    definition = _definition(db, scope, definition_id)
    try:
        data = WordingForm.parse(form)
        definitions.edit_definition(
            db,
            definition,
            wording=definitions.Wording(data.label, data.explanation),
            actor=Actor.account(scope.account_id),
        )
    except Invalid as exc:
        return _definition_page(request, db, scope, definition, errors=form_errors(exc), status=422)
    return redirect(request, f"/staff/definitions/{definition.id}")


@router.post("/definitions/{definition_id}/announce")
def announce_definition(request: Request, db: DbSession, scope: BoardAdmin, definition_id: RowId) -> Response:
    definition = _definition(db, scope, definition_id)
    request_choice_announcement(
        db,
        definition,
        Actor.account(scope.account_id),
        base_url=str(request.app.state.settings.base_url),
    )
    return redirect(request, f"/staff/definitions/{definition.id}")

"""The board's translations of its content (ADR 0101): `/staff/translations`.

One language at a time, one part at a time (the board, its schools, the notice and the
choices for the whole board; or one service), the Japanese beside a field for the
translation. Saving a translation changes no version: guardians see it at once, and a text
left empty is shown in Japanese with a note.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.domain.audit.service import Actor, record
from app.domain.boards.models import Board
from app.domain.catalog import translating
from app.domain.catalog.service import latest_versions
from app.domain.incidents.models import Incident
from app.domain.translations import service as translations
from app.errors import Invalid, NotFound
from app.i18n import LANGUAGES, N_
from app.languages import SOURCE_LANGUAGE
from app.surfaces.dependencies import DbSession
from app.surfaces.errors import form_errors
from app.surfaces.permissions import BoardAdmin
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/translations", include_in_schema=False)
PAGE = "/staff/translations"
TEXT_MAX = 20_000
INCIDENTS_SHOWN = 20


async def _form(request: Request) -> FormData:
    return await request.form()


def _languages() -> list[str]:
    return [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE]


def _part(db: Session, board_id: int, service: int | None) -> translating.Part:
    """The texts of one part of the board's content, or NotFound (another board's service)."""
    if service is None:
        board = db.get(Board, board_id)
        if board is None:
            raise NotFound()
        part = translating.board_part(db, board)
        incidents = db.scalars(
            select(Incident)
            .where(Incident.board_id == board_id)
            .order_by(Incident.created_at.desc())
            .limit(INCIDENTS_SHOWN)
        )
        for incident in incidents:
            part.texts.append(
                translating.Text("incidents", incident.id, "title", incident.title, N_("Incident"))
            )
            part.texts.append(
                translating.Text("incidents", incident.id, "body", incident.body, N_("Incident"), long=True)
            )
            if incident.vendor_action:
                part.texts.append(
                    translating.Text(
                        "incidents",
                        incident.id,
                        "vendor_action",
                        incident.vendor_action,
                        N_("Incident"),
                        long=True,
                    )
                )
        return part
    view = next((v for v in latest_versions(db, board_id) if v.service.id == service), None)
    if view is None:
        raise NotFound()
    return translating.service_part(view)


def _page(
    request: Request,
    db: Session,
    board_id: int,
    lang: str,
    service: int | None,
    *,
    values: dict[str, str] | None = None,
    errors: list[tuple[str, str]] | None = None,
    saved: bool = False,
    status: int = 200,
) -> Response:
    part = _part(db, board_id, service)
    if values is None:
        held: dict[tuple[str, int], dict[str, dict[str, str]]] = {}
        by_kind: dict[str, set[int]] = defaultdict(set)
        for text in part.texts:
            by_kind[text.kind].add(text.entity_id)
        for kind, ids in by_kind.items():
            for entity_id, found in translations.of_entities(db, kind, ids, [lang]).items():
                held[(kind, entity_id)] = found
        values = {
            t.key: held.get((t.kind, t.entity_id), {}).get(lang, {}).get(t.field, "") for t in part.texts
        }
    services = [(v.service.id, v.version.name) for v in latest_versions(db, board_id)]
    return render(
        request,
        "staff/translations.html",
        {
            "languages": _languages(),
            "chosen": lang,
            "service": service,
            "services": services,
            "part": part,
            "values": values,
            "saved": saved,
            "errors": errors or [],
        },
        status_code=status,
    )


def _chosen(lang: str) -> str:
    offered = _languages()
    if lang in offered:
        return lang
    if not lang:
        return offered[0] if offered else ""
    raise NotFound()


@router.get("")
def translations_page(
    request: Request,
    db: DbSession,
    scope: BoardAdmin,
    lang: str = "",
    service: int | None = None,
    saved: str = "",
) -> Response:
    chosen = _chosen(lang)
    if not chosen:  # only Japanese is offered: nothing to translate into
        raise NotFound()
    return _page(request, db, scope.board_id, chosen, service, saved=bool(saved))


@router.post("")
def save_translations(
    request: Request, db: DbSession, scope: BoardAdmin, form: Annotated[FormData, Depends(_form)]
) -> Response:
    lang = _chosen(str(form.get("lang", "")))
    service_text = str(form.get("service", ""))
    service = int(service_text) if service_text.isascii() and service_text.isdigit() else None
    part = _part(db, scope.board_id, service)
    values = {t.key: str(form.get(f"t:{t.key}", "")).strip() for t in part.texts}
    try:
        too_long = [t.key for t in part.texts if len(values[t.key]) > TEXT_MAX]
        if too_long:
            raise Invalid(fields={f"t:{too_long[0]}": N_("A text can be at most 20,000 characters.")})
        given: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
        for text in part.texts:
            given[(text.kind, text.entity_id)][text.field] = values[text.key]
        changed = sum(
            translations.save(db, scope.board_id, kind, entity_id, {lang: texts})
            for (kind, entity_id), texts in given.items()
        )
    except Invalid as exc:
        return _page(
            request, db, scope.board_id, lang, service, values=values, errors=form_errors(exc), status=422
        )
    if changed:
        record(
            db,
            "translations.saved",
            actor=Actor.account(scope.account_id),
            board_id=scope.board_id,
            target_type="service" if service is not None else "board",
            target_id=service if service is not None else scope.board_id,
            details={"language": lang, "entities": changed},
        )
    where = f"{PAGE}?lang={lang}" + (f"&service={service}" if service is not None else "")
    return redirect(request, f"{where}&saved=1")

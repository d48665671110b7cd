"""Start page, language switch and health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from app.i18n import LANGUAGES
from app.surfaces.dependencies import AppSettings, DbSession
from app.surfaces.middleware import remember_language
from app.surfaces.permissions import OptionalPrincipal
from app.surfaces.web import redirect, render, safe_next

router = APIRouter()


@router.get("/")
def start_page(request: Request, principal: OptionalPrincipal, settings: AppSettings) -> Response:
    return render(request, "home/start.html", {"providers": settings.oidc_providers})


@router.post("/language")
def switch_language(
    request: Request,
    settings: AppSettings,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    response = redirect(request, safe_next(next))
    if lang in LANGUAGES:
        remember_language(response, settings, lang)
    return response


@router.get("/healthz", include_in_schema=False)
def health(db: DbSession) -> JSONResponse:
    db.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})

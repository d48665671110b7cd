"""The guardian's language setting: pages and e-mails in the language they choose (ADR 0078).

`GET /account/language` shows the languages offered; `POST /account/language` saves the
choice on the account and on every roster guardian it acts for, and puts it in force on this
browser at once. The same POST serves the "remember this language" offer that the header
shows after the language switch (`next` brings the guardian back to where they were).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.domain.accounts.language import current_setting, save_language
from app.errors import Invalid
from app.surfaces.dependencies import AppSettings, DbSession
from app.surfaces.errors import form_errors
from app.surfaces.middleware import remember_language
from app.surfaces.permissions import CurrentGuardian
from app.surfaces.web import redirect, render, safe_next

router = APIRouter()

PAGE = "/account/language"


@router.get(PAGE)
def language_page(request: Request, db: DbSession, principal: CurrentGuardian, saved: str = "") -> Response:
    return render(
        request,
        "guardian/language.html",
        {"selected": current_setting(db, principal.account), "saved": bool(saved), "errors": []},
    )


@router.post(PAGE)
def save(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentGuardian,
    lang: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        save_language(db, principal.account, lang)
    except Invalid as exc:
        return render(
            request,
            "guardian/language.html",
            {"selected": current_setting(db, principal.account), "saved": False, "errors": form_errors(exc)},
            status_code=422,
        )
    response = redirect(request, safe_next(next, f"{PAGE}?saved=1"))
    remember_language(response, settings, lang)
    return response

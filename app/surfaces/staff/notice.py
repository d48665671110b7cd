"""/staff/notice: the notice guardians read, written by the board (board administrators).

Every staff member reads the notice in force; a board admin writes the next version's title
and body in Japanese and English, previews it as guardians will see it, then publishes it.
Publishing adds a version (nothing published is edited); guardians who open a choice form
before and send it after are asked to read the new version first (ADR 0089).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor
from app.domain.catalog import notices
from app.domain.catalog.models import NoticeVersion
from app.domain.catalog.service import DEFAULT_NOTICE, NoticeText, current_notice
from app.domain.translations import service as translations
from app.errors import Invalid
from app.surfaces.dependencies import DbSession
from app.surfaces.errors import form_errors
from app.surfaces.permissions import AnyStaff, BoardAdmin
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/notice", include_in_schema=False)
EARLIER_SHOWN = 20


def _page(
    request: Request,
    db: Session,
    board_id: int,
    *,
    can_edit: bool,
    draft: NoticeText | None = None,
    preview: bool = False,
    errors: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> Response:
    current = current_notice(db, board_id)
    earlier = list(
        db.scalars(
            select(NoticeVersion)
            .where(NoticeVersion.board_id == board_id)
            .order_by(NoticeVersion.version.desc())
            .offset(1)
            .limit(EARLIER_SHOWN)
        )
    )
    if draft is None:
        draft = (
            NoticeText(
                current.title,
                current.body,
                translations.of_entities(db, "notice_versions", [current.id], ["en"]).get(current.id, {}),
            )
            if current
            else DEFAULT_NOTICE
        )
    return render(
        request,
        "staff/notice.html",
        {
            "current": current,
            "earlier": earlier,
            "draft": draft,
            "preview": preview,
            "paragraphs": notices.paragraphs,
            "can_edit": can_edit,
            "errors": errors or [],
        },
        status_code=status,
    )


@router.get("")
def notice_page(request: Request, db: DbSession, scope: AnyStaff) -> Response:
    return _page(request, db, scope.board_id, can_edit=scope.is_board_admin)


@router.post("")
def write_notice(
    request: Request,
    db: DbSession,
    scope: BoardAdmin,
    title: Annotated[str, Form(max_length=1_000)] = "",
    title_en: Annotated[str, Form(max_length=1_000)] = "",
    body: Annotated[str, Form(max_length=60_000)] = "",
    body_en: Annotated[str, Form(max_length=60_000)] = "",
    action: Annotated[str, Form(max_length=10)] = "preview",
) -> Response:
    # English here; every other language on the translations page (/staff/translations).
    draft = NoticeText(title, body, {"en": {"title": title_en, "body": body_en}})
    try:
        notices.check_text(draft)
        if action == "publish":
            notices.publish_text(
                db, board_id=scope.board_id, text=draft, actor=Actor.account(scope.account_id)
            )
            return redirect(request, "/staff/notice")
    except Invalid as exc:
        return _page(
            request, db, scope.board_id, can_edit=True, draft=draft, errors=form_errors(exc), status=422
        )
    return _page(request, db, scope.board_id, can_edit=True, draft=draft, preview=True)

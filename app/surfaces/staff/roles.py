"""Staff pages of the sign-in domain: roles, trusted providers, enrolment letters."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.config import Settings
from app.db import utcnow
from app.domain.accounts import staff_admin
from app.domain.accounts.linking import ENROLMENT_CODE_TTL
from app.domain.accounts.models import STAFF_ROLES, Account, StaffGroupMapping, StaffRole
from app.domain.accounts.principal import Principal
from app.domain.audit.service import Actor
from app.domain.boards import service as boards
from app.domain.boards.models import Board
from app.domain.notifications.service import queue_email
from app.domain.people.models import School, SchoolClass
from app.errors import Invalid
from app.i18n import current_language
from app.i18n import gettext as _
from app.surfaces.dependencies import AppSettings, DbSession, RowId
from app.surfaces.permissions import CurrentStaff
from app.surfaces.web import redirect, render

router = APIRouter()


def _admin_board(principal: Principal, board_id: int | None) -> int:
    boards_admin = staff_admin.admin_board_ids(principal)
    if not boards_admin or (board_id is not None and board_id not in boards_admin):
        raise HTTPException(status_code=404)
    return board_id if board_id is not None else boards_admin[0]


def _school_id(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise Invalid("Choose a school of this board.")
    return int(raw)


def _roles_context(db: Session, settings: AppSettings, board_id: int) -> dict[str, Any]:
    bound = aliased(Account)
    roles = db.execute(
        select(StaffRole, bound.email, bound.disabled_at)
        .outerjoin(bound, bound.id == StaffRole.account_id)
        .where(StaffRole.board_id == board_id, StaffRole.revoked_at.is_(None))
        .order_by(StaffRole.role, StaffRole.id)
    ).all()
    schools = list(db.scalars(select(School).where(School.board_id == board_id).order_by(School.code)))
    mappings = list(
        db.scalars(
            select(StaffGroupMapping)
            .where(StaffGroupMapping.board_id == board_id)
            .order_by(StaffGroupMapping.id)
        )
    )
    return {
        "board": db.get(Board, board_id),
        "roles": roles,
        "schools": schools,
        "school_names": {s.id: s for s in schools},
        "mappings": mappings,
        "role_names": STAFF_ROLES,
        "staff_providers": [p for p in settings.oidc_providers if p.audience == "staff"],
    }


@router.get("/staff/roles")
def roles_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentStaff,
    board_id: int | None = None,
) -> Response:
    board = _admin_board(principal, board_id)
    return render(request, "accounts/roles.html", _roles_context(db, settings, board))


def _roles_error(request: Request, db: Session, settings: AppSettings, board: int, message: str) -> Response:
    context = _roles_context(db, settings, board)
    context["error"] = _(message)
    return render(request, "accounts/roles.html", context, status_code=400)


@router.post("/staff/roles")
def invite_staff(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentStaff,
    board_id: Annotated[int, Form()],
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    school_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    board = _admin_board(principal, board_id)
    try:
        row = staff_admin.invite(
            db, board, email, role, _school_id(school_id), granted_by=principal.account.id
        )
    except Invalid as exc:
        return _roles_error(request, db, settings, board, str(exc))
    board_row = db.get(Board, board)
    queue_email(
        db,
        to=row.invited_email or "",
        template="email/accounts_staff_invitation.txt",
        context={"board": board_row, "role": row.role, "url": f"{settings.base_url.rstrip('/')}/signin"},
        purpose="staff_invitation",
        language="ja",
        board_id=board,
    )
    return redirect(request, f"/staff/roles?board_id={board}")


@router.post("/staff/roles/{role_id}/revoke")
def revoke_staff_role(
    request: Request,
    role_id: RowId,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentStaff,
    board_id: Annotated[int, Form()],
) -> Response:
    board = _admin_board(principal, board_id)
    try:
        row = staff_admin.revoke_role(db, principal, board, role_id)
    except Invalid as exc:
        return _roles_error(request, db, settings, board, str(exc))
    if row is None:
        raise HTTPException(status_code=404)
    return redirect(request, f"/staff/roles?board_id={board}")


@router.post("/staff/accounts/{account_id}/disable")
def disable_staff_account(
    request: Request,
    account_id: RowId,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentStaff,
    board_id: Annotated[int, Form()],
) -> Response:
    """Sign a staff account out everywhere and keep it out (effective on its next request)."""
    board = _admin_board(principal, board_id)
    try:
        staff_admin.disable_account(db, principal, board, account_id)
    except Invalid as exc:
        return _roles_error(request, db, settings, board, str(exc))
    return redirect(request, f"/staff/roles?board_id={board}")


@router.post("/staff/roles/mappings")
def add_group_mapping(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentStaff,
    board_id: Annotated[int, Form()],
    provider_name: Annotated[str, Form(max_length=40)] = "",
    group_value: Annotated[str, Form(max_length=255)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    school_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    board = _admin_board(principal, board_id)
    provider = settings.provider(provider_name)
    try:
        if provider is None or provider.audience != "staff":
            raise Invalid("Choose a staff sign-in provider.")
        staff_admin.add_mapping(db, principal, board, provider.name, group_value, role, _school_id(school_id))
    except Invalid as exc:
        return _roles_error(request, db, settings, board, str(exc))
    return redirect(request, f"/staff/roles?board_id={board}")


@router.post("/staff/roles/mappings/{mapping_id}/delete")
def delete_group_mapping(
    request: Request,
    mapping_id: RowId,
    db: DbSession,
    principal: CurrentStaff,
    board_id: Annotated[int, Form()],
) -> Response:
    board = _admin_board(principal, board_id)
    if not staff_admin.remove_mapping(db, principal, board, mapping_id):
        raise HTTPException(status_code=404)
    return redirect(request, f"/staff/roles?board_id={board}")


# --- trusted providers -------------------------------------------------------------


@router.get("/staff/providers")
def providers_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentStaff,
    board_id: int | None = None,
) -> Response:
    board = _admin_board(principal, board_id)
    return render(
        request,
        "accounts/providers.html",
        {
            "board": db.get(Board, board),
            "providers": [p for p in settings.oidc_providers if p.audience == "guardian"],
            "trust": boards.provider_trust(db, board),
        },
    )


@router.post("/staff/providers")
def save_providers(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentStaff,
    board_id: Annotated[int, Form()],
    trusted: Annotated[list[str] | None, Form()] = None,
) -> Response:
    board = _admin_board(principal, board_id)
    wanted_names = set(trusted or [])
    for provider in settings.oidc_providers:
        if provider.audience != "guardian":
            continue
        staff_admin.set_provider_trust(
            db, board, provider.name, provider.name in wanted_names, actor=Actor.account(principal.account.id)
        )
    return redirect(request, f"/staff/providers?board_id={board}")


# --- enrolment letters -------------------------------------------------------------


@router.get("/staff/letters")
def letters_index(request: Request, db: DbSession, principal: CurrentStaff) -> Response:
    classes = staff_admin.letter_classes(db, principal)
    if (
        not classes
        and not staff_admin.admin_board_ids(principal)
        and not any(r.role == "school_admin" for r in principal.roles)
    ):
        raise HTTPException(status_code=404)
    return render(request, "accounts/letters_index.html", {"classes": classes})


@router.get("/staff/letters/classes/{class_id}")
def letters_confirm(request: Request, class_id: RowId, db: DbSession, principal: CurrentStaff) -> Response:
    school_class = staff_admin.class_for_letters(db, principal, class_id)
    if school_class is None:
        raise HTTPException(status_code=404)
    pairs = staff_admin.class_pairs(db, school_class)
    return render(
        request, "accounts/letters_confirm.html", {"school_class": school_class, "count": len(pairs)}
    )


@router.post("/staff/letters/classes/{class_id}")
def letters_print(
    request: Request, class_id: RowId, db: DbSession, settings: AppSettings, principal: CurrentStaff
) -> Response:
    school_class = staff_admin.class_for_letters(db, principal, class_id)
    if school_class is None:
        raise HTTPException(status_code=404)
    letters = staff_admin.issue_letters(db, principal, school_class)
    return letters_page(request, db, settings, letters, school_class.board_id)


def letters_page(
    request: Request, db: Session, settings: Settings, letters: list[staff_admin.Letter], board_id: int
) -> Response:
    """The printable letters, one page each (also printed from the reach lists)."""
    base = settings.base_url.rstrip("/")
    pages = []
    for letter in letters:
        url = f"{base}/link/{letter.code}"
        pages.append(
            {
                "letter": letter,
                "school": db.get_one(School, letter.student.school_id),
                "school_class": db.get(SchoolClass, letter.student.class_id)
                if letter.student.class_id
                else None,
                "url": url,
                "qr": segno.make(url, error="m").svg_data_uri(scale=4, border=2),
            }
        )
    board = db.get(Board, board_id)
    # The letters are always in Japanese, whatever the language of the screen.
    token = current_language.set("ja")
    try:
        return render(
            request,
            "accounts/letters_print.html",
            {
                "board": board,
                "pages": pages,
                "signin_url": f"{base}/signin",
                "link_url": f"{base}/link",
                "expires": utcnow() + ENROLMENT_CODE_TTL - timedelta(days=1),
            },
        )
    finally:
        current_language.reset(token)

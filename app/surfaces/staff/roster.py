"""Roster upload for board administrators: /staff/roster.

The upload is saved to UPLOAD_DIR and imported by the background worker (a job queued in
the same transaction as the tracking row); the status page polls the row with htmx (and has
a plain refresh link for browsers without JavaScript).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from app.domain.accounts.principal import Principal
from app.domain.boards.models import Board
from app.domain.roster.jobs import queue_import
from app.domain.roster.models import RosterImport
from app.domain.roster.progress import live_progress
from app.domain.roster.service import ENTITIES, ImportReport
from app.errors import NotFound
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.permissions import CurrentStaff
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/roster")
log = logging.getLogger("tobira.roster")
MAX_UPLOAD_BYTES = 2 * 1024**3
ENTITY_LABELS = {
    "schools": "Schools",
    "school_years": "School years",
    "classes": "Homerooms",
    "students": "Students",
    "guardians": "Guardians",
    "links": "Guardian–student links",
}


def admin_board_ids(principal: Principal) -> list[int]:
    """Boards where this person is a board administrator (board-wide role)."""
    return sorted({r.board_id for r in principal.roles if r.role == "board_admin" and r.school_id is None})


def _boards(db: DbSession, principal: Principal) -> list[Board]:
    ids = admin_board_ids(principal)
    if not ids:
        raise NotFound()
    return list(db.scalars(select(Board).where(Board.id.in_(ids)).order_by(Board.name)))


def _page(
    request: Request, db: DbSession, principal: Principal, error: str = "", status_code: int = 200
) -> Response:
    boards = _boards(db, principal)
    imports = list(
        db.scalars(
            select(RosterImport)
            .where(RosterImport.board_id.in_([b.id for b in boards]))
            .order_by(RosterImport.id.desc())
            .limit(20)
        )
    )
    return render(
        request,
        "roster/index.html",
        {"boards": boards, "imports": imports, "error": error},
        status_code=status_code,
    )


@router.get("")
def roster_page(request: Request, db: DbSession, principal: CurrentStaff) -> Response:
    return _page(request, db, principal)


@router.post("")
def upload_roster(
    request: Request,
    db: DbSession,
    principal: CurrentStaff,
    board_id: Annotated[int, Form()],
    file: Annotated[UploadFile | None, File()] = None,
    encoding: Annotated[str, Form()] = "utf-8",
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    if board_id not in admin_board_ids(principal):
        raise NotFound()
    if file is None or not file.filename:
        return _page(request, db, principal, "Choose a OneRoster zip file to upload.", status_code=422)
    upload_dir = Path(request.app.state.settings.upload_dir)
    upload_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(prefix="roster-", suffix=".zip", dir=upload_dir, delete=False) as target:
        shutil.copyfileobj(file.file, target, length=1024 * 1024)
        size = target.tell()
    path = Path(target.name)
    if size == 0 or size > MAX_UPLOAD_BYTES:
        path.unlink(missing_ok=True)
        message = "The file is empty." if size == 0 else "The file is too large."
        return _page(request, db, principal, message, status_code=422)
    row = RosterImport(
        board_id=board_id, dry_run=dry_run, source_name=(file.filename or "")[:255], status="running"
    )
    db.add(row)
    db.flush()
    # A worker picks it up once this request's transaction has committed both rows.
    queue_import(db, row=row, path=path, account_id=principal.account.id, allow_cp932=encoding == "cp932")
    return redirect(request, f"/staff/roster/imports/{row.id}")


@router.get("/imports/{import_id}")
def import_status(request: Request, db: DbSession, principal: CurrentStaff, import_id: RowId) -> Response:
    row = db.get(RosterImport, import_id)
    if row is None or row.board_id not in admin_board_ids(principal):
        raise NotFound()
    progress = row.progress
    if row.status == "running":
        live = live_progress(row.id)
        progress = live if live is not None else progress
    board = db.get(Board, row.board_id)
    return render(
        request,
        "roster/import.html",
        {
            "row": row,
            "board": board,
            "progress": progress,
            "report": ImportReport.from_row(row),
            "entities": ENTITIES,
            "labels": ENTITY_LABELS,
        },
        fragment="roster/_status.html",
    )

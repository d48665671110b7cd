"""Roster upload for board administrators: /staff/roster.

Never one click: an upload is saved to UPLOAD_DIR and checked by the background worker as a
dry run (a job queued in the same transaction as the tracking row); the status page shows the
review — what would change, and any caution (another district, mass deactivation) with what
would go — and "Import this roster", which queues the real import of the same file once every
caution is ticked. The status page polls the row with htmx (and has a plain refresh link for
browsers without JavaScript).
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
from app.domain.roster.jobs import queue_import, upload_path
from app.domain.roster.models import RosterImport
from app.domain.roster.progress import live_progress
from app.domain.roster.review import Acceptance, sample_names
from app.domain.roster.service import ENTITIES, ENTITY_LABELS, ImportReport
from app.errors import Conflict, NotFound
from app.surfaces.dependencies import DbSession, RowId
from app.surfaces.permissions import CurrentStaff
from app.surfaces.web import redirect, render

router = APIRouter(prefix="/staff/roster")
log = logging.getLogger("tobira.roster")
MAX_UPLOAD_BYTES = 2 * 1024**3


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
        board_id=board_id,
        dry_run=True,
        source_name=(file.filename or "")[:255],
        status="running",
        summary={"cp932": encoding == "cp932"},
    )
    db.add(row)
    db.flush()
    kept = upload_path(upload_dir, row.id)
    path.rename(kept)
    # A worker picks it up once this request's transaction has committed both rows.
    queue_import(db, row=row, path=kept, account_id=principal.account.id, allow_cp932=encoding == "cp932")
    return redirect(request, f"/staff/roster/imports/{row.id}")


@router.post("/imports/{import_id}/confirm")
def confirm_import(
    request: Request,
    db: DbSession,
    principal: CurrentStaff,
    import_id: RowId,
    accept_other_district: Annotated[bool, Form()] = False,
    accept_deactivations: Annotated[bool, Form()] = False,
) -> Response:
    """Import the file a dry run checked, with the cautions the administrator ticked."""
    checked = _own_import(db, principal, import_id)
    first = int((checked.summary or {}).get("checked_by", checked.id))
    path = upload_path(Path(request.app.state.settings.upload_dir), first)
    report = ImportReport.from_row(checked)
    if checked.status not in ("done", "needs_confirmation") or not path.is_file():
        raise Conflict("This roster can no longer be imported from here. Please upload it again.")
    if (checked.status == "done" and not checked.dry_run) or "imported_as" in (checked.summary or {}):
        raise Conflict("This roster has already been imported.")
    accept = Acceptance(other_district=accept_other_district, deactivations=accept_deactivations)
    if not all(accept.covers(caution) for caution in report.cautions):
        return _status_page(
            request, db, checked, status_code=422, error="Tick each box to confirm what the check found."
        )
    row = RosterImport(
        board_id=checked.board_id,
        dry_run=False,
        source_name=checked.source_name,
        status="running",
        summary={"checked_by": first},
    )
    db.add(row)
    db.flush()
    checked.summary = {**(checked.summary or {}), "imported_as": row.id}
    queue_import(
        db,
        row=row,
        path=path,
        account_id=principal.account.id,
        allow_cp932=bool((checked.summary or {}).get("cp932")),
        accept=accept,
    )
    return redirect(request, f"/staff/roster/imports/{row.id}")


def _own_import(db: DbSession, principal: Principal, import_id: int) -> RosterImport:
    row = db.get(RosterImport, import_id)
    if row is None or row.board_id not in admin_board_ids(principal):
        raise NotFound()
    return row


def _status_page(
    request: Request, db: DbSession, row: RosterImport, *, status_code: int = 200, error: str = ""
) -> Response:
    progress = row.progress
    if row.status == "running":
        live = live_progress(row.id)
        progress = live if live is not None else progress
    report = ImportReport.from_row(row)
    return render(
        request,
        "roster/import.html",
        {
            "row": row,
            "board": db.get(Board, row.board_id),
            "progress": progress,
            "report": report,
            "entities": ENTITIES,
            "labels": ENTITY_LABELS,
            "cautions": [(c, sample_names(db, row.board_id, c)) for c in report.cautions if row.board_id],
            "error": error,
        },
        fragment="roster/_status.html",
        status_code=status_code,
    )


@router.get("/imports/{import_id}")
def import_status(request: Request, db: DbSession, principal: CurrentStaff, import_id: RowId) -> Response:
    return _status_page(request, db, _own_import(db, principal, import_id))

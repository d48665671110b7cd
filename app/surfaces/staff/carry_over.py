"""/staff/choices/import: board administrators carry over choices received before Tobira.

Upload → check (every line; nothing is saved) → "Carry over these choices". The checked file
waits in UPLOAD_DIR under the hash of its content, so the confirmation applies exactly what
was checked.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from app.domain.audit.service import Actor
from app.domain.choices.carry_over import COLUMNS, carry_over, template_csv
from app.errors import Conflict
from app.surfaces.dependencies import DbSession
from app.surfaces.permissions import BoardAdmin
from app.surfaces.web import render

router = APIRouter(prefix="/staff/choices", include_in_schema=False)
MAX_BYTES = 20 * 1024 * 1024
DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _kept(request: Request, board_id: int, digest: str) -> Path:
    return Path(request.app.state.settings.upload_dir) / f"choices-{board_id}-{digest}.csv"


@router.get("/import")
def import_form(request: Request, scope: BoardAdmin) -> Response:
    return render(request, "staff/carry_over.html", {"columns": COLUMNS, "report": None})


@router.get("/import/template.csv")
def template(db: DbSession, scope: BoardAdmin) -> Response:
    """The header and one example line to fill in (ADR 0084)."""
    return Response(
        template_csv(db, scope.board_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="carry-over-template.csv"'},
    )


@router.post("/import")
async def check_file(
    request: Request, db: DbSession, scope: BoardAdmin, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    data = await file.read(MAX_BYTES + 1) if file is not None else b""
    if not data or len(data) > MAX_BYTES:
        error = "Choose a CSV file (20 MB at most)."
        return render(
            request,
            "staff/carry_over.html",
            {"columns": COLUMNS, "report": None, "error": error},
            status_code=422,
        )
    report = carry_over(db, scope.board_id, data, actor=Actor.account(scope.account_id), dry_run=True)
    digest = hashlib.sha256(data).hexdigest()
    if report.ok:
        path = _kept(request, scope.board_id, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    context = {"columns": COLUMNS, "report": report, "digest": digest, "dry_run": True}
    return render(request, "staff/carry_over.html", context, status_code=200 if report.ok else 422)


@router.post("/import/confirm")
def apply_file(
    request: Request,
    db: DbSession,
    scope: BoardAdmin,
    digest: Annotated[str, Form()] = "",
    notify: Annotated[str, Form()] = "",
) -> Response:
    path = _kept(request, scope.board_id, digest) if DIGEST.match(digest) else None
    if path is None or not path.is_file():
        raise Conflict("This file can no longer be carried over from here. Please upload it again.")
    report = carry_over(
        db,
        scope.board_id,
        path.read_bytes(),
        actor=Actor.account(scope.account_id),
        dry_run=False,
        notify=notify == "on",
        base_url=request.app.state.settings.base_url,
    )
    path.unlink(missing_ok=True)
    return render(request, "staff/carry_over.html", {"columns": COLUMNS, "report": report, "dry_run": False})

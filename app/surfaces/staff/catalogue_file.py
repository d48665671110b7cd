"""/staff/catalogue-file: the board's whole catalogue as one YAML (or `?format=json`) file to
save, the same document `portal catalogue export` writes (docs/catalogue-file.md). Board
administrators only; each download is audited."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from app.domain.audit.service import Actor, record
from app.domain.boards.models import Board
from app.domain.catalog.catalogue_file import dump, export_document
from app.surfaces.dependencies import DbSession
from app.surfaces.permissions import BoardAdmin

router = APIRouter(prefix="/staff", include_in_schema=False)

MEDIA_TYPES = {"yaml": "application/yaml; charset=utf-8", "json": "application/json"}


@router.get("/catalogue-file")
def download(db: DbSession, scope: BoardAdmin, format: Literal["yaml", "json"] = "yaml") -> Response:
    board = db.get_one(Board, scope.board_id)
    document = export_document(db, board.id, board.code)
    record(
        db,
        "catalogue.exported",
        actor=Actor.account(scope.account_id),
        board_id=board.id,
        target_type="board",
        target_id=board.id,
        details={"services": len(document["services"]), "format": format},
    )
    return Response(
        dump(document, format),
        media_type=MEDIA_TYPES[format],
        headers={
            "Content-Disposition": f'attachment; filename="catalogue-{board.code}.{format}"',
            "Cache-Control": "no-store",
        },
    )

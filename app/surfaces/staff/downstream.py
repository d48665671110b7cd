"""/staff/downstream: each downstream system (API key) of the board, how far behind the
change feed it says it is (its latest acknowledgement), and how old that word is."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.db import utcnow
from app.domain.exports.downstream import downstream_systems
from app.surfaces.dependencies import DbSession
from app.surfaces.permissions import BoardAdmin
from app.surfaces.web import render

router = APIRouter(prefix="/staff", include_in_schema=False)


@router.get("/downstream")
def downstream(request: Request, db: DbSession, scope: BoardAdmin) -> Response:
    status = downstream_systems(db, scope.board_id)
    return render(request, "staff/downstream.html", {"status": status, "now": utcnow()})

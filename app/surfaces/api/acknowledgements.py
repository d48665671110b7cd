"""POST /api/v1/acknowledgements: a downstream system reports the feed cursor it has applied.

The cursor must be one this key was served (`changes_cursor` of /hide-list, `next_cursor` of
/changes); anything else — made up, another key's or another board's — is refused with a
typed problem (409, `cursor_not_served`) and changes nothing. The same cursor twice answers the
first acknowledgement (200) and writes nothing; a new one answers 201.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.domain.evidence import service as evidence
from app.domain.exports import feed
from app.surfaces.api.router import ERRORS, Credentials, authenticate
from app.surfaces.dependencies import DbSession

router = APIRouter(prefix="/api/v1", tags=["downstream"], responses=ERRORS)

CURSOR = r"^e[0-9]{1,18}$"


class AcknowledgementRequest(BaseModel):
    cursor: str = Field(
        pattern=CURSOR,
        description="A feed cursor this key was served (`changes_cursor` or `next_cursor`) "
        "whose changes, and every change before it, the system has applied.",
    )


class Acknowledgement(BaseModel):
    cursor: str = Field(description="The acknowledged cursor.")
    acknowledged_at: datetime = Field(description="When Tobira first received this acknowledgement.")
    created: bool = Field(description="False when the same cursor was acknowledged before.")


class ProblemBody(BaseModel):
    status: int
    title: str
    detail: str
    type: Literal["cursor_not_served"] = Field(description="What is wrong, as a stable code.")


class Problem(BaseModel):
    error: ProblemBody


def _not_served() -> JSONResponse:
    body = Problem(
        error=ProblemBody(
            status=409,
            title="The cursor was not served to this key",
            detail="This cursor was never served to this API key; acknowledge a cursor "
            "from /hide-list or /changes.",
            type="cursor_not_served",
        )
    )
    return JSONResponse(body.model_dump(), status_code=409)


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Acknowledgement, "description": "Acknowledged before; nothing changed."},
    409: {"model": Problem, "description": "Not a cursor this key was served (`cursor_not_served`)."},
}


@router.post(
    "/acknowledgements",
    response_model=Acknowledgement,
    status_code=201,
    summary="Report the feed cursor the system has applied",
    responses=RESPONSES,
)
def acknowledge(
    request: Request,
    db: DbSession,
    credentials: Credentials,
    payload: Annotated[AcknowledgementRequest, Body()],
) -> JSONResponse:
    """Say that the system applied every change up to this cursor. Guardians then see the
    system as having applied their child's setting; board staff see how far behind it is."""
    caller = authenticate(request, db, credentials)
    try:
        position = feed.decode_cursor("e", payload.cursor)
        done = evidence.acknowledge(db, board_id=caller.board_id, api_key_id=caller.id, position=position)
    except (feed.BadCursor, evidence.CursorNotServed):
        return _not_served()
    body = Acknowledgement(
        cursor=feed.encode_cursor("e", done.position),
        acknowledged_at=done.acknowledged_at,
        created=done.created,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if done.created else 200)

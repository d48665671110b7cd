"""/api/v1: the downstream API (e.g. the School Dashboard) with board-scoped keys.

Errors are JSON `{"error": {...}}` (app/surfaces/errors.py handles /api/ paths).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.db import commit_without_waiting, utcnow
from app.domain.apikeys import service as keys
from app.domain.apikeys.models import ApiKey
from app.domain.audit.service import Actor, record
from app.domain.evidence.service import record_pickup
from app.domain.exports import choice_list
from app.domain.exports import feed as service
from app.domain.exports.feed_schemas import ChangeFeed, ChoiceList, ErrorResponse, HideList
from app.domain.tokens.service import rate_key, rate_limited
from app.errors import RateLimited
from app.surfaces.dependencies import DbSession

bearer = HTTPBearer(auto_error=False, description="An API key created by a board administrator.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

# Service and choice codes as the catalogue writes them; a cursor is its letter and digits.
CODE = r"^[a-z0-9][a-z0-9_-]{0,59}$"
DEFAULT_RATE_LIMIT = 600  # requests per key per minute; app.state.api_rate_limit overrides
RATE_WINDOW = timedelta(minutes=1)
LAST_USED_EVERY = timedelta(minutes=1)
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 404, 422, 429)
}

router = APIRouter(prefix="/api/v1", tags=["downstream"], responses=ERRORS)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def authenticate(request: Request, db: Session, credentials: HTTPAuthorizationCredentials | None) -> ApiKey:
    """The caller's key. Unknown or revoked keys raise 401; a key over its limit raises 429
    (the hit stays counted: the rate-limit write outlives the rollback)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    key = keys.find_key(db, credentials.credentials.strip())
    if key is None or key.revoked_at is not None:
        raise _unauthorized("The API key is unknown or has been revoked.")
    limit = int(getattr(request.app.state, "api_rate_limit", DEFAULT_RATE_LIMIT))
    if rate_limited(db, rate_key("api", str(key.id)), limit=limit, window=RATE_WINDOW):
        seconds = int(RATE_WINDOW.total_seconds())
        retry_after = seconds - int(utcnow().timestamp()) % seconds
        raise RateLimited("Limit is {limit} per minute.", retry_after=max(retry_after, 1), limit=limit)
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        key.last_used_at = now  # kept to the minute: a poll every second writes once a minute
    return key


def _etag_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}


def _matches(request: Request, etag: str) -> bool:
    wanted = [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]
    return etag in wanted or f"W/{etag}" in wanted


def _with_etag(request: Request, model: BaseModel) -> Response:
    """The change feed's ETag: the hash of its body (it is read to know what is new anyway)."""
    body = model.model_dump_json().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if _matches(request, etag):
        return Response(status_code=304, headers=_etag_headers(etag))
    return Response(body, media_type="application/json", headers=_etag_headers(etag))


def _not_modified(db: Session, etag: str) -> Response:
    """A list the client holds already. No row is read and nothing is disclosed, so neither a
    pick-up (ADR 0086) nor an audit event is written; the rate limit counts it (ADR 0099). That
    count is all the transaction writes, so its commit does not wait for the disk."""
    commit_without_waiting(db)
    return Response(status_code=304, headers=_etag_headers(etag))


def _bad_request(detail: str) -> HTTPException:
    return HTTPException(status_code=400, detail=detail)


@router.get("/hide-list", response_model=HideList, summary="Students whose data must be hidden")
def hide_list(
    request: Request,
    db: DbSession,
    credentials: Credentials,
    service_code: Annotated[str, Query(alias="service", pattern=CODE, description="Service code.")],
    choice: Annotated[str, Query(pattern=CODE, description="Choice code, e.g. `hide`.")],
    cursor: Annotated[
        str | None, Query(pattern=r"^c[0-9]{1,18}$", description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    """Every student whose effective (confirmed) choice hides data of this service, with the
    data categories to hide. Page with `cursor`; then follow `/changes` from `changes_cursor`."""
    caller = authenticate(request, db, credentials)
    version = service.list_version(db, caller.board_id, service_code, choice)
    if version is None:
        raise HTTPException(status_code=404, detail="No such service and choice for this board.")
    if version.definition.default_value == "deny":
        raise HTTPException(  # an opt-in choice: "allow" does not hide (ADR 0092)
            status_code=404, detail="This choice is opt-in; read who allowed it from /api/v1/choice-list."
        )
    etag = version.etag("hide-list", caller.id, cursor or "", limit)
    if _matches(request, etag):
        return _not_modified(db, etag)
    all_categories = (
        service.version_categories(db, version.service_version_id)
        if version.definition.kind != "categories"
        else []
    )
    try:
        page = service.hide_list_page(db, version, cursor=cursor, limit=limit, all_categories=all_categories)
    except service.BadCursor as exc:
        raise _bad_request("The cursor is not valid; start again without one.") from exc
    record_pickup(
        db,
        board_id=caller.board_id,
        api_key_id=caller.id,
        kind="hide_list",
        definition_id=version.definition.id,
        low=page.low,
        high=page.high,
        served_position=page.as_of,
        rows=page.rows,
    )
    record(
        db,
        "api.hide_list",
        actor=Actor.api_key(caller.id),
        board_id=caller.board_id,
        target_type="choice_definition",
        target_id=version.definition.id,
        details={"rows": page.rows, "cursor": cursor or ""},
    )
    return Response(page.body, media_type="application/json", headers=_etag_headers(etag))


@router.get(
    "/choice-list", response_model=ChoiceList, summary="Every student whose choice is not the default"
)
def choice_list_route(
    request: Request,
    db: DbSession,
    credentials: Credentials,
    choice: Annotated[str, Query(pattern=CODE, description="Choice code, e.g. `newsletter_photos`.")],
    service_code: Annotated[
        str | None,
        Query(alias="service", pattern=CODE, description="Service code; omit for a board-wide choice."),
    ] = None,
    cursor: Annotated[
        str | None, Query(pattern=r"^v[0-9]{1,18}$", description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    """Any kind of choice (show/hide, opt-out or opt-in allow/deny, categories, board-wide):
    each student whose confirmed value differs from `default`, with that value. Students not
    listed have the default — for an opt-in choice (default `deny`) the list is who allowed."""
    caller = authenticate(request, db, credentials)
    version = service.list_version(db, caller.board_id, service_code, choice)
    if version is None:
        raise HTTPException(status_code=404, detail="No such choice for this board.")
    etag = version.etag("choice-list", caller.id, cursor or "", limit)
    if _matches(request, etag):
        return _not_modified(db, etag)
    try:
        page = choice_list.choice_list(db, version, cursor=cursor, limit=limit)
    except service.BadCursor as exc:
        raise _bad_request("The cursor is not valid; start again without one.") from exc
    record(
        db,
        "api.choice_list",
        actor=Actor.api_key(caller.id),
        board_id=caller.board_id,
        target_type="choice_definition",
        target_id=version.definition.id,
        details={"rows": page.rows, "cursor": cursor or ""},
    )
    return Response(page.body, media_type="application/json", headers=_etag_headers(etag))


@router.get("/changes", response_model=ChangeFeed, summary="Changes since a cursor")
def changes(
    request: Request,
    db: DbSession,
    credentials: Credentials,
    since: Annotated[
        str | None, Query(pattern=r"^e[0-9]{1,18}$", description="`next_cursor` (or `changes_cursor`).")
    ] = None,
    service_code: Annotated[str | None, Query(alias="service", pattern=CODE)] = None,
    choice: Annotated[str | None, Query(pattern=CODE)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    """Additions and removals since `since`: each student appears once, in their state now."""
    caller = authenticate(request, db, credentials)
    only = None
    if service_code or choice:
        only = service.list_version(db, caller.board_id, service_code or "", choice or "")
        if only is None or only.definition.default_value == "deny":
            raise HTTPException(status_code=404, detail="No such service and choice for this board.")
    try:
        feed = service.change_feed(db, caller.board_id, since=since, limit=limit, only=only)
    except service.BadCursor as exc:
        raise _bad_request("The cursor is not valid; fetch /hide-list again for a fresh one.") from exc
    served = service.decode_cursor("e", feed.next_cursor)
    record_pickup(
        db,
        board_id=caller.board_id,
        api_key_id=caller.id,
        kind="changes",
        definition_id=only.definition.id if only is not None else None,
        low=service.decode_cursor("e", since),
        high=served,
        served_position=served,
        rows=len(feed.changes),
    )
    record(
        db,
        "api.changes",
        actor=Actor.api_key(caller.id),
        board_id=caller.board_id,
        target_type="api_key",
        target_id=caller.id,
        details={"rows": len(feed.changes), "since": since or ""},
    )
    return _with_etag(request, feed)

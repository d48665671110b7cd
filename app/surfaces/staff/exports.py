"""/staff/exports: the opt-out list as CSV, CP932 CSV, XLSX or JSON, streamed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.audit.service import Actor
from app.domain.boards.models import Board
from app.domain.catalog.models import ChoiceDefinition, Service
from app.domain.exports import service, writers
from app.domain.exports.query import TOKYO, ExportFilters
from app.domain.people.models import GRADES, School
from app.i18n import current_language, gettext
from app.surfaces.dependencies import DbSession
from app.surfaces.permissions import RecentSignIn, SchoolStaff, StaffScope
from app.surfaces.web import render

router = APIRouter(prefix="/staff/exports", include_in_schema=False)


def parse_since(text: str) -> datetime | None:
    """ISO-8601 date or date-time; a date means its start in Japan time. Raises ValueError."""
    try:
        return _parse_since(text)
    except OverflowError as exc:  # e.g. 0001-01-01 in Japan time is before year 1 in UTC
        raise ValueError(text) from exc


def _parse_since(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=TOKYO).astimezone(UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TOKYO)
    return moment.astimezone(UTC)


def _options(db: Session, scope: StaffScope) -> dict[str, Any]:
    schools = select(School).where(School.board_id == scope.board_id).order_by(School.code)
    if scope.school_ids is not None:
        schools = schools.where(School.id.in_(sorted(scope.school_ids)))
    services = list(
        db.scalars(select(Service).where(Service.board_id == scope.board_id).order_by(Service.code))
    )
    definitions = list(
        db.scalars(
            select(ChoiceDefinition)
            .where(ChoiceDefinition.board_id == scope.board_id)
            .order_by(ChoiceDefinition.code)
        )
    )
    return {
        "schools": list(db.scalars(schools)),
        "grades": GRADES,
        "services": services,
        "choice_codes": sorted({d.code for d in definitions}),
        "formats": writers.FORMATS,
    }


@router.get("")
def export_form(request: Request, db: DbSession, scope: SchoolStaff, _fresh: RecentSignIn) -> Response:
    return render(
        request,
        "exports/form.html",
        {**_options(db, scope), "values": {"format": "csv"}, "errors": [], "problems": []},
    )


@router.post("")
def export_download(
    request: Request,
    db: DbSession,
    scope: SchoolStaff,
    _fresh: RecentSignIn,
    format: Annotated[str, Form()] = "csv",
    school: Annotated[str, Form()] = "",
    grade: Annotated[str, Form()] = "",
    class_title: Annotated[str, Form(alias="class")] = "",
    service_code: Annotated[str, Form(alias="service")] = "",
    choice: Annotated[str, Form()] = "",
    since: Annotated[str, Form()] = "",
) -> Response:
    options = _options(db, scope)
    values = {
        "format": format,
        "school": school,
        "grade": grade,
        "class": class_title,
        "service": service_code,
        "choice": choice,
        "since": since,
    }
    errors: list[str] = []
    if format not in writers.FORMATS:
        errors.append(gettext("Choose one of the offered formats."))
    if school and school not in {s.code for s in options["schools"]}:
        errors.append(gettext("Choose one of the offered schools."))
    if grade and grade not in GRADES:
        errors.append(gettext("Choose one of the offered grades."))
    if service_code and service_code not in {s.code for s in options["services"]}:
        errors.append(gettext("Choose one of the offered services."))
    if choice and choice not in options["choice_codes"]:
        errors.append(gettext("Choose one of the offered choices."))
    since_at: datetime | None = None
    try:
        since_at = parse_since(since)
    except ValueError:
        errors.append(gettext("Enter the date as YYYY-MM-DD."))
    if errors:
        return render(
            request,
            "exports/form.html",
            {**options, "values": values, "errors": errors, "problems": []},
            status_code=422,
        )
    filters = ExportFilters(
        board_id=scope.board_id,
        school_ids=scope.school_ids,
        school_code=school or None,
        grade=grade or None,
        class_title=class_title.strip() or None,
        service_code=service_code or None,
        choice_code=choice or None,
        since=since_at,
    )
    fmt: writers.Format = format  # type: ignore[assignment]
    prepared = service.prepare(db, filters, fmt, current_language.get(), Actor.account(scope.account_id))
    if prepared.refused:
        # The refusal is audited; return (not raise) so that the audit event is committed.
        return render(
            request,
            "exports/form.html",
            {**options, "values": values, "errors": [], "problems": prepared.problems},
            status_code=422,
        )
    board = db.get(Board, scope.board_id)
    name = service.filename(prepared, board.code if board else "board")
    database: Database = request.app.state.database
    return StreamingResponse(
        service.stream(database, prepared),
        media_type=writers.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
            "X-Row-Count": str(prepared.row_count),
        },
    )

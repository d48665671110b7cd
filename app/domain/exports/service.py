"""Run an opt-out export: check, audit, then stream.

The audit event (who, filters, row count) is written in the caller's transaction before
any byte leaves, so an export that is cut off half-way is still on record. Streaming
then reads in its own session (the request's session is closed by then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.db import Database
from app.domain.audit.service import Actor, record
from app.domain.exports import query, writers
from app.domain.exports.inclusions import record_inclusions
from app.domain.exports.query import ExportFilters


@dataclass(frozen=True)
class Prepared:
    filters: ExportFilters
    fmt: writers.Format
    lang: str
    row_count: int
    problems: list[writers.Cp932Problem]

    @property
    def refused(self) -> bool:
        return bool(self.problems)


def prepare(db: Session, filters: ExportFilters, fmt: writers.Format, lang: str, actor: Actor) -> Prepared:
    """Count the rows, check CP932 when asked, and audit the export (or its refusal)."""
    problems: list[writers.Cp932Problem] = []
    if fmt == "cp932":
        infos = query.definition_infos(db, filters.board_id, lang)
        problems = writers.cp932_problems(
            query.iter_rows(db, filters, infos), query.KEYS, student_index=query.KEYS.index("student_id")
        )
    row_count = query.count_rows(db, filters)
    details: dict[str, object] = {"format": fmt, "filters": filters.audit_details(), "row_count": row_count}
    if problems:
        details["refused_rows"] = [p.row_number for p in problems]
    record(
        db,
        "export.optouts",
        actor=actor,
        board_id=filters.board_id,
        target_type="export",
        target_id=fmt,
        outcome="refused" if problems else "success",
        details=details,
    )
    if not problems:
        record_inclusions(db, filters, fmt, row_count, actor)
    return Prepared(filters, fmt, lang, row_count, problems)


def stream(database: Database, prepared: Prepared) -> Iterator[bytes]:
    """Bytes of the export, read through a session of its own with a server-side cursor
    (on the read replica when one is configured; the count and audit were written on the
    primary by `prepare`)."""
    with database.reader() as db:
        infos = query.definition_infos(db, prepared.filters.board_id, prepared.lang)
        rows = query.iter_rows(db, prepared.filters, infos)
        yield from writers.write(prepared.fmt, query.headers(prepared.lang), query.KEYS, rows)
        db.rollback()


def stream_rows_with_progress(
    db: Session, prepared: Prepared, on_row: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """For the CLI: the same bytes, calling `on_row(n)` as rows are read."""
    infos = query.definition_infos(db, prepared.filters.board_id, prepared.lang)

    def counted() -> Iterator[list[str]]:
        for row in query.iter_rows(db, prepared.filters, infos):
            if on_row is not None:
                on_row(1)
            yield row

    yield from writers.write(prepared.fmt, query.headers(prepared.lang), query.KEYS, counted())


def filename(prepared: Prepared, board_code: str) -> str:
    return f"optouts-{board_code}.{writers.EXTENSIONS[prepared.fmt]}"

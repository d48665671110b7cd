"""Run an opt-out export: check, audit, then stream.

The audit event (who, filters, row count) is written in the caller's transaction before
any byte leaves, so an export that is cut off half-way is still on record. Streaming
then reads in its own session (the request's session is closed by then). On PostgreSQL a
CP932 export is read once: the check writes the encoded rows to a temporary file as it goes,
and the stream sends that file, so what is sent is exactly what was checked.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import IO

from sqlalchemy.orm import Session

from app.db import Database
from app.domain.audit.service import Actor, record
from app.domain.exports import pg_rows, query, writers
from app.domain.exports.inclusions import record_inclusions
from app.domain.exports.query import ExportFilters


@dataclass(frozen=True)
class Prepared:
    filters: ExportFilters
    fmt: writers.Format
    lang: str
    row_count: int
    problems: list[writers.Cp932Problem]
    # CP932 on PostgreSQL: the checked rows, encoded (without the header), ready to send.
    checked: IO[bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def refused(self) -> bool:
        return bool(self.problems)


def prepare(db: Session, filters: ExportFilters, fmt: writers.Format, lang: str, actor: Actor) -> Prepared:
    """Count the rows, check CP932 when asked, and audit the export (or its refusal)."""
    problems: list[writers.Cp932Problem] = []
    checked: IO[bytes] | None = None
    if fmt == "cp932":
        words = query.load_words(db, filters.board_id, lang)
        if pg_rows.is_postgresql(db):
            # Handed on in `Prepared`; the stream closes it (or the refusal below does).
            checked = tempfile.SpooledTemporaryFile(max_size=4 * writers.CHUNK)  # noqa: SIM115
            cells: Generator[Sequence[str]] = _cells_writing_cp932(db, filters, words, checked)
        else:
            cells = query.iter_rows(db, filters, words)
        problems = [
            replace(problem, title=query.column_title(problem.column, lang))
            for problem in writers.cp932_problems(
                cells, query.KEYS, student_index=query.KEYS.index("student_id")
            )
        ]
        cells.close()  # the check may stop at its limit: end the read (and its cursor) now
        if problems and checked is not None:
            checked.close()
            checked = None
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
    if checked is not None:
        checked.seek(0)
    return Prepared(filters, fmt, lang, row_count, problems, checked)


def _cells_writing_cp932(
    db: Session, filters: ExportFilters, words: query.Words, out: IO[bytes]
) -> Generator[Sequence[str]]:
    """The cells for the check, row by row, while the same rows go into `out` as CP932 CSV
    (until a batch does not fit: the check then names its rows and the file is dropped)."""
    fits = True
    for batch in pg_rows.checked_rows(db, filters, words):
        if fits:
            try:
                out.write("".join(line for _cells, line in batch).encode("cp932", errors="strict"))
            except UnicodeEncodeError:
                fits = False
        for cells, _line in batch:
            yield cells


def stream(database: Database, prepared: Prepared) -> Iterator[bytes]:
    """Bytes of the export, read through a session of its own with a server-side cursor
    (on the read replica when one is configured; the count and audit were written on the
    primary by `prepare`)."""
    with database.reader() as db:
        yield from chunks(db, prepared)
        db.rollback()


def stream_rows_with_progress(
    db: Session, prepared: Prepared, on_rows: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """For the CLI: the same bytes, calling `on_rows(n)` as rows are read."""
    yield from chunks(db, prepared, on_rows)


def chunks(
    db: Session, prepared: Prepared, on_rows: Callable[[int], None] | None = None, *, portable: bool = False
) -> Iterator[bytes]:
    """The file, chunk by chunk. On PostgreSQL the statement builds the cells (and for CSV
    and JSON the lines) and Python only joins and encodes (`pg_rows`, ADR 0098); elsewhere,
    or with `portable`, the rows go through `query.iter_rows` and the writers. Both paths
    give the same bytes."""
    filters, fmt = prepared.filters, prepared.fmt
    words = query.load_words(db, filters.board_id, prepared.lang)
    header = query.headers(prepared.lang)
    count = on_rows or (lambda _n: None)
    if portable or not pg_rows.is_postgresql(db):

        def counted() -> Iterator[list[str]]:
            for row in query.iter_rows(db, filters, words):
                count(1)
                yield row

        yield from writers.write(fmt, header, query.KEYS, counted())
        return
    if fmt == "cp932" and prepared.checked is not None:
        yield writers.csv_header(header, encoding="cp932")
        count(prepared.row_count)
        with prepared.checked as checked:
            while chunk := checked.read(writers.CHUNK):
                yield chunk
    elif fmt in ("csv", "cp932"):
        encoding = "utf-8" if fmt == "csv" else "cp932"
        yield writers.csv_header(header, encoding=encoding)
        for rows, chunk in pg_rows.csv_lines(db, filters, words, encoding=encoding):
            count(rows)
            yield chunk
    elif fmt == "json":

        def objects() -> Iterator[str]:
            for batch in pg_rows.json_lines(db, filters, words):
                count(len(batch))
                yield from batch

        yield from writers.json_from_objects(objects())
    else:

        def cells() -> Iterator[Sequence[str]]:
            for batch in pg_rows.cell_rows(db, filters, words):
                count(len(batch))
                yield from batch

        yield from writers.write_xlsx(header, cells(), numeric=writers.numeric_columns(query.KEYS))


def filename(prepared: Prepared, board_code: str) -> str:
    return f"optouts-{board_code}.{writers.EXTENSIONS[prepared.fmt]}"

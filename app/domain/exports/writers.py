"""Export writers. Each turns rows (lists of strings) into a stream of byte chunks.

- csv:   UTF-8 with a BOM and CRLF line ends (what Excel in Japan opens correctly); a cell
         that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) gets
         a leading ' (OWASP "CSV injection"), in CP932 too.
- cp932: Shift_JIS (Windows). Callers check with `cp932_problems` first: a character
         CP932 lacks (e.g. 𠮷) refuses the export with the rows named, never a `?`.
- xlsx:  rustpy-xlsxwriter (Rust's rust_xlsxwriter, constant memory; ADR 0098) into a
         temporary file that is then streamed; every cell is text (never a formula, number
         or link) except the attendance number, which is a number so that 2 sorts before 10.
- json:  one array of objects keyed by column key, written row by row.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from rustpy_xlsxwriter import FastExcel

FORMATS = ("csv", "cp932", "xlsx", "json")
Format = Literal["csv", "cp932", "xlsx", "json"]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "cp932": "text/csv; charset=shift_jis",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
EXTENSIONS = {"csv": "csv", "cp932": "csv", "xlsx": "xlsx", "json": "json"}
CHUNK = 64 * 1024
# Columns written as numbers in XLSX (so Excel sorts 2 before 10); everything else is text.
NUMERIC_KEYS = ("attendance_number",)


@dataclass(frozen=True)
class Cp932Problem:
    row_number: int  # 1-based data row (the header is row 0)
    student_id: str
    column: str  # the column's key, e.g. `name`
    characters: str
    title: str = ""  # the column as the reader sees it, e.g. 「氏名」 (set by `service.prepare`)


def cp932_problems(
    rows: Iterable[Sequence[str]], keys: tuple[str, ...], *, student_index: int, limit: int = 50
) -> list[Cp932Problem]:
    """Every row (up to `limit`) holding a character CP932 cannot encode."""
    problems: list[Cp932Problem] = []
    number = 0
    for batch in _batches(rows, 1000):
        try:
            "\n".join("\t".join(row) for row in batch).encode("cp932")
            number += len(batch)
            continue  # the common case: one encode per thousand rows
        except UnicodeEncodeError:
            pass
        for row in batch:
            number += 1
            try:
                "\t".join(row).encode("cp932")
                continue
            except UnicodeEncodeError:
                pass
            for key, cell in zip(keys, row, strict=True):
                try:
                    cell.encode("cp932")
                except UnicodeEncodeError:
                    bad = "".join(sorted({ch for ch in cell if not _fits_cp932(ch)}))
                    problems.append(Cp932Problem(number, row[student_index], key, bad))
                    if len(problems) >= limit:
                        return problems
    return problems


def _batches(rows: Iterable[Sequence[str]], size: int) -> Iterator[list[Sequence[str]]]:
    batch: list[Sequence[str]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fits_cp932(ch: str) -> bool:
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


class _Lines:
    """csv.writer target that hands back what was written since the last call."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell Excel or LibreOffice would evaluate (`=HYPERLINK(…)`, `@SUM(…)`) as plain text."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_cells(cells: Sequence[str]) -> str:
    """Cells as one CSV line without its end, neutralised as `write_csv` writes them."""
    lines = _Lines()
    csv.writer(lines.buffer, lineterminator="").writerow([neutralise(cell) for cell in cells])
    return lines.take()


def csv_header(header: list[str], *, encoding: str = "utf-8") -> bytes:
    """The header line, after a BOM in UTF-8 (what Excel in Japan needs to read UTF-8)."""
    lines = _Lines()
    csv.writer(lines.buffer, lineterminator="\r\n").writerow(header)
    prefix = "\ufeff" if encoding == "utf-8" else ""
    # errors="strict": a character that does not fit raises rather than turning into "?".
    return (prefix + lines.take()).encode(encoding, errors="strict")


def write_csv(
    header: list[str], rows: Iterable[Sequence[str]], *, encoding: str = "utf-8"
) -> Iterator[bytes]:
    lines = _Lines()
    writer = csv.writer(lines.buffer, lineterminator="\r\n")
    yield csv_header(header, encoding=encoding)
    pending = 0
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        pending += 1
        if pending >= 500:
            yield lines.take().encode(encoding, errors="strict")
            pending = 0
    rest = lines.take()
    if rest:
        yield rest.encode(encoding, errors="strict")


def write_json(keys: tuple[str, ...], rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    return json_from_objects(
        json.dumps(dict(zip(keys, row, strict=True)), ensure_ascii=False) for row in rows
    )


def json_from_objects(objects: Iterable[str]) -> Iterator[bytes]:
    """An array of already written objects, one a line, in chunks of 500."""
    yield b"["
    parts: list[str] = []
    first = True
    for item in objects:
        parts.append(("\n" if first else ",\n") + item)
        first = False
        if len(parts) >= 500:
            yield "".join(parts).encode()
            parts.clear()
    parts.append("\n]\n")
    yield "".join(parts).encode()


def write_xlsx(
    header: list[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: frozenset[int] = frozenset(),
    sheet: str = "optouts",
) -> Iterator[bytes]:
    """Constant memory: the writer takes the rows one at a time from the generator and
    flushes each to a temporary file; the finished workbook is then streamed."""

    def records() -> Iterator[dict[str, str | int]]:
        for row in rows:
            record: dict[str, str | int] = dict(zip(header, row, strict=True))
            for col in numeric:
                cell = row[col]
                if cell.isascii() and cell.isdigit():
                    record[header[col]] = int(cell)
            yield record

    with tempfile.TemporaryDirectory(prefix="tobira-xlsx-") as tmp:
        path = f"{tmp}/export.xlsx"
        # A str is always a text cell (never a formula, even "=HYPERLINK(…)"), an int a number.
        FastExcel(path).format(bold_headers=True).sheet(sheet, records()).save()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk


def numeric_columns(keys: tuple[str, ...]) -> frozenset[int]:
    return frozenset(keys.index(k) for k in NUMERIC_KEYS if k in keys)


def write(
    fmt: Format, header: list[str], keys: tuple[str, ...], rows: Iterable[Sequence[str]]
) -> Iterator[bytes]:
    if fmt == "csv":
        return write_csv(header, rows)
    if fmt == "cp932":
        return write_csv(header, rows, encoding="cp932")
    if fmt == "xlsx":
        return write_xlsx(header, rows, numeric=numeric_columns(keys))
    return write_json(keys, rows)

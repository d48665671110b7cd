"""Export writers. Each turns rows (lists of strings) into a stream of byte chunks.

- csv:   UTF-8 with a BOM and CRLF line ends (what Excel in Japan opens correctly); a cell
         that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) gets
         a leading ' (OWASP "CSV injection"), in CP932 too.
- cp932: Shift_JIS (Windows). Callers check with `cp932_problems` first: a character
         CP932 lacks (e.g. 𠮷) refuses the export with the rows named, never a `?`.
- xlsx:  xlsxwriter in constant-memory mode into a temporary file that is then streamed;
         strings are never turned into formulas, numbers or links.
- json:  one array of objects keyed by column key, written row by row.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import xlsxwriter

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
    column: str
    characters: str


def cp932_problems(
    rows: Iterable[list[str]], keys: tuple[str, ...], *, student_index: int, limit: int = 50
) -> list[Cp932Problem]:
    """Every row (up to `limit`) holding a character CP932 cannot encode."""
    problems: list[Cp932Problem] = []
    for number, row in enumerate(rows, start=1):
        try:
            "\t".join(row).encode("cp932")
            continue  # the common case: one encode per row
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


def write_csv(header: list[str], rows: Iterable[list[str]], *, encoding: str = "utf-8") -> Iterator[bytes]:
    lines = _Lines()
    writer = csv.writer(lines.buffer, lineterminator="\r\n")
    writer.writerow(header)
    prefix = "\ufeff" if encoding == "utf-8" else ""
    # errors="strict": a character that does not fit raises rather than turning into "?".
    yield (prefix + lines.take()).encode(encoding, errors="strict")
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


def write_json(keys: tuple[str, ...], rows: Iterable[list[str]]) -> Iterator[bytes]:
    yield b"["
    parts: list[str] = []
    first = True
    for row in rows:
        parts.append(
            ("\n" if first else ",\n") + json.dumps(dict(zip(keys, row, strict=True)), ensure_ascii=False)
        )
        first = False
        if len(parts) >= 500:
            yield "".join(parts).encode()
            parts.clear()
    parts.append("\n]\n")
    yield "".join(parts).encode()


def write_xlsx(
    header: list[str],
    rows: Iterable[list[str]],
    *,
    numeric: frozenset[int] = frozenset(),
    sheet: str = "optouts",
) -> Iterator[bytes]:
    """Constant memory: xlsxwriter flushes each row to a temporary file as it goes."""
    with tempfile.TemporaryDirectory(prefix="tobira-xlsx-") as tmp:
        path = f"{tmp}/export.xlsx"
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "tmpdir": tmp,
            },
        )
        worksheet = workbook.add_worksheet(sheet)
        bold = workbook.add_format({"bold": True})
        for col, title in enumerate(header):
            worksheet.write_string(0, col, title, bold)
        for number, row in enumerate(rows, start=1):
            for col, cell in enumerate(row):
                if col in numeric and cell.isascii() and cell.isdigit():
                    worksheet.write_number(number, col, int(cell))
                else:
                    # write_string: never a formula, even for "=HYPERLINK(…)".
                    worksheet.write_string(number, col, cell)
        workbook.close()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk


def write(
    fmt: Format, header: list[str], keys: tuple[str, ...], rows: Iterable[list[str]]
) -> Iterator[bytes]:
    if fmt == "csv":
        return write_csv(header, rows)
    if fmt == "cp932":
        return write_csv(header, rows, encoding="cp932")
    if fmt == "xlsx":
        numeric = frozenset(keys.index(k) for k in NUMERIC_KEYS if k in keys)
        return write_xlsx(header, rows, numeric=numeric)
    return write_json(keys, rows)

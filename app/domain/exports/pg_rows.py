"""The opt-out export on PostgreSQL: the statement writes what changes from row to row,
Python adds the words, which change from choice to choice (ADR 0098).

A row's cells fall in three parts. The first eight (school … kana) differ in every row:
PostgreSQL renders them, already quoted as CSV or escaped as JSON, into one text value.
The next ten (service … default, in words and codes) depend only on the choice, its value
and the kinds of data chosen; the channel and its words only on the channel. Those are
few, so Python renders each once, with the very writers of the portable path
(`writers.csv_cells`, `json.dumps`) and `Words.hidden`, and joins them to the rows. The
rows are read through a server-side cursor of the raw driver, without SQLAlchemy's row
processing. Every rule of PostgreSQL's part mirrors one in `query.iter_rows` and
`writers`, and the tests hold both paths to the same bytes:

- CSV: a cell a spreadsheet would run gets a leading `'` (`writers.neutralise`); a cell
  holding `,`, `"`, CR or LF is quoted with `"` doubled (Python's csv, QUOTE_MINIMAL).
- JSON: `to_json(text)` escapes exactly the characters `json.dumps(…, ensure_ascii=False)`
  escapes (`"`, `\\`, control characters as lower-case `\\u00xx`); keys and separators are
  written as `json.dumps` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, cast

from psycopg import Connection
from sqlalchemy import Text, case, func, literal
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from app.domain.choices.models import CurrentChoice
from app.domain.exports.query import (
    KEYS,
    UNKNOWN_DEFINITION,
    ExportFilters,
    RowSelect,
    Words,
    optout_select,
    ordered,
)
from app.domain.exports.writers import FORMULA_STARTS, csv_cells
from app.domain.people.models import School, SchoolClass, Student

BATCH = 2000
HEAD = 8  # school_code … kana: rendered by PostgreSQL
CHOICE = slice(HEAD, HEAD + 10)  # service_code … default_label: one rendering per choice and value
SINCE = KEYS.index("effective_since")
assert KEYS[CHOICE][0] == "service_code" and KEYS[CHOICE][-1] == "default_label" and SINCE == HEAD + 10


def is_postgresql(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _head() -> list[Any]:
    """The first eight cells as `query.iter_rows` makes them."""
    return [
        School.code,
        School.name,
        func.coalesce(Student.grade, ""),
        func.coalesce(SchoolClass.title, ""),
        func.coalesce(sql_cast(Student.attendance_number, Text), ""),
        Student.sourced_id,
        Student.family_name.concat(" ").concat(Student.given_name),
        func.btrim(Student.family_name_kana.concat(" ").concat(Student.given_name_kana), " "),
    ]


def _rest() -> list[Any]:
    """What the words are looked up by, and the time the choice took effect (Japan time)."""
    since = func.to_char(
        func.timezone("Asia/Tokyo", CurrentChoice.effective_since), 'YYYY-MM-DD"T"HH24:MI:SS'
    ).concat("+09:00")
    return [
        CurrentChoice.definition_id,
        CurrentChoice.value,
        sql_cast(CurrentChoice.category_codes, Text),
        func.coalesce(since, ""),
        CurrentChoice.channel,
    ]


# The regular expressions of `writers.neutralise` and of CSV quoting (QUOTE_MINIMAL).
FORMULA = "^[" + "".join(FORMULA_STARTS).replace("-", "") + "-]"
SPECIAL = '[",\r\n]'


def _csv_cell(cell: Any) -> Any:
    """`writers.neutralise`, then CSV quoting, in SQL; one test for the common plain cell."""
    neutral = case((cell.regexp_match(FORMULA), literal("'").concat(cell)), else_=cell)
    quoted = case(
        (cell.regexp_match(SPECIAL), literal('"').concat(func.replace(neutral, '"', '""')).concat('"')),
        else_=neutral,
    )
    return case((cell.regexp_match(FORMULA + "|" + SPECIAL), quoted), else_=cell)


def _csv_head() -> Any:
    cells = [_csv_cell(c) for c in _head()]
    return func.concat_ws(",", *cells)


def _json_head() -> Any:
    parts: list[Any] = []
    for n, (key, cell) in enumerate(zip(KEYS[:HEAD], _head(), strict=True)):
        parts.append(literal(("{" if n == 0 else ", ") + json.dumps(key) + ": "))
        parts.append(sql_cast(func.to_json(cell), Text))
    return func.concat(*parts)


class _Words:
    """The choice part and the channel part of a row, rendered once each."""

    def __init__(self, words: Words) -> None:
        self.words = words
        self.choices: dict[tuple[int, str, str], tuple[str, ...]] = {}
        self.channels: dict[str, tuple[str, str]] = {}
        self.csv: dict[object, str] = {}
        self.json: dict[object, str] = {}

    def choice(self, definition_id: int, value: str, codes_text: str) -> tuple[str, ...]:
        key = (definition_id, value, codes_text)
        found = self.choices.get(key)
        if found is None:
            info = self.words.infos.get(definition_id) or UNKNOWN_DEFINITION
            chosen = json.loads(codes_text) if codes_text else []
            codes, names = self.words.hidden(definition_id, value, chosen if isinstance(chosen, list) else [])
            found = (
                info.service_code,
                info.service_name,
                info.choice_code,
                info.choice,
                value,
                self.words.values.get(value, value),
                codes,
                names,
                info.default,
                info.default_label,
            )
            self.choices[key] = found
        return found

    def channel(self, code: str) -> tuple[str, str]:
        found = self.channels.get(code)
        if found is None:
            found = self.channels[code] = (code, self.words.channels.get(code, code))
        return found

    def choice_csv(self, definition_id: int, value: str, codes_text: str) -> str:
        key = ("c", definition_id, value, codes_text)
        found = self.csv.get(key)
        if found is None:
            found = self.csv[key] = "," + csv_cells(self.choice(definition_id, value, codes_text)) + ","
        return found

    def channel_csv(self, code: str) -> str:
        found = self.csv.get(code)
        if found is None:
            found = self.csv[code] = "," + csv_cells(self.channel(code)) + "\r\n"
        return found

    def choice_json(self, definition_id: int, value: str, codes_text: str) -> str:
        key = ("c", definition_id, value, codes_text)
        found = self.json.get(key)
        if found is None:
            cells = dict(zip(KEYS[CHOICE], self.choice(definition_id, value, codes_text), strict=True))
            found = self.json[key] = ", " + json.dumps(cells, ensure_ascii=False)[1:-1] + ", "
        return found

    def channel_json(self, code: str) -> str:
        found = self.json.get(code)
        if found is None:
            cells = dict(zip(KEYS[SINCE + 1 :], self.channel(code), strict=True))
            found = self.json[code] = ", " + json.dumps(cells, ensure_ascii=False)[1:-1] + "}"
        return found


def csv_lines(
    db: Session, filters: ExportFilters, words: Words, *, encoding: str = "utf-8"
) -> Iterator[tuple[int, bytes]]:
    """(rows, bytes): CSV rows (CRLF, no header), a batch of rows per chunk; `errors="strict"`,
    so a character CP932 lacks raises rather than turning into "?"."""
    parts = _Words(words)
    for batch in _fetch(db, filters, _csv_head()):
        lines = [
            head + parts.choice_csv(d, v, c) + since + parts.channel_csv(ch)
            for head, d, v, c, since, ch in batch
        ]
        yield len(lines), "".join(lines).encode(encoding, errors="strict")


def json_lines(db: Session, filters: ExportFilters, words: Words) -> Iterator[list[str]]:
    """Batches of JSON objects, one per row, as `json.dumps` writes them."""
    parts = _Words(words)
    for batch in _fetch(db, filters, _json_head()):
        yield [
            head + parts.choice_json(d, v, c) + f'"effective_since": "{since}"' + parts.channel_json(ch)
            for head, d, v, c, since, ch in batch
        ]


def cell_rows(db: Session, filters: ExportFilters, words: Words) -> Iterator[list[tuple[str, ...]]]:
    """Batches of rows of cells, as `query.iter_rows` yields them (in tuples)."""
    parts = _Words(words)
    for batch in _fetch(db, filters, *_head()):
        yield [
            (*row[:HEAD], *parts.choice(*row[HEAD : HEAD + 3]), row[HEAD + 3], *parts.channel(row[HEAD + 4]))
            for row in batch
        ]


def checked_rows(
    db: Session, filters: ExportFilters, words: Words
) -> Iterator[list[tuple[tuple[str, ...], str]]]:
    """Batches of (cells, CSV line) per row, from one read: the CP932 check reads the cells
    and the same rows' lines become the file."""
    parts = _Words(words)
    for batch in _fetch(db, filters, _csv_head(), *_head()):
        yield [
            (
                (
                    *row[1 : HEAD + 1],
                    *parts.choice(*row[HEAD + 1 : HEAD + 4]),
                    row[HEAD + 4],
                    *parts.channel(row[HEAD + 5]),
                ),
                row[0]
                + parts.choice_csv(*row[HEAD + 1 : HEAD + 4])
                + row[HEAD + 4]
                + parts.channel_csv(row[HEAD + 5]),
            )
            for row in batch
        ]


def _fetch(db: Session, filters: ExportFilters, *head: Any) -> Iterator[Sequence[Any]]:
    statement: RowSelect = ordered(optout_select(filters)).with_only_columns(*head, *_rest())
    compiled = statement.compile(bind=db.get_bind(), compile_kwargs={"render_postcompile": True})
    driver = cast(Connection[Any], db.connection().connection.driver_connection)
    with driver.cursor(name="tobira_export") as cursor:
        cursor.itersize = BATCH
        cursor.execute(str(compiled), dict(compiled.params))
        while batch := cursor.fetchmany(BATCH):
            yield batch

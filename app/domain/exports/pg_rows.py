"""The opt-out export built by PostgreSQL (ADR 0098).

The same cells as `query.iter_rows`, made by one statement: the words (service names,
choice labels, values, channels, the kinds of data hidden) travel in as parameters, the
cells come back as text. CSV and CP932 go through `COPY … TO STDOUT (FORMAT csv)`, so the
quoting is PostgreSQL's own C code; JSON lines are built by `to_json`; XLSX and the CP932
check read the cells through a server-side cursor of the raw driver. Python only joins and
encodes. Every rule below mirrors one in `query.iter_rows` and `writers`, and the tests hold
both paths to the same bytes:

- CSV: a cell a spreadsheet would run gets a leading `'` (`writers.neutralise`); an empty
  cell is sent as NULL, because COPY quotes an empty string (`""`) where Python's csv module
  writes nothing; COPY ends a row with LF, the writer with CRLF.
- JSON: `to_json(text)` escapes exactly the characters `json.dumps(…, ensure_ascii=False)`
  escapes (`"`, `\\`, and control characters, lower-case `\\u00xx`); keys and separators
  are written as `json.dumps` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, cast

from psycopg import Connection
from sqlalchemy import BigInteger, ColumnElement, Text, case, func, literal, text
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from app.domain.choices.models import CurrentChoice
from app.domain.exports.query import (
    CATEGORY_VALUES,
    KEYS,
    ExportFilters,
    RowSelect,
    Words,
    optout_select,
    ordered,
)
from app.domain.exports.writers import FORMULA_STARTS
from app.domain.people.models import School, SchoolClass, Student

BATCH = 2000


def _definitions(words: Words) -> Any:
    """The board's definitions in words, as a table of the statement."""
    rows = [
        {
            "id": definition_id,
            "service_code": info.service_code,
            "service_name": info.service_name,
            "choice_code": info.choice_code,
            "choice": info.choice,
            "default_code": info.default,
            "default_label": info.default_label,
        }
        for definition_id, info in words.infos.items()
    ]
    return (
        text(
            "SELECT * FROM json_to_recordset(CAST(:definitions AS json)) AS d("
            "id bigint, service_code text, service_name text, choice_code text, choice text, "
            "default_code text, default_label text)"
        )
        .bindparams(definitions=json.dumps(rows, ensure_ascii=False))
        .columns(
            id=BigInteger,
            service_code=Text,
            service_name=Text,
            choice_code=Text,
            choice=Text,
            default_code=Text,
            default_label=Text,
        )
        .subquery("export_definitions")
    )


def _hidden_kinds(board_id: int, words: Words) -> Any:
    """Per (definition, value, chosen kinds) that occurs, the kinds the value hides, as codes
    and as names: `choices.service.hidden_by` (hide_all: the kinds frozen into the request,
    else the choice's own; hide_some: the chosen ones in code order), for the few
    combinations there are rather than for every row."""
    return (
        text(
            "SELECT c.definition_id, c.value, c.codes_key, "
            "string_agg(e.code, ' ' ORDER BY e.pos, e.code COLLATE \"C\") AS codes, "
            "string_agg(COALESCE(CAST(:names AS json) ->> e.code, e.code), :separator "
            'ORDER BY e.pos, e.code COLLATE "C") AS names '
            "FROM (SELECT DISTINCT definition_id, value, CAST(category_codes AS text) AS codes_key"
            "  FROM current_choices"
            "  WHERE board_id = :board_id AND value IN ('hide_some', 'hide_all')) AS c "
            "JOIN choice_definitions AS d ON d.id = c.definition_id AND c.value <> d.default_value "
            "CROSS JOIN LATERAL ("
            "  SELECT x.code, CASE WHEN c.value = 'hide_some' THEN 0 ELSE x.ord END AS pos"
            "  FROM json_array_elements_text(CASE"
            "    WHEN c.value = 'hide_all' AND json_array_length(CAST(c.codes_key AS json)) = 0"
            "    THEN CAST(d.category_codes AS json) ELSE CAST(c.codes_key AS json) END)"
            "    WITH ORDINALITY AS x(code, ord)"
            ") AS e "
            "GROUP BY c.definition_id, c.value, c.codes_key"
        )
        .bindparams(
            board_id=board_id,
            names=json.dumps(words.categories, ensure_ascii=False),
            separator=words.separator,
        )
        .columns(definition_id=BigInteger, value=Text, codes_key=Text, codes=Text, names=Text)
        .subquery("export_hidden_kinds")
    )


def _words(column: Any, table: dict[str, str]) -> ColumnElement[str]:
    return case(table, value=column, else_=column) if table else column


def cells_select(filters: ExportFilters, words: Words) -> tuple[RowSelect, list[Any]]:
    """The export's statement (ordered, filtered exactly as `query.optout_select`) and its
    cells as text expressions in `KEYS` order."""
    definitions = _definitions(words)
    hidden = _hidden_kinds(filters.board_id, words)
    since = func.to_char(
        func.timezone("Asia/Tokyo", CurrentChoice.effective_since), 'YYYY-MM-DD"T"HH24:MI:SS'
    ).concat("+09:00")
    cells: list[Any] = [
        School.code,
        School.name,
        func.coalesce(Student.grade, ""),
        func.coalesce(SchoolClass.title, ""),
        func.coalesce(sql_cast(Student.attendance_number, Text), ""),
        Student.sourced_id,
        Student.family_name.concat(" ").concat(Student.given_name),
        func.btrim(Student.family_name_kana.concat(" ").concat(Student.given_name_kana), " "),
        func.coalesce(definitions.c.service_code, ""),
        func.coalesce(definitions.c.service_name, ""),
        func.coalesce(definitions.c.choice_code, ""),
        func.coalesce(definitions.c.choice, ""),
        CurrentChoice.value,
        _words(CurrentChoice.value, words.values),
        func.coalesce(hidden.c.codes, ""),
        func.coalesce(hidden.c.names, ""),
        func.coalesce(definitions.c.default_code, ""),
        func.coalesce(definitions.c.default_label, ""),
        func.coalesce(since, ""),
        CurrentChoice.channel,
        _words(CurrentChoice.channel, words.channels),
    ]
    assert len(cells) == len(KEYS)
    statement = (
        ordered(optout_select(filters))
        .outerjoin(definitions, definitions.c.id == CurrentChoice.definition_id)
        .outerjoin(
            hidden,
            (hidden.c.definition_id == CurrentChoice.definition_id)
            & (hidden.c.value == CurrentChoice.value)
            & (hidden.c.codes_key == sql_cast(CurrentChoice.category_codes, Text))
            & CurrentChoice.value.in_(CATEGORY_VALUES),
        )
    )
    return statement, cells


def _neutralised(cell: ColumnElement[str]) -> ColumnElement[str]:
    """`writers.neutralise` in SQL; NULL for an empty cell (COPY writes it unquoted)."""
    starts = [literal(ch) for ch in FORMULA_STARTS]
    return func.nullif(case((func.left(cell, 1).in_(starts), literal("'").concat(cell)), else_=cell), "")


def _json_line(cells: list[ColumnElement[str]]) -> ColumnElement[str]:
    parts: list[Any] = []
    for n, (key, cell) in enumerate(zip(KEYS, cells, strict=True)):
        parts.append(literal(("{" if n == 0 else ", ") + json.dumps(key) + ": "))
        parts.append(sql_cast(func.to_json(cell), Text))
    parts.append(literal("}"))
    return cast(ColumnElement[str], func.concat(*parts))


def _compiled(db: Session, statement: RowSelect) -> tuple[str, dict[str, Any]]:
    compiled = statement.compile(bind=db.get_bind(), compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def _driver(db: Session) -> Connection[Any]:
    return cast(Connection[Any], db.connection().connection.driver_connection)


def csv_lines(db: Session, filters: ExportFilters, words: Words) -> Iterator[tuple[int, bytes]]:
    """(rows, bytes): UTF-8 CSV rows (CRLF, no header), many rows per chunk, from COPY."""
    statement, cells = cells_select(filters, words)
    sql, params = _compiled(db, statement.with_only_columns(*(_neutralised(c) for c in cells)))
    with _driver(db).cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
        pending: list[bytes] = []
        for data in copy:
            # One COPY message per row, ending in LF: the row's own newlines stay inside quotes.
            pending.append(bytes(data[:-1]))
            if len(pending) >= BATCH:
                yield len(pending), b"\r\n".join(pending) + b"\r\n"
                pending.clear()
        if pending:
            yield len(pending), b"\r\n".join(pending) + b"\r\n"


def json_lines(db: Session, filters: ExportFilters, words: Words) -> Iterator[list[str]]:
    """Batches of JSON objects, one per row, as `json.dumps` writes them."""
    statement, cells = cells_select(filters, words)
    yield from _fetch(db, statement.with_only_columns(_json_line(cells)), lambda row: row[0])


def cell_rows(db: Session, filters: ExportFilters, words: Words) -> Iterator[list[tuple[str, ...]]]:
    """Batches of rows of cells (as `query.iter_rows` yields them, in tuples)."""
    statement, cells = cells_select(filters, words)
    yield from _fetch(db, statement.with_only_columns(*cells), lambda row: row)


def _fetch(db: Session, statement: RowSelect, pick: Callable[[Any], Any]) -> Iterator[list[Any]]:
    sql, params = _compiled(db, statement)
    with _driver(db).cursor(name="tobira_export") as cursor:
        cursor.itersize = BATCH
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(BATCH):
            yield [pick(row) for row in batch]


def is_postgresql(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"

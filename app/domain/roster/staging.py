# ruff: noqa: S608 - statements are composed from our own table and column names only; every
# value from a roster is a bound parameter or goes through COPY.
"""The set-based path on PostgreSQL: the people files in staging tables, checked and merged in SQL.

`users.csv`, `roles.csv` and `enrollments.csv` — nearly all of a roster's bytes — are streamed
once each into `COPY … FROM STDIN` of a temporary table (dropped at the end of the import's
transaction, so a refused or dry run leaves nothing behind). Each record goes in with the line
it starts on, so every check below names file, line and column exactly as the row-by-row path
does, with the same problem codes. The small files (orgs, sessions, courses, classes: a few
thousand rows for a city) are still read by `Validator`/`Applier`, and reach SQL as two small
tables of known orgs and classes.

The stream is decoded line by line as before (UTF-8 with or without BOM, CP932 when asked —
transcoded to UTF-8 for COPY, ADR 0041). A file the staging cannot take as it is — an
undecodable or over-long line, a missing binding column, a row of the wrong width (COPY refuses
it) — raises `StagingUnfit`: the caller rolls back and runs the row-by-row path, which names
the problem. Only sound-looking files are checked here, and a refused roster costs one
re-read.

See ADR 0097.
"""

from __future__ import annotations

import codecs
import csv
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.domain.people.models import (
    GRADES,
    Guardian,
    GuardianStudent,
    School,
    SchoolClass,
    SchoolYear,
    Student,
)
from app.domain.roster import spec
from app.domain.roster.apply import Applier
from app.domain.roster.choices import cancel_pending_confirmations
from app.domain.roster.existing import all_ids, chunks
from app.domain.roster.problems import Problems
from app.domain.roster.reading import CsvReader
from app.domain.roster.validation import ROLE_VALUES, RosterIndex, Validator

log = logging.getLogger("tobira.roster")

# What Python's str.strip() removes (the row-by-row path strips every value with it).
WHITESPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())
STAGED = ("users", "roles", "enrollments")
TEMP_BUFFERS = "1GB"  # at most; allocated as the staging tables grow (about 1 KB per user)
# Order in which the row-by-row path reports problems: small files first, then these.
FILE_ORDER = {"users": 1, "roles": 2, "enrollments": 3, "students": 4}
FULLWIDTH_DIGITS = "０１２３４５６７８９"
_SPACES = [ch.encode() for ch in WHITESPACE if ch not in "\r\n"]
# The bytes that start one of those in UTF-8: a chunk without any needs no closer look.
_SPACE_STARTS = sorted({space[:2] if len(space) > 2 else space for space in _SPACES})


def _padded(chunk: bytes) -> bool:
    """Could a value in these records (UTF-8, each ending in a line feed, fields after the
    line number's comma) start or end with white space? Substring searches only: no per-line
    work in Python."""
    for start in _SPACE_STARTS:
        if start not in chunk:
            continue
        for space in _SPACES:
            edges = (
                *(b"," + space, b',"' + space, b"\n" + space, b'\n"' + space),
                *(space + b",", space + b'",', space + b"\n", space + b'"\n', space + b"\r", space + b'"\r'),
            )
            if space.startswith(start) and any(edge in chunk for edge in edges):
                return True
    return False


class _LineByLine(Exception):
    """This file needs the line-by-line stream."""


class StagingUnfit(Exception):
    """A file COPY cannot take as it is; the row-by-row path reads it and names the line."""


def _timed(db: Session, statement: str, params: dict[str, Any]) -> Any:
    started = time.perf_counter()
    result = db.execute(text(statement), params)
    elapsed = time.perf_counter() - started
    log.debug("%.2f s  %s", elapsed, " ".join(statement.split())[:200])
    return result


def use_staging(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _driver(db: Session) -> Any:
    """The psycopg connection under the session's (same transaction)."""
    return db.connection().connection.driver_connection


def _copy_rows(db: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    raw = _driver(db)
    names = ", ".join(_ident(c) for c in columns)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class StagedValidator(Validator):
    """Pass 1 with the people files in staging tables (`s_users`, `s_roles`, `s_enrollments`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params: dict[str, Any] = {"ws": WHITESPACE, "board": self.board_id}

    def sql(self, statement: str, **params: Any) -> Any:
        return _timed(self.db, statement, {**self.params, **params})

    def run(self) -> RosterIndex:
        # Each statement here runs once per import: never let psycopg prepare one (ADR 0043).
        raw = _driver(self.db)
        threshold = raw.prepare_threshold
        raw.prepare_threshold = None
        try:
            return self._run()
        finally:
            raw.prepare_threshold = threshold

    def _run(self) -> RosterIndex:
        # Every join here is between whole tables; the staging tables have few statistics,
        # and a row estimate of 1 must not turn a hash join into a nested loop over 500,000 rows.
        self.sql("SET LOCAL enable_nestloop = off")
        # ... which makes every plan look costly enough to compile: seconds of JIT per statement.
        self.sql("SET LOCAL jit = off")
        self.sql("SET LOCAL enable_mergejoin = off")  # sorting 500,000 rows to join them costs more
        self.sql("SET LOCAL work_mem = '256MB'")
        self.keep_staging_in_memory()
        self.read_manifest()
        if self.problems:
            return self.index
        self.index.db_schools = all_ids(self.db, School, self.board_id)
        self.index.db_classes = all_ids(self.db, SchoolClass, self.board_id)
        self.index.db_years = all_ids(self.db, SchoolYear, self.board_id)
        self.read_orgs()
        self.read_sessions()
        courses = self.read_courses()
        self.read_classes(courses)
        if self.unreadable:
            raise StagingUnfit(", ".join(sorted(self.unreadable)))
        self.stage_known()
        for key in STAGED:
            self.stage(key)
        self.sql(
            "CREATE TEMP TABLE t_problems (file_ord int, phase int, ord1 bigint, ord2 bigint, "
            "file text, col text, code text, line integer, params jsonb) ON COMMIT DROP"
        )
        self.check_users()
        self.check_roles()
        self.check_enrollments()
        if self.index.active("users") and self.source.has(spec.FILES["users"].name):
            self.check_students_sql()
        self.collect_problems()
        return self.index

    def keep_staging_in_memory(self) -> None:
        """A session's temporary tables live in its own buffers (8 MB by default): beyond that
        every pass over a staging table goes to disk. The size can only be set before the
        session's first temporary table, so on a fresh connection only; the pool then retires
        that connection instead of handing it out again, which gives the memory back."""
        try:
            with self.db.begin_nested():
                self.sql(f"SET temp_buffers = '{TEMP_BUFFERS}'")
        except DBAPIError:
            log.info("roster import: temp_buffers already fixed on this connection")
            return
        self.db.connection().connection.invalidate(soft=True)

    # -- staging -----------------------------------------------------------------------------
    def stage_known(self) -> None:
        """The orgs and classes references may point at: the files' and the board's."""
        self.sql("CREATE TEMP TABLE t_orgs (sid text PRIMARY KEY, is_school boolean) ON COMMIT DROP")
        orgs = {sid: org.type == "school" for sid, org in self.index.orgs.items()}
        for sid in self.index.db_schools:
            orgs[sid] = True
        _copy_rows(self.db, "t_orgs", ("sid", "is_school"), orgs.items())
        self.sql(
            "CREATE TEMP TABLE t_classes (sid text PRIMARY KEY, in_file boolean, homeroom boolean, "
            "grade text) ON COMMIT DROP"
        )
        classes: dict[str, tuple[str, bool, bool | None, str | None]] = {
            sid: (sid, False, None, None) for sid in self.index.db_classes
        }
        for sid, klass in self.index.classes.items():
            classes[sid] = (sid, True, klass.homeroom, klass.grade)
        _copy_rows(self.db, "t_classes", ("sid", "in_file", "homeroom", "grade"), classes.values())
        self.sql("ANALYZE t_orgs")
        self.sql("ANALYZE t_classes")

    def stage(self, key: str, line_mode: bool = False) -> None:
        """`s_<key>`: one row per record, with the line it starts on and every column read
        (stripped as the row-by-row path strips them; '' when empty or absent), plus `nth`
        (1 for the first record of a sourcedId) and `first_line` (that record's line)."""
        if not line_mode and self._stage(key, line_mode=False):
            return
        self._stage(key, line_mode=True)

    def _stage(self, key: str, line_mode: bool) -> bool:
        """False when the file must be streamed line by line after all."""
        file_spec = spec.FILES[key]
        names = list(dict.fromkeys((*file_spec.required, *file_spec.optional)))
        table = f"s_{key}"
        positions: dict[str, int] = {}
        padded = False
        if self.index.active(key) and self.source.has(file_spec.name):
            local = Problems()
            reader = CsvReader(
                self.source, file_spec, local, allow_cp932=self.allow_cp932, advance=self.advance
            )
            with self.source.open(file_spec.name) as stream:
                lines = reader.lines(stream)
                number, head = 0, ""
                for line_text in lines:
                    number += 1
                    head += line_text
                    if not head.count('"') & 1:
                        break
                header = next(csv.reader([head]), None) if head.strip() else None
                if header is None or not reader._missing_columns({h.strip().lower() for h in header}):
                    raise StagingUnfit(file_spec.name)
                wanted = spec.canonical_columns(file_spec)
                for index, name in enumerate(header):
                    canonical = wanted.get(name.strip().lower())
                    if canonical is not None and canonical not in positions:
                        positions[canonical] = index
                by_index = {index: name for name, index in positions.items()}
                columns = [_ident(by_index.get(i, f"x{i}")) for i in range(len(header))]
                started = time.perf_counter()
                if line_mode:
                    self.sql(
                        f"CREATE TEMP TABLE {table} (line integer, "
                        + ", ".join(f"{c} text" for c in columns)
                        + ") ON COMMIT DROP"
                    )
                    padded = self._copy_lines(table, columns, lines, number)
                else:
                    blocks = self._copy_blocks(table, columns, stream, number, file_spec.name)
                    if blocks is None:
                        return False
                    padded = blocks
                log.debug("%.2f s  COPY %s", time.perf_counter() - started, file_spec.name)
            if local or reader.stopped:
                raise StagingUnfit(file_spec.name)
        else:
            self.sql(f"CREATE TEMP TABLE {table} (line integer) ON COMMIT DROP")
        # Columns the header lacks (optional ones) read as ''; adding them rewrites nothing.
        for name in names:
            if name not in positions:
                self.sql(f"ALTER TABLE {table} ADD COLUMN {_ident(name)} text NOT NULL DEFAULT ''")
        if padded:  # some value may start or end with white space: strip as str.strip() does
            self.sql(
                f"UPDATE {table} SET "
                + ", ".join(f"{_ident(name)} = btrim({_ident(name)}, :ws)" for name in positions)
            )
        self.sql(f"ALTER TABLE {table} ADD COLUMN nth integer NOT NULL DEFAULT 1, ADD first_line integer")
        self._number_repeats(table)
        return True

    def _number_repeats(self, table: str) -> None:
        # Only repeated sourcedIds need numbering (one aggregate finds there are none).
        self.sql(
            f"""UPDATE {table} AS t SET nth = d.nth, first_line = d.first_line
            FROM (SELECT line, row_number() OVER (PARTITION BY "sourcedId" ORDER BY line) AS nth,
                         min(line) OVER (PARTITION BY "sourcedId") AS first_line
                  FROM {table} WHERE "sourcedId" IN (
                      SELECT "sourcedId" FROM {table} GROUP BY 1 HAVING count(*) > 1)) AS d
            WHERE t.line = d.line"""
        )

    def _copy_blocks(
        self, table: str, columns: Sequence[str], stream: Any, number: int, name: str
    ) -> bool | None:
        """The usual case without any per-line work in Python: the rest of the file goes to COPY
        in blocks of 1 MiB, checked as UTF-8 on the way, each record's line counted by the
        table (an identity after the header's lines). True/False: padded or not. None when the
        file needs the line-by-line stream (not UTF-8, a blank line, a line too long, a value
        across lines — COPY then counts fewer rows than lines): nothing of this is kept."""
        limit = self.source.limits.line_bytes
        decoder = codecs.getincrementaldecoder("utf-8")()
        savepoint = self.db.begin_nested()
        newlines = tail = done = 0
        padded = False
        previous = b"\n"
        try:
            self.sql(
                f"CREATE TEMP TABLE {table} (line integer GENERATED ALWAYS AS IDENTITY "
                f"(START WITH {number + 1}), " + ", ".join(f"{c} text" for c in columns) + ") ON COMMIT DROP"
            )
            raw = _driver(self.db)
            names = ", ".join(columns)
            statement = f"COPY {table} ({names}) FROM STDIN (FORMAT csv, FORCE_NOT_NULL ({names}))"
            with raw.cursor() as cursor:
                with cursor.copy(statement) as copy:
                    while block := stream.read(limit):
                        decoder.decode(block)
                        first = block.find(b"\n")
                        if tail + (first if first >= 0 else len(block)) > limit:
                            raise _LineByLine
                        last = block.rfind(b"\n")
                        tail = len(block) - last - 1 if last >= 0 else tail + len(block)
                        newlines += block.count(b"\n")
                        padded = padded or _padded(previous[-4:] + block)
                        previous = block
                        copy.write(block)
                        self.advance(len(block))
                        done += len(block)
                    decoder.decode(b"", final=True)
                rows = cursor.rowcount
            if rows != newlines + (1 if tail else 0):
                raise _LineByLine
        except (_LineByLine, UnicodeDecodeError, psycopg.Error):
            savepoint.rollback()
            log.info("roster import: %s is streamed line by line", name)
            return None
        savepoint.commit()
        self.advance(self.source.size(name) - done)  # the header's lines
        return padded

    def _copy_lines(self, table: str, columns: Sequence[str], lines: Iterable[str], number: int) -> bool:
        """Each record prefixed with its first line's number; record ends become "\n" (a
        quoted line break stays as it is). True when some value may need stripping."""
        raw = _driver(self.db)
        parts: list[str] = []
        inside = padded = False
        statement = f"COPY {table} FROM STDIN (FORMAT csv, FORCE_NOT_NULL ({', '.join(columns)}))"
        try:
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for line_text in lines:
                    number += 1
                    if not inside:
                        if not line_text.strip():
                            continue  # a blank line is no record (as for csv.reader)
                        parts.append(f"{number},")
                    if line_text.count('"') & 1:
                        inside = not inside
                        padded = True  # a value across lines: leave it to btrim
                    if not inside:
                        line_text = line_text.rstrip("\r\n") + "\n"
                    parts.append(line_text)
                    if len(parts) >= 4096:
                        chunk = "".join(parts).encode()
                        padded = padded or _padded(chunk)
                        copy.write(chunk)
                        parts.clear()
                if parts:
                    chunk = "".join(parts).encode()
                    padded = padded or _padded(chunk)
                    copy.write(chunk)
        except psycopg.Error as exc:  # a row of the wrong width, a quote left open
            raise StagingUnfit(table) from exc
        return padded

    # -- checks ------------------------------------------------------------------------------
    def problem_sql(self, key: str, select: str, suspect: str = "", **params: Any) -> None:
        """`select` yields (phase, ord1, ord2, line, col, code, params) for file `key`. With
        `suspect` (true for every row some branch reports), the branches read only the rows one
        pass over the table picked: a sound file costs one scan, not one per check."""
        name = spec.FILES["users" if key == "students" else key].name
        table = f"s_{key}"
        prefix = f"WITH {table} AS MATERIALIZED (SELECT * FROM {table} WHERE {suspect}) " if suspect else ""
        self.sql(
            prefix + "INSERT INTO t_problems SELECT :file_ord, p.phase, p.ord1, p.ord2, :file, p.col, "
            f"p.code, p.line, p.params FROM ({select}) AS p(phase, ord1, ord2, line, col, code, params)",
            file_ord=FILE_ORDER[key],
            file=name,
            **params,
        )

    COMMON_SUSPECT = (
        """("sourcedId" = '' OR nth > 1 OR status NOT IN ('active', 'tobedeleted', '') """
        """OR (status = '' AND CAST(:delta AS boolean)))"""
    )

    def check_common(self, key: str) -> str:
        """sourcedId present and unique, status a OneRoster status (required in a delta)."""
        table = f"s_{key}"
        return f"""SELECT 0, line, 1, line, 'sourcedId', 'missing_value', CAST('{{}}' AS jsonb)
                FROM {table} WHERE "sourcedId" = ''
            UNION ALL
            SELECT 0, line, 1, line, 'sourcedId', 'duplicate_id',
                   jsonb_build_object('value', "sourcedId", 'first_line', first_line)
                FROM {table} WHERE "sourcedId" <> '' AND nth > 1
            UNION ALL
            SELECT 0, line, 2, line, 'status', 'bad_value',
                   jsonb_build_object('value', status, 'expected', 'active / tobedeleted')
                FROM {table} WHERE status <> '' AND status NOT IN ('active', 'tobedeleted')
            UNION ALL
            SELECT 0, line, 2, line, 'status', 'missing_value', CAST('{{}}' AS jsonb)
                FROM {table} WHERE status = '' AND CAST(:delta AS boolean)"""

    @staticmethod
    def sound(alias: str = "") -> str:
        """The rows the row-by-row path goes on checking (id and status accepted)."""
        p = f"{alias}." if alias else ""
        return (
            f"""{p}"sourcedId" <> '' AND {p}nth = 1 AND ({p}status IN ('active', 'tobedeleted') """
            f"""OR ({p}status = '' AND NOT CAST(:delta AS boolean)))"""
        )

    def _missing(self, table: str, columns: Sequence[str], seq: int, where: str) -> str:
        return " UNION ALL ".join(
            f"SELECT 0, line, {seq + i}, line, '{column}', 'missing_value', CAST('{{}}' AS jsonb) "
            f"FROM {table} WHERE {where} AND {_ident(column)} = ''"
            for i, column in enumerate(columns)
        )

    def check_users(self) -> None:
        common = self.check_common("users")
        delta = self.index.mode("users") == "delta"
        active = f"{self.sound()} AND status IN ('active', '')"
        kana = f"[{spec.HALFWIDTH_KATAKANA.pattern[1:-1]}]"
        suspect = f"""{self.COMMON_SUSPECT} OR (status IN ('active', '') AND (
            "givenName" = '' OR "familyName" = ''
            OR "metadata.jp.kanaFamilyName" ~ :kana OR "metadata.jp.kanaGivenName" ~ :kana
            OR (grades <> '' AND grades <> ALL(:grade_codes))
            OR ("primaryOrgSourcedId" <> '' AND NOT EXISTS (
                SELECT 1 FROM t_orgs o WHERE o.sid = s_users."primaryOrgSourcedId"))
            OR ("metadata.jp.homeClass" <> '' AND NOT EXISTS (
                SELECT 1 FROM t_classes c WHERE c.sid = s_users."metadata.jp.homeClass"
                AND (NOT c.in_file OR c.homeroom)))))"""
        self.problem_sql(
            "users",
            f"""{common} UNION ALL {self._missing("s_users", ("givenName", "familyName"), 3, active)}
            UNION ALL
            SELECT 0, line, 5, line, 'metadata.jp.kanaFamilyName', 'halfwidth_kana',
                   jsonb_build_object('value', "metadata.jp.kanaFamilyName")
                FROM s_users WHERE {active} AND "metadata.jp.kanaFamilyName" ~ :kana
            UNION ALL
            SELECT 0, line, 6, line, 'metadata.jp.kanaGivenName', 'halfwidth_kana',
                   jsonb_build_object('value', "metadata.jp.kanaGivenName")
                FROM s_users WHERE {active} AND "metadata.jp.kanaGivenName" ~ :kana
            UNION ALL
            SELECT 0, line, 7000 + g.n, line, 'grades', 'bad_grade',
                   jsonb_build_object('value', btrim(g.p, :ws))
                FROM s_users, unnest(string_to_array(grades, ',')) WITH ORDINALITY AS g(p, n)
                WHERE {active} AND grades <> '' AND btrim(g.p, :ws) <> ''
                  AND btrim(g.p, :ws) <> ALL(:grade_codes)
            UNION ALL
            SELECT 0, line, 8000, line, 'primaryOrgSourcedId', 'unknown_reference',
                   jsonb_build_object('value', "primaryOrgSourcedId", 'target', 'orgs.csv')
                FROM s_users u WHERE {active} AND "primaryOrgSourcedId" <> ''
                  AND NOT EXISTS (SELECT 1 FROM t_orgs o WHERE o.sid = u."primaryOrgSourcedId")
            UNION ALL
            SELECT 0, line, 9000, line, 'metadata.jp.homeClass',
                   CASE WHEN c.sid IS NULL THEN 'unknown_reference' ELSE 'not_homeroom' END,
                   CASE WHEN c.sid IS NULL
                        THEN jsonb_build_object('value', "metadata.jp.homeClass", 'target', 'classes.csv')
                        ELSE jsonb_build_object('value', "metadata.jp.homeClass") END
                FROM s_users u LEFT JOIN t_classes c ON c.sid = u."metadata.jp.homeClass"
                WHERE {active} AND "metadata.jp.homeClass" <> ''
                  AND (c.sid IS NULL OR (c.in_file AND NOT c.homeroom))""",
            suspect,
            delta=delta,
            kana=kana,
            grade_codes=list(GRADES),
        )

    def _pending_users(self, key: str, where: str, alias: str, **params: Any) -> None:
        """Users a file names that are neither in users.csv nor on the board (for a delta)."""
        table, x = f"s_{key}", alias
        self.problem_sql(
            key,
            f"""SELECT 1, min({x}.line) OVER (PARTITION BY {x}."userSourcedId"), {x}.line, {x}.line,
                       'userSourcedId', 'unknown_reference',
                       jsonb_build_object('value', {x}."userSourcedId", 'target', 'users.csv')
                FROM {table} {x}
                WHERE {where}
                  AND NOT EXISTS (SELECT 1 FROM s_users u WHERE u."sourcedId" = {x}."userSourcedId")
                  AND NOT EXISTS (SELECT 1 FROM students s
                                  WHERE s.board_id = :board AND s.sourced_id = {x}."userSourcedId")
                  AND NOT EXISTS (SELECT 1 FROM guardians g
                                  WHERE g.board_id = :board AND g.sourced_id = {x}."userSourcedId")""",
            **params,
        )

    def check_roles(self) -> None:
        common = self.check_common("roles")
        delta = self.index.mode("roles") == "delta"
        required = ("userSourcedId", "role", "orgSourcedId")
        filled = " AND ".join(f"{_ident(c)} <> ''" for c in required)
        valid_role = "(role = ANY(:roles) OR role LIKE 'ext:%')"
        checked = f"{self.sound()} AND {filled} AND {valid_role}"
        suspect = f"""{self.COMMON_SUSPECT} OR {" OR ".join(f"{_ident(c)} = ''" for c in required)}
            OR NOT {valid_role} OR "roleType" NOT IN ('primary', 'secondary')
            OR NOT EXISTS (SELECT 1 FROM t_orgs o WHERE o.sid = s_roles."orgSourcedId")"""
        self.problem_sql(
            "roles",
            f"""{common} UNION ALL {self._missing("s_roles", required, 3, self.sound())}
            UNION ALL
            SELECT 0, line, 6, line, 'role', 'bad_value',
                   jsonb_build_object('value', role, 'expected', CAST(:expected AS text))
                FROM s_roles WHERE {self.sound()} AND {filled} AND NOT {valid_role}
            UNION ALL
            SELECT 0, line, 7, line, 'roleType', 'bad_value',
                   jsonb_build_object('value', "roleType", 'expected', 'primary / secondary')
                FROM s_roles WHERE {checked} AND "roleType" NOT IN ('primary', 'secondary')
            UNION ALL
            SELECT 0, line, 8, line, 'orgSourcedId', 'unknown_reference',
                   jsonb_build_object('value', "orgSourcedId", 'target', 'orgs.csv')
                FROM s_roles r WHERE {checked}
                  AND NOT EXISTS (SELECT 1 FROM t_orgs o WHERE o.sid = r."orgSourcedId")""",
            suspect,
            delta=delta,
            roles=list(ROLE_VALUES),
            expected=" / ".join(ROLE_VALUES),
        )
        self._pending_users("roles", checked, "r", delta=delta, roles=list(ROLE_VALUES))
        # Each user's role bits (1 student, 2 guardian, 4 other) and the school of their last
        # primary student role (the index's `roles` and `role_school`).
        self.sql(
            f"""CREATE TEMP TABLE t_roles ON COMMIT DROP AS
            WITH r AS MATERIALIZED (
                SELECT "userSourcedId" AS user_sid, line, "orgSourcedId" AS org,
                       CASE WHEN role = 'student' THEN 1 WHEN role IN ('guardian', 'parent') THEN 2
                            ELSE 4 END AS flag,
                       role = 'student' AND "roleType" = 'primary' AND o.sid IS NOT NULL AS school_role
                FROM s_roles LEFT JOIN t_orgs o ON o.sid = s_roles."orgSourcedId" AND o.is_school
                WHERE {checked} AND status IN ('active', '')
            )
            SELECT g.user_sid, g.flags, s.org AS school
            FROM (SELECT user_sid, bit_or(flag) AS flags, max(line) FILTER (WHERE school_role) AS last
                  FROM r GROUP BY 1) AS g
            LEFT JOIN r AS s ON s.line = g.last""",
            delta=delta,
            roles=list(ROLE_VALUES),
        )

    def check_enrollments(self) -> None:
        common = self.check_common("enrollments")
        delta = self.index.mode("enrollments") == "delta"
        required = ("classSourcedId", "userSourcedId", "role")
        filled = " AND ".join(f"{_ident(c)} <> ''" for c in required)
        base = f"{self.sound('e')} AND {filled}"
        known = f'{base} AND EXISTS (SELECT 1 FROM t_classes c WHERE c.sid = e."classSourcedId")'
        number = "translate(e.\"metadata.jp.ShussekiNo\", :fw, '0123456789')"
        suspect = f"""{self.COMMON_SUSPECT} OR {" OR ".join(f"{_ident(c)} = ''" for c in required)}
            OR NOT EXISTS (SELECT 1 FROM t_classes c WHERE c.sid = s_enrollments."classSourcedId")
            OR ("schoolSourcedId" <> '' AND NOT EXISTS (
                SELECT 1 FROM t_orgs o WHERE o.sid = s_enrollments."schoolSourcedId" AND o.is_school))
            OR ("metadata.jp.ShussekiNo" <> '' AND "metadata.jp.ShussekiNo" !~ '^[0-9]+$')"""
        self.problem_sql(
            "enrollments",
            f"""{common} UNION ALL {self._missing("s_enrollments", required, 3, self.sound())}
            UNION ALL
            SELECT 0, line, 6, line, 'classSourcedId', 'unknown_reference',
                   jsonb_build_object('value', "classSourcedId", 'target', 'classes.csv')
                FROM s_enrollments e WHERE {base}
                  AND NOT EXISTS (SELECT 1 FROM t_classes c WHERE c.sid = e."classSourcedId")
            UNION ALL
            SELECT 0, line, 7, line, 'schoolSourcedId', 'unknown_reference',
                   jsonb_build_object('value', "schoolSourcedId", 'target', 'orgs.csv')
                FROM s_enrollments e WHERE {known} AND "schoolSourcedId" <> ''
                  AND NOT EXISTS (SELECT 1 FROM t_orgs o WHERE o.sid = e."schoolSourcedId" AND o.is_school)
            UNION ALL
            SELECT 0, line, 8, line, 'metadata.jp.ShussekiNo', 'bad_value',
                   jsonb_build_object('value', "metadata.jp.ShussekiNo", 'expected', '1, 2, 3 …')
                FROM s_enrollments e WHERE {known} AND "metadata.jp.ShussekiNo" <> ''
                  AND {number} !~ '^[0-9]+$'""",
            suspect,
            delta=delta,
            fw=FULLWIDTH_DIGITS,
        )
        self._pending_users("enrollments", known, "e", delta=delta)
        # Each student's homeroom and attendance number: their last active student
        # enrollment in a homeroom (or a class the board keeps, which is one).
        self.sql(
            f"""CREATE TEMP TABLE t_home ON COMMIT DROP AS
            WITH h AS MATERIALIZED (
                SELECT e.line, e."userSourcedId" AS user_sid, e."classSourcedId" AS klass,
                       CASE WHEN {number} ~ '^[0-9]{{1,9}}$' THEN CAST({number} AS integer) END AS number
                FROM s_enrollments e LEFT JOIN t_classes c ON c.sid = e."classSourcedId"
                WHERE {known} AND e.status IN ('active', '') AND e.role = 'student'
                  AND (NOT c.in_file OR c.homeroom)
            )
            SELECT h.user_sid, h.klass, h.number FROM h
            JOIN (SELECT max(line) AS line FROM h GROUP BY user_sid) AS last ON last.line = h.line""",
            delta=delta,
            fw=FULLWIDTH_DIGITS,
        )

    def check_students_sql(self) -> None:
        """The second look at users.csv: each student's guardians and school."""
        self.sql(
            """CREATE TEMP TABLE s_agents ON COMMIT DROP AS
            SELECT u.line, u."sourcedId" AS sid, a.n, btrim(a.p, :ws) AS agent
            FROM s_users u, unnest(string_to_array(u."agentSourcedIds", ',')) WITH ORDINALITY AS a(p, n)
            WHERE u."agentSourcedIds" <> '' AND btrim(a.p, :ws) <> ''
              AND u.status IN ('active', '')"""
        )
        roles_bulk = self.index.mode("roles") == "bulk"
        # Rows whose agents must be guardians: students, and (without a bulk roles.csv) users
        # with no role in this set whom the board knows as students. Phase 0/1 keeps the order
        # in which the row-by-row path meets them.
        self.problem_sql(
            "students",
            """WITH pending AS (
                SELECT a.agent, a.line, a.n,
                       CASE WHEN r.flags IS NULL THEN 1 ELSE 0 END AS late
                FROM s_agents a LEFT JOIN t_roles r ON r.user_sid = a.sid
                WHERE ((r.flags & 1) <> 0
                       OR (r.flags IS NULL AND NOT CAST(:roles_bulk AS boolean) AND EXISTS (
                            SELECT 1 FROM students s WHERE s.board_id = :board AND s.sourced_id = a.sid)))
                  AND NOT EXISTS (SELECT 1 FROM t_roles g WHERE g.user_sid = a.agent AND (g.flags & 2) <> 0)
            )
            SELECT 0, min(late * 4294967296 * 1024 + line * 1024 + n) OVER (PARTITION BY agent),
                   late * 4294967296 * 1024 + line * 1024 + n, line, 'agentSourcedIds',
                   CASE WHEN EXISTS (SELECT 1 FROM s_users u WHERE u."sourcedId" = p.agent)
                        THEN 'not_a_guardian' ELSE 'unknown_reference' END,
                   CASE WHEN EXISTS (SELECT 1 FROM s_users u WHERE u."sourcedId" = p.agent)
                        THEN jsonb_build_object('value', agent)
                        ELSE jsonb_build_object('value', agent, 'target', 'users.csv') END
            FROM pending p
            WHERE NOT EXISTS (SELECT 1 FROM guardians g WHERE g.board_id = :board AND g.sourced_id = p.agent)
            UNION ALL
            SELECT 1, u.line, 0, u.line, 'primaryOrgSourcedId', 'no_school', CAST('{}' AS jsonb)
            FROM s_users u JOIN t_roles r ON r.user_sid = u."sourcedId"
            WHERE u.status IN ('active', '') AND (r.flags & 1) <> 0 AND r.school IS NULL
              AND NOT EXISTS (SELECT 1 FROM t_orgs o WHERE o.sid = u."primaryOrgSourcedId" AND o.is_school)
              AND NOT EXISTS (SELECT 1 FROM students s
                              WHERE s.board_id = :board AND s.sourced_id = u."sourcedId")""",
            roles_bulk=roles_bulk,
        )

    def collect_problems(self) -> None:
        total = self.sql("SELECT count(*) FROM t_problems").scalar_one()
        room = max(self.problems.limit - len(self.problems.items), 0)
        rows = self.sql(
            "SELECT file, line, col, code, params FROM t_problems "
            "ORDER BY file_ord, phase, ord1, ord2 LIMIT :room",
            room=room,
        )
        kept = 0
        for file, line, col, code, params in rows:
            self.problems.add(file, int(line), col, code, **params)
            kept += 1
        self.problems.total += total - kept


def _defaults(model: Any, given: Iterable[str]) -> dict[str, Any]:
    """Scalar column defaults of `model` for the columns an INSERT … SELECT leaves out (the
    ORM would have filled them), e.g. a guardian's preferred language."""
    skip = {"id", *given}
    found: dict[str, Any] = {}
    for column in model.__table__.columns:
        default = column.default
        if column.name not in skip and default is not None and getattr(default, "is_scalar", False):
            found[column.name] = default.arg
    return found


NAMES = """left(u."familyName", 100) AS family_name, left(u."givenName", 100) AS given_name,
    left(u."metadata.jp.kanaFamilyName", 100) AS family_name_kana,
    left(u."metadata.jp.kanaGivenName", 100) AS given_name_kana"""


class StagedApplier(Applier):
    """Pass 2 with the people merged set-based from the staging tables: one statement per
    kind of change, compared column by column first (`IS DISTINCT FROM`) so that a re-import
    that changes nothing writes nothing."""

    def sql(self, statement: str, **params: Any) -> Any:
        values = {"board": self.board.id, "now": self.now, "ws": WHITESPACE, **params}
        return _timed(self.db, statement, values)

    def _run(self) -> None:
        self.apply_schools()
        self.apply_years()
        self.apply_classes()
        if self.index.active("users"):
            self.merge_guardians()
            self.merge_students()
            self.merge_links()
        if self.index.active("enrollments") and self.index.mode("users") != "bulk":
            self.merge_enrollment_only_changes()

    def _count(self, name: str, table: str) -> None:
        for action, count in self.sql(f"SELECT action, count(*) FROM {table} GROUP BY action"):
            if action in ("created", "changed", "deactivated", "unchanged"):
                self.counts[name][action] += count

    def _insert_select(self, model: Any, columns: Sequence[str], select: str) -> None:
        extra = _defaults(model, columns)
        names = ", ".join([*columns, *extra])
        values = "".join(f", :d_{name}" for name in extra)
        result = self.sql(
            f"INSERT INTO {model.__tablename__} ({names}) SELECT n.*{values} FROM ({select}) AS n",
            **{f"d_{name}": value for name, value in extra.items()},
        )
        if result.rowcount > 10_000:  # an empty board's statistics would mislead what follows
            self.sql(f"ANALYZE {model.__tablename__}")

    def _kinds(self, flag: int, table: str) -> str:
        """users.csv rows of one kind: by role; without a bulk roles.csv, a user with no role
        in this set keeps the kind the board already knows."""
        roles_bulk = "true" if self.index.mode("roles") == "bulk" else "false"
        return (
            f"((r.flags & {flag}) <> 0 OR (r.flags IS NULL AND NOT {roles_bulk} AND EXISTS ("
            f'SELECT 1 FROM {table} k WHERE k.board_id = :board AND k.sourced_id = u."sourcedId")))'
        )

    def merge_guardians(self) -> None:
        fields = ("family_name", "given_name", "family_name_kana", "given_name_kana", "email", "status")
        self.sql(
            f"""CREATE TEMP TABLE m_guardians ON COMMIT DROP AS
            SELECT w.*, g.id AS gid, g.email AS old_email,
                   CASE WHEN g.id IS NULL THEN CASE WHEN w.status = 'active' THEN 'created' END
                        WHEN w.status = 'inactive'
                             THEN CASE WHEN g.status = 'inactive' THEN 'unchanged' ELSE 'deactivated' END
                        WHEN {" OR ".join(f"g.{f} IS DISTINCT FROM w.{f}" for f in fields)} THEN 'changed'
                        ELSE 'unchanged' END AS action
            FROM (SELECT u."sourcedId" AS sid, {NAMES}, nullif(u.email, '') AS email,
                         CASE WHEN u.status = 'tobedeleted' THEN 'inactive' ELSE 'active' END AS status
                  FROM s_users u LEFT JOIN t_roles r ON r.user_sid = u."sourcedId"
                  WHERE {self._kinds(2, "guardians")}) AS w
            LEFT JOIN guardians g ON g.board_id = :board AND g.sourced_id = w.sid"""
        )
        self._count("guardians", "m_guardians")
        self.sql(
            f"""UPDATE guardians g SET {", ".join(f"{f} = m.{f}" for f in fields[:-1])}, status = 'active',
                   updated_at = :now
            FROM m_guardians m WHERE g.id = m.gid AND m.action = 'changed'"""
        )
        self.sql(
            """UPDATE guardians g SET status = 'inactive', updated_at = :now
            FROM m_guardians m WHERE g.id = m.gid AND m.action = 'deactivated'"""
        )
        self._insert_select(
            Guardian,
            ("board_id", "sourced_id", *fields, "updated_at"),
            f"SELECT CAST(:board AS bigint), sid, {', '.join(fields)}, CAST(:now AS timestamptz) "
            "FROM m_guardians WHERE action = 'created'",
        )
        # A new address revokes the confirmation links sent to the old one (ADR 0046).
        moved = list(
            self.sql(
                """SELECT gid FROM m_guardians
                WHERE gid IS NOT NULL AND status = 'active' AND coalesce(old_email, '') <> ''
                  AND lower(old_email) IS DISTINCT FROM lower(coalesce(email, ''))
                ORDER BY gid"""
            ).scalars()
        )
        for batch in chunks(moved):
            self.confirmations_cancelled += cancel_pending_confirmations(self.db, batch)
        if self.index.mode("users") == "bulk":
            result = self.sql(
                """UPDATE guardians g SET status = 'inactive', updated_at = :now
                WHERE g.board_id = :board AND g.status = 'active'
                  AND NOT EXISTS (SELECT 1 FROM m_guardians m WHERE m.sid = g.sourced_id)"""
            )
            self.counts["guardians"]["deactivated"] += result.rowcount

    def merge_students(self) -> None:
        fields = (
            "school_id",
            "class_id",
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "grade",
            "attendance_number",
            "status",
        )
        first_grade = (  # one grade (the usual case) needs no splitting
            "CASE WHEN strpos(u.grades, ',') = 0 THEN nullif(u.grades, '') ELSE "
            "(SELECT btrim(x.p, :ws) FROM unnest(string_to_array(u.grades, ',')) WITH ORDINALITY AS x(p, n) "
            "WHERE btrim(x.p, :ws) <> '' ORDER BY x.n LIMIT 1) END"
        )
        new = {f: f"w.{f}" for f in fields} | {"school_id": "coalesce(w.school_id, s.school_id)"}
        differs = " OR ".join(f"s.{f} IS DISTINCT FROM {value}" for f, value in new.items())
        # A tobedeleted row keeps what the board has; only its status changes.
        self.sql(
            f"""CREATE TEMP TABLE m_students ON COMMIT DROP AS
            SELECT w.sid, w.line, s.id AS gid,
                   {", ".join(f"{value} AS {f}" for f, value in new.items())},
                   CASE WHEN s.id IS NULL THEN CASE WHEN w.status = 'active' THEN 'created' END
                        WHEN w.status = 'inactive'
                             THEN CASE WHEN s.status = 'inactive' THEN 'unchanged' ELSE 'deactivated' END
                        WHEN {differs} THEN 'changed'
                        ELSE 'unchanged' END AS action
            FROM (SELECT u."sourcedId" AS sid, u.line,
                         CASE WHEN u.status = 'tobedeleted' THEN 'inactive' ELSE 'active' END AS status,
                         {NAMES},
                         CASE WHEN so.id IS NOT NULL THEN so.id ELSE sr.id END AS school_id,
                         c.id AS class_id,
                         coalesce({first_grade}, fc.grade) AS grade,
                         CASE WHEN coalesce(h.klass, '') = cs.class_sid THEN h.number END AS attendance_number
                  FROM s_users u
                  LEFT JOIN t_roles r ON r.user_sid = u."sourcedId"
                  LEFT JOIN t_home h ON h.user_sid = u."sourcedId"
                  CROSS JOIN LATERAL (SELECT coalesce(nullif(u."metadata.jp.homeClass", ''), h.klass, '')
                                      AS class_sid) AS cs
                  LEFT JOIN schools so ON so.board_id = :board AND so.sourced_id = u."primaryOrgSourcedId"
                  LEFT JOIN schools sr ON sr.board_id = :board AND sr.sourced_id = r.school
                  LEFT JOIN classes c ON c.board_id = :board AND c.sourced_id = cs.class_sid
                  LEFT JOIN t_classes fc ON fc.sid = cs.class_sid AND fc.in_file
                  WHERE {self._kinds(1, "students")}) AS w
            LEFT JOIN students s ON s.board_id = :board AND s.sourced_id = w.sid"""
        )
        self._count("students", "m_students")
        self.sql(
            f"""UPDATE students s SET {", ".join(f"{f} = m.{f}" for f in fields[:-1])}, status = 'active',
                   updated_at = :now, deactivated_at = NULL
            FROM m_students m WHERE s.id = m.gid AND m.action = 'changed'"""
        )
        self.sql(
            """UPDATE students s SET status = 'inactive', updated_at = :now, deactivated_at = :now
            FROM m_students m WHERE s.id = m.gid AND m.action = 'deactivated'"""
        )
        self._insert_select(
            Student,
            ("board_id", "sourced_id", *fields, "updated_at"),
            f"SELECT CAST(:board AS bigint), sid, {', '.join(fields)}, CAST(:now AS timestamptz) "
            "FROM m_students WHERE action = 'created' ORDER BY line",  # file order: by school, homeroom
        )
        if self.index.mode("users") == "bulk":
            result = self.sql(
                """UPDATE students s SET status = 'inactive', updated_at = :now, deactivated_at = :now
                WHERE s.board_id = :board AND s.status = 'active'
                  AND NOT EXISTS (SELECT 1 FROM m_students m WHERE m.sid = s.sourced_id)"""
            )
            self.counts["students"]["deactivated"] += result.rowcount

    def merge_links(self) -> None:
        """A listed student's guardian links are exactly their agentSourcedIds: links not named
        any more become inactive, never deleted."""
        self.sql(
            """CREATE TEMP TABLE m_links ON COMMIT DROP AS
            WITH listed AS (
                SELECT m.sid, m.line, s.id AS student_id FROM m_students m
                JOIN students s ON s.board_id = :board AND s.sourced_id = m.sid
                WHERE m.status = 'active'
            ), wanted AS (
                SELECT DISTINCT g.id AS guardian_id, l.student_id
                FROM listed l JOIN s_agents a ON a.line = l.line
                JOIN guardians g ON g.board_id = :board AND g.sourced_id = a.agent
            ), existing AS (
                SELECT gs.id, gs.guardian_id, gs.student_id, gs.status FROM guardian_students gs
                WHERE gs.student_id IN (SELECT student_id FROM listed)
            )
            SELECT e.id, coalesce(e.guardian_id, w.guardian_id) AS guardian_id,
                   coalesce(e.student_id, w.student_id) AS student_id,
                   CASE WHEN e.id IS NULL THEN 'created'
                        WHEN w.student_id IS NOT NULL
                             THEN CASE WHEN e.status = 'active' THEN 'unchanged' ELSE 'changed' END
                        ELSE CASE WHEN e.status = 'active' THEN 'deactivated' ELSE 'unchanged' END
                   END AS action
            FROM existing e FULL JOIN wanted w
              ON w.guardian_id = e.guardian_id AND w.student_id = e.student_id"""
        )
        self._count("links", "m_links")
        self.sql(
            """UPDATE guardian_students gs
            SET status = CASE WHEN m.action = 'changed' THEN 'active' ELSE 'inactive' END
            FROM m_links m WHERE gs.id = m.id AND m.action IN ('changed', 'deactivated')"""
        )
        self._insert_select(
            GuardianStudent,
            ("guardian_id", "student_id", "status"),
            "SELECT guardian_id, student_id, 'active' FROM m_links WHERE action = 'created' "
            "ORDER BY student_id, guardian_id",  # in index order: each page of the indexes once
        )

    def merge_enrollment_only_changes(self) -> None:
        """A delta enrollments.csv may move a student to another homeroom or number without a
        users.csv row for them."""
        result = self.sql(
            """UPDATE students s SET class_id = c.id, attendance_number = h.number, updated_at = :now
            FROM t_home h JOIN classes c ON c.board_id = :board AND c.sourced_id = h.klass
            WHERE s.board_id = :board AND s.sourced_id = h.user_sid
              AND NOT EXISTS (SELECT 1 FROM s_users u WHERE u."sourcedId" = h.user_sid)
              AND (s.class_id IS DISTINCT FROM c.id OR s.attendance_number IS DISTINCT FROM h.number)"""
        )
        self.counts["students"]["changed"] += result.rowcount

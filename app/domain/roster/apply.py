"""Pass 2: write what changed, in chunks, inside the caller's one transaction.

Each chunk of rows is compared with what the board already holds (one SELECT per
chunk); new rows are bulk-inserted, changed rows bulk-updated by primary key, unchanged
rows left alone — so importing the same files twice changes nothing.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.boards.models import Board
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, SchoolYear, Student
from app.domain.roster import spec
from app.domain.roster.choices import cancel_pending_confirmations
from app.domain.roster.existing import chunks, ids_by_sourced_id, one_of
from app.domain.roster.problems import Problems
from app.domain.roster.reading import Advance, CsvReader, RosterSource
from app.domain.roster.validation import GUARDIAN, STUDENT, RosterIndex

STUDENT_FIELDS = (
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
ADVISORY_LOCK_BASE = 0x70B1_0000  # + board id: the lock key of "roster import for this board"
GUARDIAN_FIELDS = ("family_name", "given_name", "family_name_kana", "given_name_kana", "email", "status")


def _table(model: Any) -> Table:
    """The Core table: inserting through it is a plain executemany, without the ORM's
    bookkeeping (and without RETURNING, which would make each batch one huge statement)."""
    table: Table = model.__table__
    return table


def _kind(grades: list[str]) -> str:
    stages = {code[0] for code in grades}
    if stages == {"J"}:
        return "junior_high"
    if stages == {"H"}:
        return "high"
    if "P" in stages and "J" in stages:
        return "compulsory"
    return "elementary"


class Applier:
    def __init__(
        self,
        db: Session,
        source: RosterSource,
        index: RosterIndex,
        board: Board,
        *,
        allow_cp932: bool,
        advance: Advance,
    ) -> None:
        self.db = db
        self.source = source
        self.index = index
        self.board = board
        self.allow_cp932 = allow_cp932
        self.advance = advance
        self.counts: dict[str, Counter[str]] = {
            name: Counter()
            for name in ("schools", "school_years", "classes", "guardians", "students", "links")
        }
        self.confirmations_cancelled = 0
        self.now = utcnow()
        self.schools: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self.years: dict[str, int] = {}

    def run(self) -> None:
        raw = self._driver_connection()
        if raw is None:
            self._run()
            return
        # psycopg prepares a statement after a few runs and may then keep a generic plan made
        # while the tables were still empty (a sequential scan); plan each look-up afresh.
        threshold = raw.prepare_threshold
        raw.prepare_threshold = None
        # One import per board at a time: a second one waits here, then compares against
        # what the first committed (each statement sees the latest committed rows).
        self.db.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_BASE + self.board.id}
        )
        try:
            self._run()
        finally:
            raw.prepare_threshold = threshold

    def _driver_connection(self) -> Any:
        if self.db.get_bind().dialect.name != "postgresql":
            return None
        return self.db.connection().connection.driver_connection

    def _run(self) -> None:
        self.apply_schools()
        self.apply_years()
        self.apply_classes()
        if self.index.active("users"):
            self.apply_guardians()
            self.apply_students()
        if self.index.active("enrollments"):
            self.apply_enrollment_only_changes()

    # -- small tables ----------------------------------------------------------------------
    def _sync_small(
        self, name: str, model: Any, wanted: dict[str, dict[str, Any]], deactivate_missing: bool
    ) -> dict[str, int]:
        existing = {
            row.sourced_id: row
            for row in self.db.scalars(select(model).where(model.board_id == self.board.id))
        }
        for sid, values in wanted.items():
            row = existing.get(sid)
            if row is None:
                if values.get("status") == "inactive":
                    continue
                row = model(board_id=self.board.id, sourced_id=sid, **values)
                self.db.add(row)
                existing[sid] = row
                self.counts[name]["created"] += 1
                continue
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(row, key, value)
                bucket = "deactivated" if changed.get("status") == "inactive" else "changed"
                self.counts[name][bucket] += 1
            else:
                self.counts[name]["unchanged"] += 1
        if deactivate_missing:
            for sid, row in existing.items():
                if sid not in wanted and row.status == "active":
                    row.status = "inactive"
                    self.counts[name]["deactivated"] += 1
        self.db.flush()
        return {sid: row.id for sid, row in existing.items()}

    def apply_schools(self) -> None:
        grades_by_school: dict[str, list[str]] = {}
        for klass in self.index.classes.values():
            if klass.grade:
                grades_by_school.setdefault(klass.school, []).append(klass.grade)
        taken = {
            code: sid
            for code, sid in self.db.execute(
                select(School.code, School.sourced_id).where(School.board_id == self.board.id)
            )
        }
        wanted: dict[str, dict[str, Any]] = {}
        for sid, org in self.index.orgs.items():
            if org.type != "school":
                continue
            code = org.identifier or sid
            if taken.get(code, sid) != sid:
                code = sid
            taken[code] = sid
            values: dict[str, Any] = {"status": "active" if org.status == "active" else "inactive"}
            if org.status == "active":
                values.update(name=org.name, code=code)
                if "特別支援" in org.name:
                    values["kind"] = "special_needs"
                elif sid in grades_by_school:
                    values["kind"] = _kind(grades_by_school[sid])
            wanted[sid] = values
        self.schools = self._sync_small("schools", School, wanted, self.index.mode("orgs") == "bulk")

    def apply_years(self) -> None:
        wanted: dict[str, dict[str, Any]] = {}
        for sid, session in self.index.sessions.items():
            if session.type != "schoolYear" and session.status == "active":
                continue
            if session.status != "active":
                wanted[sid] = {"status": "inactive"}
                continue
            wanted[sid] = {
                "title": session.title,
                "year": session.year,
                "start_date": session.start,
                "end_date": session.end,
                "status": "active",
            }
        bulk = self.index.mode("academicSessions") == "bulk"
        self.years = self._sync_small("school_years", SchoolYear, wanted, bulk)

    def apply_classes(self) -> None:
        wanted: dict[str, dict[str, Any]] = {}
        for sid, klass in self.index.classes.items():
            if klass.status != "active":
                wanted[sid] = {"status": "inactive"}
                continue
            if not klass.homeroom:
                continue  # scheduled (course) classes are not needed by the portal
            school = self.schools.get(klass.school)
            if school is None:
                continue  # its school is being removed in this same import
            year = next((self.years[t] for t in klass.terms if t in self.years), None)
            wanted[sid] = {
                "school_id": school,
                "school_year_id": year,
                "title": klass.title,
                "grade": klass.grade,
                "status": "active",
            }
        self.classes = self._sync_small("classes", SchoolClass, wanted, self.index.mode("classes") == "bulk")

    # -- people ----------------------------------------------------------------------------
    def _users(self, wanted_flag: int, model: Any) -> Iterator[list[tuple[int, dict[str, str]]]]:
        """Chunks of users.csv rows of one kind (student or guardian)."""
        reader = CsvReader(
            self.source,
            spec.FILES["users"],
            Problems(),
            allow_cp932=self.allow_cp932,
            advance=self.advance,
            report_header=False,
        )
        # A bulk roles.csv says who everyone is; otherwise a user without a role row in
        # this set keeps the kind the board already knows.
        roles_bulk = self.index.mode("roles") == "bulk"
        unknown: list[tuple[int, dict[str, str]]] = []
        batch: list[tuple[int, dict[str, str]]] = []
        for line, row in reader.rows():
            flags = self.index.roles.get(row["sourcedId"], 0)
            if flags & wanted_flag:
                batch.append((line, row))
            elif not flags and not roles_bulk:
                unknown.append((line, row))
            if len(batch) >= 1000:
                yield batch
                batch = []
            if len(unknown) >= 1000:
                yield self._known_on_board(unknown, model)
                unknown = []
        if unknown:
            batch.extend(self._known_on_board(unknown, model))
        if batch:
            yield batch

    def _known_on_board(
        self, rows: list[tuple[int, dict[str, str]]], model: Any
    ) -> list[tuple[int, dict[str, str]]]:
        known = ids_by_sourced_id(self.db, model, self.board.id, (row["sourcedId"] for _, row in rows))
        return [(line, row) for line, row in rows if row["sourcedId"] in known]

    def _existing(self, model: Any, fields: tuple[str, ...], sids: list[str]) -> dict[str, dict[str, Any]]:
        columns = [model.id, model.sourced_id, *(getattr(model, f) for f in fields)]
        if model is Student:
            columns.append(Student.deactivated_at)
        result = self.db.execute(
            select(*columns).where(model.board_id == self.board.id, one_of(self.db, model.sourced_id, sids))
        )
        return {row.sourced_id: row._asdict() for row in result}

    def _write(
        self, name: str, model: Any, fields: tuple[str, ...], wanted: dict[str, dict[str, Any]]
    ) -> tuple[dict[str, int], dict[str, tuple[Any, Any]]]:
        """Insert, update or leave each wanted row; returns sourced_id -> id and changed e-mails."""
        existing = self._existing(model, fields, list(wanted))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        emails: dict[str, tuple[Any, Any]] = {}
        ids: dict[str, int] = {}
        for sid, values in wanted.items():
            old = existing.get(sid)
            if old is None:
                if values["status"] == "inactive":
                    continue
                inserts.append(
                    {"board_id": self.board.id, "sourced_id": sid, "updated_at": self.now, **values}
                )
                continue
            ids[sid] = old["id"]
            if values["status"] == "inactive":
                values = {**{f: old[f] for f in fields}, "status": "inactive"}
            if model is Guardian and values["status"] == "active":
                before, after = old["email"], values["email"]
                if (before or "").lower() != (after or "").lower() and before:
                    emails[sid] = (old["id"], before)
            if all(old[f] == values[f] for f in fields):
                self.counts[name]["unchanged"] += 1
                continue
            change: dict[str, Any] = {"id": old["id"], **values, "updated_at": self.now}
            if values["status"] == "inactive":
                self.counts[name]["deactivated"] += 1
                if model is Student:
                    change["deactivated_at"] = self.now
            else:
                self.counts[name]["changed"] += 1
                if model is Student:
                    change["deactivated_at"] = None
            updates.append(change)
        if inserts:
            self._insert(model, inserts)
            ids.update(
                ids_by_sourced_id(self.db, model, self.board.id, (row["sourced_id"] for row in inserts))
            )
            self.counts[name]["created"] += len(inserts)
        if updates:
            self.db.execute(update(model), updates)
        return ids, emails

    def _insert(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """New rows in one go: COPY on PostgreSQL (inside this same transaction), a plain
        executemany elsewhere. Ids are read back by the caller with one SELECT."""
        table = _table(model)
        if self.db.get_bind().dialect.name != "postgresql":
            self.db.execute(insert(table), rows)
            return
        columns = [column for column in table.columns if column.name != "id"]
        # Columns the caller left out get their scalar default (e.g. preferred_language "ja").
        fill = {
            column.name: getattr(column.default, "arg", None)
            if getattr(column.default, "is_scalar", False)
            else None
            for column in columns
        }
        names = ", ".join(f'"{column.name}"' for column in columns)
        raw = self._driver_connection()
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row.get(name, fill[name]) for name in fill])

    @staticmethod
    def _names(row: dict[str, str]) -> dict[str, Any]:
        return {
            "family_name": row.get("familyName", "")[:100],
            "given_name": row.get("givenName", "")[:100],
            "family_name_kana": row.get("metadata.jp.kanaFamilyName", "")[:100],
            "given_name_kana": row.get("metadata.jp.kanaGivenName", "")[:100],
        }

    def apply_guardians(self) -> None:
        seen: set[str] = set()
        for batch in self._users(GUARDIAN, Guardian):
            wanted: dict[str, dict[str, Any]] = {}
            for _line, row in batch:
                sid = row["sourcedId"]
                seen.add(sys.intern(sid))  # the same string object as the index's: no copy
                status = "inactive" if row.get("status") == "tobedeleted" else "active"
                wanted[sid] = {**self._names(row), "email": row.get("email") or None, "status": status}
            _ids, emails = self._write("guardians", Guardian, GUARDIAN_FIELDS, wanted)
            if emails:
                self.confirmations_cancelled += cancel_pending_confirmations(
                    self.db, [guardian_id for guardian_id, _old in emails.values()]
                )
        if self.index.mode("users") == "bulk":
            self._deactivate_missing("guardians", Guardian, seen)

    def apply_students(self) -> None:
        seen: set[str] = set()
        for batch in self._users(STUDENT, Student):
            wanted: dict[str, dict[str, Any]] = {}
            agents: dict[str, list[str]] = {}
            for _line, row in batch:
                sid = row["sourcedId"]
                seen.add(sys.intern(sid))  # the same string object as the index's: no copy
                if row.get("status") == "tobedeleted":
                    wanted[sid] = {"status": "inactive"}
                    continue
                wanted[sid] = self._student_values(sid, row)
                agents[sid] = spec.split_list(row.get("agentSourcedIds", ""))
            self._fill_kept_school(wanted)
            ids, _emails = self._write("students", Student, STUDENT_FIELDS, wanted)
            self._link(ids, agents)
        if self.index.mode("users") == "bulk":
            self._deactivate_missing("students", Student, seen)

    def _student_values(self, sid: str, row: dict[str, str]) -> dict[str, Any]:
        org = row.get("primaryOrgSourcedId", "")
        school = (
            self.schools.get(org)
            if org in self.schools
            else self.schools.get(self.index.role_school.get(sid, ""))
        )
        home = row.get("metadata.jp.homeClass", "")
        enrolled_class, number = self.index.homeroom.get(sid, ("", None))
        class_sid = home or enrolled_class
        class_id = self.classes.get(class_sid)
        grades = spec.split_list(row.get("grades", ""))
        klass = self.index.classes.get(class_sid)
        grade = grades[0] if grades else (klass.grade if klass else None)
        return {
            **self._names(row),
            "school_id": school,
            "class_id": class_id,
            "grade": grade,
            "attendance_number": number if enrolled_class == class_sid else None,
            "status": "active",
        }

    def _fill_kept_school(self, wanted: dict[str, dict[str, Any]]) -> None:
        """A delta row that names no school keeps the school the board has on file."""
        missing = [sid for sid, v in wanted.items() if v.get("school_id") is None and v["status"] == "active"]
        if not missing:
            return
        rows = self.db.execute(
            select(Student.sourced_id, Student.school_id).where(
                Student.board_id == self.board.id, one_of(self.db, Student.sourced_id, missing)
            )
        )
        for sid, school_id in rows:
            wanted[sid]["school_id"] = school_id

    def _link(self, student_ids: dict[str, int], agents: dict[str, list[str]]) -> None:
        wanted_pairs: set[tuple[int, int]] = set()
        guardian_ids = ids_by_sourced_id(
            self.db, Guardian, self.board.id, {a for sid in agents for a in agents[sid]}
        )
        linked_students = [student_ids[sid] for sid in agents if sid in student_ids]
        for sid, agent_sids in agents.items():
            if sid in student_ids:
                wanted_pairs |= {(guardian_ids[a], student_ids[sid]) for a in agent_sids if a in guardian_ids}
        existing = {
            (row.guardian_id, row.student_id): row
            for row in self.db.execute(
                select(
                    GuardianStudent.id,
                    GuardianStudent.guardian_id,
                    GuardianStudent.student_id,
                    GuardianStudent.status,
                ).where(one_of(self.db, GuardianStudent.student_id, linked_students))
            )
        }
        inserts = [
            {"guardian_id": g, "student_id": s, "status": "active"}
            for g, s in wanted_pairs
            if (g, s) not in existing
        ]
        updates = []
        for pair, row in existing.items():
            status = "active" if pair in wanted_pairs else "inactive"
            if row.status != status:
                updates.append({"id": row.id, "status": status})
                self.counts["links"]["deactivated" if status == "inactive" else "changed"] += 1
            else:
                self.counts["links"]["unchanged"] += 1
        if inserts:
            self._insert(GuardianStudent, inserts)
            self.counts["links"]["created"] += len(inserts)
        if updates:
            self.db.execute(update(GuardianStudent), updates)

    def _deactivate_missing(self, name: str, model: Any, seen: set[str]) -> None:
        """A bulk users.csv is the whole roster: anyone not in it has left."""
        active = self.db.execute(
            select(model.sourced_id, model.id)
            .where(model.board_id == self.board.id, model.status == "active")
            .execution_options(yield_per=5000)
        )
        stale = [row_id for sid, row_id in active if sid not in seen]
        for batch in chunks(stale):
            values: dict[str, Any] = {"status": "inactive", "updated_at": self.now}
            if model is Student:
                values["deactivated_at"] = self.now
            self.db.execute(update(model).where(model.id.in_(batch)).values(**values))
            self.counts[name]["deactivated"] += len(batch)

    def apply_enrollment_only_changes(self) -> None:
        """A delta enrollments.csv may move a student to another homeroom or number
        without a users.csv row for them."""
        if self.index.mode("users") == "bulk":
            return
        in_users = self.index.users
        pending = [
            (sid, klass, number)
            for sid, (klass, number) in self.index.homeroom.items()
            if sid not in in_users
        ]
        for batch in chunks(pending):
            existing = self._existing(Student, STUDENT_FIELDS, [sid for sid, _k, _n in batch])
            updates = []
            for sid, klass, number in batch:
                old = existing.get(sid)
                class_id = self.classes.get(klass)
                if old is None or class_id is None:
                    continue
                if old["class_id"] != class_id or old["attendance_number"] != number:
                    updates.append(
                        {
                            "id": old["id"],
                            "class_id": class_id,
                            "attendance_number": number,
                            "updated_at": self.now,
                        }
                    )
            if updates:
                self.db.execute(update(Student), updates)
                self.counts["students"]["changed"] += len(updates)

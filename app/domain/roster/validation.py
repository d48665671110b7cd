"""Pass 1: read every file once, check it, and keep a compact index for pass 2.

Nothing is written here. The index holds ids and a few small facts per person (role,
homeroom, attendance number) — never whole rows — so memory grows with the number of
people, not with the size of the files.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from app.domain.people.models import Guardian, School, SchoolClass, SchoolYear, Student
from app.domain.roster import spec
from app.domain.roster.existing import all_ids, ids_by_sourced_id
from app.domain.roster.problems import Problems
from app.domain.roster.reading import Advance, CsvReader, RosterSource

STUDENT, GUARDIAN, OTHER = 1, 2, 4
ROLE_VALUES = (
    "administrator",
    "aide",
    "counselor",
    "districtAdministrator",
    "guardian",
    "parent",
    "principal",
    "proctor",
    "relative",
    "siteAdministrator",
    "student",
    "systemAdministrator",
    "teacher",
)
SESSION_TYPES = ("gradingPeriod", "semester", "schoolYear", "term")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Org:
    name: str
    type: str
    identifier: str
    status: str


@dataclass
class Session_:
    title: str
    type: str
    start: date | None
    end: date | None
    year: int | None
    status: str


@dataclass
class Klass:
    title: str
    school: str
    grade: str | None
    homeroom: bool
    terms: list[str]
    status: str


@dataclass
class RosterIndex:
    modes: dict[str, str] = field(default_factory=dict)
    orgs: dict[str, Org] = field(default_factory=dict)
    sessions: dict[str, Session_] = field(default_factory=dict)
    classes: dict[str, Klass] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)  # sourcedId -> line in users.csv
    roles: dict[str, int] = field(default_factory=dict)  # user -> STUDENT | GUARDIAN | OTHER bits
    role_school: dict[str, str] = field(default_factory=dict)  # student -> org of primary role
    homeroom: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # student -> (class, No.)
    # What the board already holds (sourced_id -> id), for references a delta makes.
    db_schools: dict[str, int] = field(default_factory=dict)
    db_classes: dict[str, int] = field(default_factory=dict)
    db_years: dict[str, int] = field(default_factory=dict)

    def mode(self, key: str) -> str:
        return self.modes.get(key, "absent")

    def active(self, key: str) -> bool:
        return self.mode(key) != "absent"


def _status(value: str) -> str:
    return value or "active"


def _parse_date(value: str) -> date | None:
    if not ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class Validator:
    def __init__(
        self,
        db: Session,
        source: RosterSource,
        board_id: int | None,
        *,
        allow_cp932: bool,
        advance: Advance,
        problems: Problems,
    ) -> None:
        self.db = db
        self.source = source
        self.board_id = board_id
        self.allow_cp932 = allow_cp932
        self.advance = advance
        self.problems = problems
        self.index = RosterIndex()
        self.unreadable: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------
    def reader(self, key: str) -> CsvReader:
        return CsvReader(
            self.source, spec.FILES[key], self.problems, allow_cp932=self.allow_cp932, advance=self.advance
        )

    def rows(self, key: str) -> Iterator[tuple[int, dict[str, str]]]:
        if self.index.active(key) and self.source.has(spec.FILES[key].name):
            reader = self.reader(key)
            yield from reader.rows()
            if not reader.header_ok or reader.stopped:
                self.unreadable.add(spec.FILES[key].name)

    def add(self, key: str, line: int, column: str, code: str, **params: object) -> None:
        self.problems.add(spec.FILES[key].name, line, column, code, **params)

    def check_status(self, key: str, line: int, row: dict[str, str]) -> str | None:
        status = row.get("status", "")
        if status and status not in spec.STATUSES:
            self.add(key, line, "status", "bad_value", value=status, expected="active / tobedeleted")
            return None
        if not status and self.index.mode(key) == "delta":
            self.add(key, line, "status", "missing_value")
            return None
        return _status(status)

    def check_id(self, key: str, line: int, row: dict[str, str], seen: dict[str, int]) -> str | None:
        sid = row["sourcedId"]
        if not sid:
            self.add(key, line, "sourcedId", "missing_value")
            return None
        first = seen.get(sid)
        if first is not None:
            self.add(key, line, "sourcedId", "duplicate_id", value=sid, first_line=first)
            return None
        sid = sys.intern(sid)
        seen[sid] = line
        return sid

    def require(self, key: str, line: int, row: dict[str, str], *columns: str) -> bool:
        ok = True
        for column in columns:
            if not row.get(column):
                self.add(key, line, column, "missing_value")
                ok = False
        return ok

    def check_grades(self, key: str, line: int, value: str) -> list[str]:
        codes = spec.split_list(value)
        for code in codes:
            if not spec.valid_grade(code):
                self.add(key, line, "grades", "bad_grade", value=code)
        return codes

    def check_kana(self, key: str, line: int, row: dict[str, str]) -> None:
        for column in ("metadata.jp.kanaFamilyName", "metadata.jp.kanaGivenName"):
            value = row.get(column, "")
            if spec.HALFWIDTH_KATAKANA.search(value):
                self.add(key, line, column, "halfwidth_kana", value=value)

    def school_known(self, sid: str) -> bool:
        org = self.index.orgs.get(sid)
        return (org is not None and org.type == "school") or sid in self.index.db_schools

    def class_known(self, sid: str) -> bool:
        return sid in self.index.classes or sid in self.index.db_classes

    # -- the pass --------------------------------------------------------------------------
    def run(self) -> RosterIndex:
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
        self.read_users()
        self.read_roles()
        self.read_enrollments()
        self.check_students()
        if self.unreadable:
            self.problems.discard_references_into(self.unreadable)
        return self.index

    def read_manifest(self) -> None:
        manifest = spec.FileSpec(spec.MANIFEST, ("propertyName", "value"))
        if not self.source.has(spec.MANIFEST):
            self.problems.add(spec.MANIFEST, 0, "", "no_manifest")
            return
        reader = CsvReader(self.source, manifest, self.problems, allow_cp932=self.allow_cp932)
        values: dict[str, tuple[int, str]] = {}
        for line, row in reader.rows():
            values[row["propertyName"]] = (line, row["value"])
        version_line, version = values.get("oneroster.version", (0, ""))
        if version and not version.startswith("1.2"):
            self.problems.add(
                spec.MANIFEST,
                version_line,
                "oneroster.version",
                "bad_manifest_value",
                value=version,
                expected="1.2",
            )
        for key, file_spec in spec.FILES.items():
            line, mode = values.get(f"file.{key}", (0, "absent"))
            if mode not in spec.FILE_MODES:
                self.problems.add(
                    spec.MANIFEST,
                    line,
                    f"file.{key}",
                    "bad_manifest_value",
                    value=mode,
                    expected="bulk / delta / absent",
                )
                continue
            self.index.modes[key] = mode
            if mode != "absent" and not self.source.has(file_spec.name):
                self.problems.add(file_spec.name, 0, "", "missing_file", mode=mode)

    def read_orgs(self) -> None:
        seen: dict[str, int] = {}
        parents: list[tuple[int, str]] = []
        for line, row in self.rows("orgs"):
            sid = self.check_id("orgs", line, row, seen)
            status = self.check_status("orgs", line, row)
            if sid is None or status is None:
                continue
            if status == "active" and not self.require("orgs", line, row, "name", "type"):
                continue
            org_type = row["type"]
            if org_type and org_type not in spec.ORG_TYPES:
                self.add(
                    "orgs", line, "type", "bad_value", value=org_type, expected=" / ".join(spec.ORG_TYPES)
                )
                continue
            if row.get("parentSourcedId"):
                parents.append((line, row["parentSourcedId"]))
            self.index.orgs[sid] = Org(row["name"], org_type, row.get("identifier", ""), status)
        for line, parent in parents:
            if parent not in self.index.orgs and parent not in self.index.db_schools:
                self.add(
                    "orgs", line, "parentSourcedId", "unknown_reference", value=parent, target="orgs.csv"
                )

    def read_sessions(self) -> None:
        seen: dict[str, int] = {}
        for line, row in self.rows("academicSessions"):
            sid = self.check_id("academicSessions", line, row, seen)
            status = self.check_status("academicSessions", line, row)
            if sid is None or status is None:
                continue
            if status != "active":
                self.index.sessions[sid] = Session_(row["title"], row["type"], None, None, None, status)
                continue
            if not self.require("academicSessions", line, row, "title", "type", "startDate", "endDate"):
                continue
            if row["type"] not in SESSION_TYPES:
                self.add(
                    "academicSessions",
                    line,
                    "type",
                    "bad_value",
                    value=row["type"],
                    expected=" / ".join(SESSION_TYPES),
                )
            dates = {}
            for column in ("startDate", "endDate"):
                dates[column] = _parse_date(row[column])
                if dates[column] is None:
                    self.add(
                        "academicSessions",
                        line,
                        column,
                        "bad_value",
                        value=row[column],
                        expected="YYYY-MM-DD",
                    )
            year_text = row.get("schoolYear", "")
            year = int(year_text) if re.fullmatch(r"\d{4}", year_text) else None
            if year is None:
                self.add(
                    "academicSessions", line, "schoolYear", "bad_value", value=year_text, expected="YYYY"
                )
            self.index.sessions[sid] = Session_(
                row["title"], row["type"], dates["startDate"], dates["endDate"], year, status
            )

    def read_courses(self) -> set[str] | None:
        if not (self.index.active("courses") and self.source.has(spec.FILES["courses"].name)):
            return None
        seen: dict[str, int] = {}
        for line, row in self.rows("courses"):
            sid = self.check_id("courses", line, row, seen)
            if sid is None or self.check_status("courses", line, row) is None:
                continue
            org = row["orgSourcedId"]
            if org and org not in self.index.orgs and org not in self.index.db_schools:
                self.add("courses", line, "orgSourcedId", "unknown_reference", value=org, target="orgs.csv")
        return set(seen)

    def read_classes(self, courses: set[str] | None) -> None:
        seen: dict[str, int] = {}
        for line, row in self.rows("classes"):
            sid = self.check_id("classes", line, row, seen)
            status = self.check_status("classes", line, row)
            if sid is None or status is None:
                continue
            if status == "active" and not self.require(
                "classes", line, row, "title", "classType", "schoolSourcedId", "courseSourcedId"
            ):
                continue
            class_type = row["classType"]
            if class_type and class_type not in spec.CLASS_TYPES:
                self.add(
                    "classes",
                    line,
                    "classType",
                    "bad_value",
                    value=class_type,
                    expected="homeroom / scheduled",
                )
            school = row["schoolSourcedId"]
            if school and not self.school_known(school):
                self.add(
                    "classes", line, "schoolSourcedId", "unknown_reference", value=school, target="orgs.csv"
                )
            course = row["courseSourcedId"]
            if courses is not None and course and course not in courses:
                self.add(
                    "classes",
                    line,
                    "courseSourcedId",
                    "unknown_reference",
                    value=course,
                    target="courses.csv",
                )
            terms = spec.split_list(row["termSourcedIds"])
            if self.index.active("academicSessions"):
                for term in terms:
                    if term not in self.index.sessions and term not in self.index.db_years:
                        self.add(
                            "classes",
                            line,
                            "termSourcedIds",
                            "unknown_reference",
                            value=term,
                            target="academicSessions.csv",
                        )
            grades = self.check_grades("classes", line, row.get("grades", ""))
            self.index.classes[sid] = Klass(
                row["title"], school, grades[0] if grades else None, class_type == "homeroom", terms, status
            )

    def read_users(self) -> None:
        users = self.index.users
        for line, row in self.rows("users"):
            sid = self.check_id("users", line, row, users)
            status = self.check_status("users", line, row)
            if sid is None or status is None or status != "active":
                continue
            self.require("users", line, row, "givenName", "familyName")
            self.check_kana("users", line, row)
            self.check_grades("users", line, row.get("grades", ""))
            org = row.get("primaryOrgSourcedId", "")
            if org and org not in self.index.orgs and org not in self.index.db_schools:
                self.add(
                    "users", line, "primaryOrgSourcedId", "unknown_reference", value=org, target="orgs.csv"
                )
            home = row.get("metadata.jp.homeClass", "")
            if home:
                if not self.class_known(home):
                    self.add(
                        "users",
                        line,
                        "metadata.jp.homeClass",
                        "unknown_reference",
                        value=home,
                        target="classes.csv",
                    )
                elif home in self.index.classes and not self.index.classes[home].homeroom:
                    self.add("users", line, "metadata.jp.homeClass", "not_homeroom", value=home)

    def _user_known(self, line: int, sid: str, pending: dict[str, list[int]]) -> None:
        if sid not in self.index.users:
            pending.setdefault(sid, []).append(line)

    def _resolve_pending(self, key: str, column: str, pending: dict[str, list[int]]) -> set[str]:
        """Users referenced but not in users.csv must already be on the board (a delta)."""
        known = set(ids_by_sourced_id(self.db, Student, self.board_id, pending))
        known |= set(ids_by_sourced_id(self.db, Guardian, self.board_id, pending))
        for sid, lines in pending.items():
            if sid not in known:
                for line in lines:
                    self.add(key, line, column, "unknown_reference", value=sid, target="users.csv")
        return known

    def read_roles(self) -> None:
        seen: dict[str, int] = {}
        pending: dict[str, list[int]] = {}
        for line, row in self.rows("roles"):
            sid = self.check_id("roles", line, row, seen)
            status = self.check_status("roles", line, row)
            if sid is None or status is None:
                continue
            if not self.require("roles", line, row, "userSourcedId", "role", "orgSourcedId"):
                continue
            role, user, org = row["role"], sys.intern(row["userSourcedId"]), row["orgSourcedId"]
            if role not in ROLE_VALUES and not role.startswith("ext:"):
                self.add("roles", line, "role", "bad_value", value=role, expected=" / ".join(ROLE_VALUES))
                continue
            if row["roleType"] not in ("primary", "secondary"):
                self.add(
                    "roles",
                    line,
                    "roleType",
                    "bad_value",
                    value=row["roleType"],
                    expected="primary / secondary",
                )
            if org not in self.index.orgs and org not in self.index.db_schools:
                self.add("roles", line, "orgSourcedId", "unknown_reference", value=org, target="orgs.csv")
            self._user_known(line, user, pending)
            if status != "active":
                continue
            flag = STUDENT if role == "student" else GUARDIAN if role in spec.GUARDIAN_ROLES else OTHER
            self.index.roles[user] = self.index.roles.get(user, 0) | flag
            if flag == STUDENT and row["roleType"] == "primary" and self.school_known(org):
                self.index.role_school[user] = sys.intern(org)
        self._resolve_pending("roles", "userSourcedId", pending)

    def read_enrollments(self) -> None:
        seen: dict[str, int] = {}
        pending: dict[str, list[int]] = {}
        for line, row in self.rows("enrollments"):
            sid = self.check_id("enrollments", line, row, seen)
            status = self.check_status("enrollments", line, row)
            if sid is None or status is None:
                continue
            if not self.require("enrollments", line, row, "classSourcedId", "userSourcedId", "role"):
                continue
            klass, user, school = row["classSourcedId"], row["userSourcedId"], row["schoolSourcedId"]
            if not self.class_known(klass):
                self.add(
                    "enrollments",
                    line,
                    "classSourcedId",
                    "unknown_reference",
                    value=klass,
                    target="classes.csv",
                )
                continue
            if school and not self.school_known(school):
                self.add(
                    "enrollments",
                    line,
                    "schoolSourcedId",
                    "unknown_reference",
                    value=school,
                    target="orgs.csv",
                )
            self._user_known(line, user, pending)
            number_text = row.get("metadata.jp.ShussekiNo", "")
            number: int | None = None
            if number_text:
                if number_text.isdigit():
                    number = int(number_text)
                else:
                    self.add(
                        "enrollments",
                        line,
                        "metadata.jp.ShussekiNo",
                        "bad_value",
                        value=number_text,
                        expected="1, 2, 3 …",
                    )
            info = self.index.classes.get(klass)
            is_homeroom = info.homeroom if info is not None else True  # the board keeps homerooms only
            if status == "active" and row["role"] == "student" and is_homeroom:
                self.index.homeroom[sys.intern(user)] = (sys.intern(klass), number)
        self._resolve_pending("enrollments", "userSourcedId", pending)

    def check_students(self) -> None:
        """Second look at users.csv, now that roles are known: guardians and schools."""
        if not (self.index.active("users") and self.source.has(spec.FILES["users"].name)):
            return
        roles = self.index.roles
        reader = CsvReader(
            self.source,
            spec.FILES["users"],
            Problems(),  # header and row-shape problems were reported in the first look
            allow_cp932=self.allow_cp932,
            advance=self.advance,
            report_header=False,
        )
        # agent -> lines that name it, for agents that are not guardians in these files
        pending: dict[str, list[int]] = {}
        no_school: list[tuple[int, str]] = []
        # A delta may change a student without a roles.csv row: the board knows them.
        roleless: list[tuple[int, str, list[str]]] = []
        for line, row in reader.rows():
            sid = row["sourcedId"]
            if _status(row.get("status", "")) != "active":
                continue
            agents = spec.split_list(row.get("agentSourcedIds", ""))
            flags = roles.get(sid, 0)
            if not flags and agents and self.index.mode("roles") != "bulk":
                roleless.append((line, sid, agents))
                continue
            if not flags & STUDENT:
                continue
            for agent in agents:
                if not roles.get(agent, 0) & GUARDIAN:
                    pending.setdefault(agent, []).append(line)
            org = row.get("primaryOrgSourcedId", "")
            if not (org and self.school_known(org)) and sid not in self.index.role_school:
                no_school.append((line, sid))
        if roleless:
            students = set(
                ids_by_sourced_id(self.db, Student, self.board_id, (sid for _, sid, _a in roleless))
            )
            for line, sid, agents in roleless:
                if sid in students:
                    for agent in agents:
                        if not roles.get(agent, 0) & GUARDIAN:
                            pending.setdefault(agent, []).append(line)
        known = set(ids_by_sourced_id(self.db, Guardian, self.board_id, pending))
        for agent, lines in pending.items():
            if agent in known:
                continue
            for line in lines:
                if agent in self.index.users:
                    self.add("users", line, "agentSourcedIds", "not_a_guardian", value=agent)
                else:
                    self.add(
                        "users", line, "agentSourcedIds", "unknown_reference", value=agent, target="users.csv"
                    )
        if no_school:
            on_board = set(ids_by_sourced_id(self.db, Student, self.board_id, (sid for _, sid in no_school)))
            for line, sid in no_school:
                if sid not in on_board:
                    self.add("users", line, "primaryOrgSourcedId", "no_school")

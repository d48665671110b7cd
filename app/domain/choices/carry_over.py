"""Carry over the choices a board already holds (given on paper, by e-mail or phone before
Tobira), so that no family has to ask again.

The file is a CSV (UTF-8 with or without BOM, or CP932) with a header row:

    student_id,service,choice,value,categories,received_on,received_by
    stu-0001,dashboard,dashboard_display,hide_some,grades;health_attendance,2026-04-10,paper

Every line is checked first; any problem (named by line and column) refuses the whole file and
nothing is written. Applied, each line is a confirmed choice with channel `import`, in force
since the day the school received it, with a reason saying how it came. The family's latest
word holds: a line is skipped when Tobira already has that choice, or has a newer one.
Importing the same file again changes nothing. With `notify`, the guardians of each child
whose choice was carried over are told, one e-mail each (`carry_over_notice`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor, record
from app.domain.catalog.models import ChoiceDefinition, Service
from app.domain.choices.carry_over_notice import Carried, notify_guardians
from app.domain.choices.models import CurrentChoice
from app.domain.choices.service import record_confirmed, validate_choice
from app.domain.people.models import Student
from app.i18n import N_, gettext

COLUMNS = ("student_id", "service", "choice", "value", "categories", "received_on", "received_by")
RECEIVED_BY = ("paper", "email", "phone", "in_person")
TOKYO = ZoneInfo("Asia/Tokyo")
MAX_LINES = 500_000


@dataclass(frozen=True)
class LineProblem:
    line: int
    column: str
    message: str  # an English msgid with {value}

    def text(self, lang: str | None = None, **params: str) -> str:
        return gettext(self.message, lang).format(**params)


@dataclass
class CarryOverReport:
    applied: int = 0
    unchanged: int = 0
    newer_in_tobira: int = 0
    emails: int = 0  # guardians told (with `notify`)
    problems: list[tuple[LineProblem, str]] = field(default_factory=list)  # (problem, value)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Line:
    number: int
    student: Student
    definition: ChoiceDefinition
    value: str
    categories: list[str]
    received_on: date
    received_by: str


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932")  # a spreadsheet saved on Windows


def _check(db: Session, board_id: int, data: bytes, report: CarryOverReport) -> list[_Line]:
    try:
        reader = csv.DictReader(io.StringIO(_text(data)))
        header = [name.strip() for name in reader.fieldnames or []]
    except UnicodeDecodeError:
        report.problems.append((LineProblem(1, "", N_("The file is neither UTF-8 nor Shift_JIS text.")), ""))
        return []
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        for name in missing:
            report.problems.append((LineProblem(1, name, N_("The column {value} is missing.")), name))
        return []
    rows = list(reader)
    if len(rows) > MAX_LINES:
        report.problems.append(
            (LineProblem(1, "", N_("The file has more than {value} lines.")), str(MAX_LINES))
        )
        return []
    students = {
        s.sourced_id: s
        for s in db.scalars(
            select(Student).where(
                Student.board_id == board_id,
                Student.sourced_id.in_({r.get("student_id", "").strip() for r in rows}),
            )
        )
    }
    definitions = {
        (code, d.code): d
        for d, code in db.execute(
            select(ChoiceDefinition, Service.code)
            .join(Service, Service.id == ChoiceDefinition.service_id)
            .where(ChoiceDefinition.board_id == board_id)
        )
    }
    lines: list[_Line] = []
    for number, row in enumerate(rows, start=2):
        cell = {name: (row.get(name) or "").strip() for name in COLUMNS}

        def problem(column: str, message: str, value: str, line: int = number) -> None:
            report.problems.append((LineProblem(line, column, message), value))

        student = students.get(cell["student_id"])
        if student is None or student.status != "active":
            problem(
                "student_id",
                N_("No active student of this board has the roster id {value}."),
                cell["student_id"],
            )
        definition = definitions.get((cell["service"], cell["choice"]))
        if definition is None:
            problem(
                "choice", N_("This board offers no choice {value}."), f"{cell['service']} / {cell['choice']}"
            )
        categories = [c.strip() for c in cell["categories"].split(";") if c.strip()]
        if definition is not None:
            wrong = validate_choice(
                definition, cell["value"], categories if cell["value"] == "hide_some" else []
            )
            if wrong:
                problem("value", wrong, cell["value"])
        try:
            received_on = date.fromisoformat(cell["received_on"])
        except ValueError:
            problem("received_on", N_("Write the date as YYYY-MM-DD, not {value}."), cell["received_on"])
            received_on = date.min
        if received_on > datetime.now(TOKYO).date():
            problem("received_on", N_("The date {value} is in the future."), cell["received_on"])
        if cell["received_by"] not in RECEIVED_BY:
            problem(
                "received_by", N_("Use paper, email, phone or in_person, not {value}."), cell["received_by"]
            )
        if student is not None and definition is not None and not report.problems:
            lines.append(
                _Line(
                    number, student, definition, cell["value"], categories, received_on, cell["received_by"]
                )
            )
    return lines


def carry_over(
    db: Session,
    board_id: int,
    data: bytes,
    *,
    actor: Actor,
    dry_run: bool,
    notify: bool = False,
    base_url: str = "",
) -> CarryOverReport:
    """Check the whole file, then (unless `dry_run` or a problem) apply it; the caller commits.
    With `notify`, each guardian of a child whose choice was carried over gets one e-mail."""
    report = CarryOverReport()
    lines = _check(db, board_id, data, report)
    if report.problems:
        return report
    current = {
        (row.student_id, row.definition_id): row
        for row in db.scalars(
            select(CurrentChoice).where(CurrentChoice.student_id.in_({line.student.id for line in lines}))
        )
    }
    carried: list[Carried] = []
    for line in lines:
        in_force = current.get((line.student.id, line.definition.id))
        since = datetime.combine(line.received_on, time(0), TOKYO)
        if in_force is not None and in_force.effective_since >= since:
            # Only "hide some" is told apart by its kinds; "hide all" holds the list frozen with it.
            same = in_force.value == line.value and (
                line.value != "hide_some" or sorted(in_force.category_codes) == sorted(line.categories)
            )
            if same:
                report.unchanged += 1
            else:
                report.newer_in_tobira += 1  # the family's later word stands
            continue
        report.applied += 1
        if dry_run:
            continue
        event = record_confirmed(
            db,
            definition=line.definition,
            student_id=line.student.id,
            value=line.value,
            category_codes=line.categories if line.value == "hide_some" else [],
            channel="import",
            reason=f"carried over: received {line.received_on.isoformat()} by {line.received_by}",
            actor_account_id=actor.id if actor.type == "account" else None,
            received=(line.received_on, line.received_by),
        )
        row = db.scalar(select(CurrentChoice).where(CurrentChoice.event_id == event.id))
        assert row is not None
        row.effective_since = since  # in force since the school received it
        current[(line.student.id, line.definition.id)] = row
        carried.append(
            Carried(line.student, line.definition, line.value, list(event.category_codes), line.received_on)
        )
    if notify and not dry_run:
        report.emails = notify_guardians(db, board_id, carried, base_url=base_url)
    record(
        db,
        "choices.carried_over",
        actor=actor,
        board_id=board_id,
        details={
            "dry_run": dry_run,
            "applied": report.applied,
            "unchanged": report.unchanged,
            "newer_in_tobira": report.newer_in_tobira,
            "emails": report.emails,
        },
    )
    return report


def template_csv(db: Session, board_id: int, today: date | None = None) -> bytes:
    """A file to fill in: the header and one example line with this board's first choice
    (UTF-8 with BOM and CRLF, so it opens in Excel). Replace the example roster id with a
    student's and it imports as it stands."""
    row = db.execute(
        select(ChoiceDefinition, Service.code)
        .join(Service, Service.id == ChoiceDefinition.service_id)
        .where(
            ChoiceDefinition.board_id == board_id,
            ChoiceDefinition.status == "active",
            Service.status == "active",
        )
        .order_by(Service.code, ChoiceDefinition.code)
        .limit(1)
    ).first()
    today = today or datetime.now(TOKYO).date()
    school_year_start = date(today.year if today.month >= 4 else today.year - 1, 4, 1)
    service_code, choice_code, value = "dashboard", "dashboard_display", "hide_all"
    if row is not None:
        definition, service_code = row
        choice_code = definition.code
        others = [o for o in definition.options if o not in (definition.default_value, "hide_some")]
        value = others[0] if others else definition.default_value
    example = ["stu-0001", service_code, choice_code, value, "", school_year_start.isoformat(), "paper"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(example)
    return ("\ufeff" + out.getvalue()).encode("utf-8")

"""The opt-out list: effective (confirmed) choices that differ from their default.

Reads the `current_choices` projection only, so pending requests never appear. Rows are
read with `yield_per` (a server-side cursor on PostgreSQL) so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from app.domain.catalog.models import ChoiceDefinition, Service, ServiceVersion
from app.domain.catalog.queries import latest_version_ids
from app.domain.choices.models import CurrentChoice
from app.domain.choices.service import hidden_by
from app.domain.people.models import School, SchoolClass, Student
from app.domain.translations import service as translations
from app.i18n import gettext

RowSelect = Select[*tuple[Any, ...]]
TOKYO = ZoneInfo("Asia/Tokyo")

# (key, English header); headers are translated at write time.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("school_code", "School code"),
    ("school_name", "School name"),
    ("grade", "Grade"),
    ("class", "Class"),
    ("attendance_number", "Attendance number"),
    ("student_id", "Student roster id"),
    ("name", "Name"),
    ("kana", "Name (kana)"),
    ("service", "Service"),
    ("choice", "Choice"),
    ("value", "Value"),
    ("default", "Default"),
    ("effective_since", "Effective since"),
    ("channel", "Channel"),
)
KEYS = tuple(key for key, _label in COLUMNS)


def headers(lang: str) -> list[str]:
    return [gettext(label, lang) for _key, label in COLUMNS]


@dataclass(frozen=True)
class ExportFilters:
    """What a caller asked for; `school_ids` is the caller's scope (None = whole board)."""

    board_id: int
    school_ids: frozenset[int] | None = None
    school_code: str | None = None
    grade: str | None = None
    class_title: str | None = None
    service_code: str | None = None
    choice_code: str | None = None
    since: datetime | None = None

    def audit_details(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("board_id")
        data["school_ids"] = None if self.school_ids is None else sorted(self.school_ids)
        data["since"] = self.since.isoformat() if self.since else None
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class DefinitionInfo:
    service_code: str
    service_name: str
    choice: str
    definition: ChoiceDefinition | None = None


def definition_infos(db: Session, board_id: int, lang: str) -> dict[int, DefinitionInfo]:
    """Service names (latest version) and choice labels of a board, in `lang`; a board-wide
    choice (ADR 0092) has no service code and the service column says so."""
    rows = db.execute(
        select(ChoiceDefinition, Service.code, ServiceVersion.id, ServiceVersion.name)
        .outerjoin(Service, Service.id == ChoiceDefinition.service_id)
        .outerjoin(
            ServiceVersion,
            and_(
                ServiceVersion.service_id == Service.id,
                ServiceVersion.id.in_(latest_version_ids(board_id)),
            ),
        )
        .where(ChoiceDefinition.board_id == board_id)
    ).all()
    # Staff exports are in Japanese or English (the staff console's languages).
    texts = translations.load(db, lang, [board_id]) if lang != "ja" else {}
    infos: dict[int, DefinitionInfo] = {}
    for definition, code, version_id, name in rows:
        label = texts.get(("choice_definitions", definition.id, "label")) or definition.label
        if code is None:
            infos[definition.id] = DefinitionInfo(
                service_code="",
                service_name=gettext("Whole board", lang),
                choice=label,
                definition=definition,
            )
            continue
        infos[definition.id] = DefinitionInfo(
            service_code=code,
            service_name=texts.get(("service_versions", version_id, "name")) or name or code,
            choice=label,
            definition=definition,
        )
    return infos


def optout_select(filters: ExportFilters) -> RowSelect:
    """One row per (student, choice) whose effective value is not the default; with `since`,
    every (student, choice) whose value changed since then, withdrawals included."""
    statement: RowSelect = (
        select(
            School.code,
            School.name,
            Student.grade,
            SchoolClass.title,
            Student.attendance_number,
            Student.sourced_id,
            Student.family_name,
            Student.given_name,
            Student.family_name_kana,
            Student.given_name_kana,
            CurrentChoice.definition_id,
            CurrentChoice.value,
            case(
                (CurrentChoice.value.in_(("hide_some", "hide_all")), CurrentChoice.category_codes),
                else_=None,
            ),
            CurrentChoice.effective_since,
            CurrentChoice.channel,
        )
        .select_from(CurrentChoice)
        .join(ChoiceDefinition, ChoiceDefinition.id == CurrentChoice.definition_id)
        .join(Student, Student.id == CurrentChoice.student_id)
        .join(School, School.id == Student.school_id)
        .outerjoin(SchoolClass, SchoolClass.id == Student.class_id)
        .where(
            CurrentChoice.board_id == filters.board_id,
            Student.board_id == filters.board_id,
        )
    )
    if filters.since is None:
        statement = statement.where(CurrentChoice.value != ChoiceDefinition.default_value)
    else:
        # "Changes since": a family that asked to be shown again is a change too (a row with
        # the default value and the time it took effect), or the school would go on hiding.
        statement = statement.where(CurrentChoice.effective_since >= filters.since)
    if filters.school_ids is not None:
        statement = statement.where(Student.school_id.in_(sorted(filters.school_ids)))
    if filters.school_code:
        statement = statement.where(School.code == filters.school_code)
    if filters.grade:
        statement = statement.where(Student.grade == filters.grade)
    if filters.class_title:
        statement = statement.where(SchoolClass.title == filters.class_title)
    if filters.service_code:
        statement = statement.join(Service, Service.id == ChoiceDefinition.service_id).where(
            Service.code == filters.service_code
        )
    if filters.choice_code:
        statement = statement.where(ChoiceDefinition.code == filters.choice_code)
    return statement


def ordered(statement: RowSelect) -> RowSelect:
    return statement.order_by(
        School.code, Student.grade, SchoolClass.title, Student.attendance_number, Student.id, CurrentChoice.id
    )


def count_rows(db: Session, filters: ExportFilters) -> int:
    subquery = optout_select(filters).subquery()
    return int(db.scalar(select(func.count()).select_from(subquery)) or 0)


def format_value(value: str, category_codes: list[str] | None, info: DefinitionInfo) -> str:
    """`hide_some: grades, health` and `hide_all: …` list the kinds hidden, as the guardian read them."""
    if info.definition is None or value not in ("hide_some", "hide_all"):
        return value
    hidden = hidden_by(info.definition, value, category_codes or [])
    return f"{value}: {', '.join(hidden)}" if hidden else value


def iter_rows(
    db: Session, filters: ExportFilters, infos: dict[int, DefinitionInfo], *, batch: int = 2000
) -> Iterator[list[str]]:
    """Rows as lists of strings in COLUMNS order, streamed from the database."""
    # Core execution on the session's connection: no ORM row processing; yield_per makes
    # it a server-side cursor on PostgreSQL, read `batch` rows at a time.
    result = db.connection().execute(ordered(optout_select(filters)).execution_options(yield_per=batch))
    for row in result:
        (
            school_code,
            school_name,
            grade,
            class_title,
            attendance,
            sourced_id,
            family,
            given,
            family_kana,
            given_kana,
            definition_id,
            value,
            category_codes,
            since,
            channel,
        ) = row
        info = infos.get(definition_id) or DefinitionInfo("", "", "")
        yield [
            school_code,
            school_name,
            grade or "",
            class_title or "",
            "" if attendance is None else str(attendance),
            sourced_id,
            f"{family} {given}",
            f"{family_kana} {given_kana}".strip(),
            info.service_name,
            info.choice,
            format_value(value, category_codes, info),
            info.definition.default_value if info.definition is not None else "",
            since.astimezone(TOKYO).isoformat(timespec="seconds") if since else "",
            channel,
        ]

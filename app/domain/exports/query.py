"""The opt-out list: effective (confirmed) choices that differ from their default.

Reads the `current_choices` projection only, so pending requests never appear. Every coded
value (the choice value, the kinds of data it hides, the default, the channel) is written
twice, the code for machines and the words for the reader, in the export's language; the
column order below is documented in docs/staff.md and only ever grows at the end.

This module is the portable path (rows through SQLAlchemy, cells made in Python, read with
`yield_per`: a server-side cursor on PostgreSQL); `pg_rows` builds the same cells in
PostgreSQL, and the tests hold the two to the same bytes.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from app.domain.catalog.models import ChoiceDefinition, DataCategory, Service, ServiceVersion
from app.domain.catalog.queries import latest_version_ids
from app.domain.choices import labels
from app.domain.choices.models import CurrentChoice
from app.domain.choices.service import hidden_by
from app.domain.people.models import School, SchoolClass, Student
from app.domain.translations import service as translations
from app.i18n import N_, current_language, gettext

RowSelect = Select[*tuple[Any, ...]]
TOKYO = ZoneInfo("Asia/Tokyo")

# (key, English header); headers are translated at write time. A code column comes first,
# the same thing in words right after it.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("school_code", N_("School code")),
    ("school_name", N_("School name")),
    ("grade", N_("Grade")),
    ("class", N_("Class")),
    ("attendance_number", N_("Attendance number")),
    ("student_id", N_("Student roster id")),
    ("name", N_("Name")),
    ("kana", N_("Name (kana)")),
    ("service_code", N_("Service code")),
    ("service", N_("Service")),
    ("choice_code", N_("Choice code")),
    ("choice", N_("Choice")),
    ("value", N_("Value code")),
    ("value_label", N_("Value")),
    ("categories", N_("Kinds of data hidden (codes)")),
    ("category_labels", N_("Kinds of data hidden")),
    ("default", N_("Default code")),
    ("default_label", N_("Default")),
    ("effective_since", N_("Effective since")),
    ("channel", N_("Channel code")),
    ("channel_label", N_("Channel")),
)
KEYS = tuple(key for key, _label in COLUMNS)
# Values that carry a list of kinds of data (ADR 0080); other values hide nothing by kind.
CATEGORY_VALUES = ("hide_some", "hide_all")
# Every value and channel that has words (`labels.choice_value`, `labels.channel`).
KNOWN_VALUES = ("show", "hide", "hide_all", "hide_some", "allow", "deny")
KNOWN_CHANNELS = ("web", "paper", "phone", "in_person", "import")


def headers(lang: str) -> list[str]:
    return [gettext(label, lang) for _key, label in COLUMNS]


_TITLES = dict(COLUMNS)


def column_title(key: str, lang: str) -> str:
    """The header of a column as the reader sees it (「氏名」 for `name`)."""
    return gettext(_TITLES[key], lang)


@contextmanager
def _language(lang: str) -> Iterator[None]:
    token = current_language.set(lang)
    try:
        yield
    finally:
        current_language.reset(token)


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
    # Filled in by `load_words` from the definition: its code, its default and in words.
    choice_code: str = ""
    default: str = ""
    default_label: str = ""


UNKNOWN_DEFINITION = DefinitionInfo("", "", "")


@dataclass(frozen=True)
class Words:
    """Everything an export writes in words, in one language, read once per export."""

    lang: str
    infos: dict[int, DefinitionInfo]
    values: dict[str, str]  # choice value code → words
    channels: dict[str, str]  # channel code → words
    categories: dict[str, str]  # kind-of-data code → its name
    separator: str  # between the names of kinds of data: 「、」 or ", "
    _hidden: dict[tuple[int, str, tuple[str, ...]], tuple[str, str]] = field(default_factory=dict)

    def hidden(self, definition_id: int, value: str, chosen: list[str] | None) -> tuple[str, str]:
        """(codes, names) of the kinds of data a value hides: `grades guidance`,
        「成績・評価、生活指導」; empty for a value that hides nothing by kind."""
        key = (definition_id, value, tuple(chosen or ()))
        found = self._hidden.get(key)
        if found is None:
            info = self.infos.get(definition_id)
            codes: list[str] = []
            if info is not None and info.definition is not None and value in CATEGORY_VALUES:
                codes = hidden_by(info.definition, value, list(chosen or ()))
            found = (" ".join(codes), self.separator.join(self.categories.get(c, c) for c in codes))
            self._hidden[key] = found
        return found


def load_words(db: Session, board_id: int, lang: str) -> Words:
    with _language(lang):
        infos: dict[int, DefinitionInfo] = {}
        values = {code: labels.choice_value(code) for code in KNOWN_VALUES}
        for definition_id, info in definition_infos(db, board_id, lang).items():
            definition = info.definition
            if definition is not None:
                for code in [*definition.options, definition.default_value]:
                    values.setdefault(code, labels.choice_value(code))
                info = replace(
                    info,
                    choice_code=definition.code,
                    default=definition.default_value,
                    default_label=values[definition.default_value],
                )
            infos[definition_id] = info
        channels = {code: labels.channel(code) for code in KNOWN_CHANNELS}
        categories = category_names(db, lang)
    return Words(
        lang=lang,
        infos=infos,
        values=values,
        channels=channels,
        categories=categories,
        separator="、" if lang == "ja" else ", ",
    )


def category_names(db: Session, lang: str) -> dict[str, str]:
    """The kinds of data by code, named in `lang` (as `definition_infos` names services)."""
    # The vocabulary is shared by every board: its translations have no board.
    texts = translations.load(db, lang, []) if lang != "ja" else {}
    vocabulary = db.scalars(select(DataCategory))
    return {c.code: texts.get(("data_categories", c.id, "name")) or c.name for c in vocabulary}


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
    """School, grade, class, attendance number; a student without one of them after those
    with it (NULLS LAST, which SQLite and PostgreSQL would otherwise place differently)."""
    return statement.order_by(
        School.code,
        Student.grade.nulls_last(),
        SchoolClass.title.nulls_last(),
        Student.attendance_number.nulls_last(),
        Student.id,
        CurrentChoice.id,
    )


def count_rows(db: Session, filters: ExportFilters) -> int:
    subquery = optout_select(filters).subquery()
    return int(db.scalar(select(func.count()).select_from(subquery)) or 0)


def iter_rows(
    db: Session, filters: ExportFilters, words: Words, *, batch: int = 2000
) -> Generator[list[str]]:
    """Rows as lists of strings in COLUMNS order, streamed from the database."""
    # Core execution on the session's connection: no ORM row processing; yield_per makes
    # it a server-side cursor on PostgreSQL, read `batch` rows at a time.
    result = db.connection().execute(ordered(optout_select(filters)).execution_options(yield_per=batch))
    values, channels, infos = words.values, words.channels, words.infos
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
        info = infos.get(definition_id) or UNKNOWN_DEFINITION
        codes, names = words.hidden(definition_id, value, category_codes)
        yield [
            school_code,
            school_name,
            grade or "",
            class_title or "",
            "" if attendance is None else str(attendance),
            sourced_id,
            f"{family} {given}",
            f"{family_kana} {given_kana}".strip(" "),
            info.service_code,
            info.service_name,
            info.choice_code,
            info.choice,
            value,
            values.get(value, value),
            codes,
            names,
            info.default,
            info.default_label,
            since.astimezone(TOKYO).isoformat(timespec="seconds") if since else "",
            channel,
            channels.get(channel, channel),
        ]

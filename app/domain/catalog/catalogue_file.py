"""The catalogue as a file: one YAML or JSON document holding a board's whole catalogue.

`export_document` writes the board's services (each with its latest version, coverage rules and
choices) and its notice text as a plain dict; `read_document` reads a file back, checks it
against the published schema (`app/_resources/schemas/catalogue.schema.json`) and against the
board (category codes, school codes, homerooms, roster ids, duplicate codes) and returns typed
specs — or raises `CatalogueProblems` naming every problem by its path, e.g.
`services[3].subcontractors[1].country`. Nothing here writes; `catalogue_import` applies a file.
Coverage names schools by code, homerooms by title and students by roster id, never by row id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.catalog.changes import PROMISES as PROMISE_FIELDS
from app.domain.catalog.definitions import board_wide_definitions
from app.domain.catalog.models import ChoiceDefinition, DataCategory, Service, ServiceAssignment
from app.domain.catalog.service import (
    CategoryInput,
    NoticeText,
    PurposeInput,
    SubcontractorInput,
    Translations,
    VersionInput,
    current_notice,
    latest_versions,
    version_input_from,
)
from app.domain.people.models import GRADES, School, SchoolClass, Student
from app.domain.translations import service as translations
from app.errors import Invalid
from app.i18n import N_, gettext
from app.languages import KNOWN_LANGUAGES
from app.resources import SCHEMAS_DIR

FORMAT_VERSION = 1
MAX_BYTES = 2_000_000  # a catalogue of a few hundred services is well under this


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (a path into the document) and what (a msgid)."""

    path: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str | None = None) -> str:
        translated = gettext(self.message, lang)
        return f"{self.path}: {translated.format(**self.params) if self.params else translated}"


class CatalogueProblems(Invalid):
    """The file was refused whole; `problems` names each one by its path."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            N_("The catalogue file has {count} problem(s); nothing was changed."), count=len(problems)
        )
        self.problems = problems


@dataclass(frozen=True)
class RuleSpec:
    """One coverage rule as the file names it (a `students` list becomes one rule per student)."""

    school: str | None = None
    grade_from: str | None = None
    grade_to: str | None = None
    homeroom: str | None = None
    student: str | None = None


@dataclass
class ChoiceSpec:
    code: str
    kind: str
    options: list[str]
    default: str
    category_codes: list[str]
    label: str
    explanation: str
    path: str
    translations: Translations = field(default_factory=dict)


@dataclass
class ServiceSpec:
    code: str
    status: str
    data: VersionInput
    coverage: list[RuleSpec]
    choices: list[ChoiceSpec]
    path: str


@dataclass
class CatalogueSpec:
    services: list[ServiceSpec]
    notice: NoticeText | None
    choices: list[ChoiceSpec] = field(default_factory=list)  # not tied to one service (board-wide)


@lru_cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS_DIR / "catalogue.schema.json").read_text("utf-8"))
    return loaded


# ---------------------------------------------------------------------------------- export


def _text(ja: str, translations: Translations, name: str) -> dict[str, str]:
    """A text as the file writes it: {"ja": …} and each language it is translated into."""
    text = {"ja": ja}
    for lang in KNOWN_LANGUAGES:
        if lang != "ja" and (translated := translations.get(lang, {}).get(name)):
            text[lang] = translated
    return text


def _grades(grade_from: str | None, grade_to: str | None) -> str | None:
    low, high = normal_grades(grade_from, grade_to)
    if low is None:
        return None
    return low if low == high else f"{low}-{high}"


def normal_grades(grade_from: str | None, grade_to: str | None) -> tuple[str | None, str | None]:
    """A range with one open end is the same as one running to the first or last grade."""
    if grade_from is None and grade_to is None:
        return None, None
    return grade_from or GRADES[0], grade_to or GRADES[-1]


def coverage_of(db: Session, board_id: int) -> dict[int, list[RuleSpec]]:
    """Each service's coverage rules by school code, homeroom title and roster id (one query)."""
    rows = db.execute(
        select(ServiceAssignment, School.code, SchoolClass.title, Student.sourced_id)
        .outerjoin(School, School.id == ServiceAssignment.school_id)
        .outerjoin(SchoolClass, SchoolClass.id == ServiceAssignment.class_id)
        .outerjoin(Student, Student.id == ServiceAssignment.student_id)
        .where(ServiceAssignment.service_id.in_(_service_ids(board_id)))
        .order_by(ServiceAssignment.id)
    ).all()
    result: dict[int, list[RuleSpec]] = {}
    for rule, school, homeroom, student in rows:
        low, high = normal_grades(rule.grade_from, rule.grade_to)
        result.setdefault(rule.service_id, []).append(RuleSpec(school, low, high, homeroom, student))
    return result


def _service_ids(board_id: int) -> Any:
    return select(Service.id).where(Service.board_id == board_id)


def _rules_out(rules: list[RuleSpec]) -> list[dict[str, Any]]:
    """Rules differing only in the student are written as one rule with a `students` list."""
    grouped: dict[tuple[str | None, str | None, str | None], list[str]] = {}
    order: list[tuple[tuple[str | None, str | None, str | None], bool]] = []
    for rule in rules:
        key = (rule.school, _grades(rule.grade_from, rule.grade_to), rule.homeroom)
        if rule.student is None:
            order.append((key, False))
            continue
        if key not in grouped:
            grouped[key] = []
            order.append((key, True))
        grouped[key].append(rule.student)
    written = []
    for (school, grades, homeroom), with_students in order:
        entry: dict[str, Any] = {}
        if school is not None:
            entry["school"] = school
        if grades is not None:
            entry["grades"] = grades
        if homeroom is not None:
            entry["homeroom"] = homeroom
        if with_students:
            entry["students"] = grouped[(school, grades, homeroom)]
        written.append(entry)
    return written


def _subcontractors_out(subs: list[SubcontractorInput]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    roots: list[dict[str, Any]] = []
    for sub in subs:
        node: dict[str, Any] = {
            "name": _text(sub.name, sub.translations, "name"),
            "task": _text(sub.task, sub.translations, "task"),
            "data_items": _text(sub.data_items, sub.translations, "data_items"),
            "country": sub.country,
            "certifications": list(sub.certifications),
        }
        nodes.append(node)
        if sub.parent_index is None or sub.parent_index >= len(nodes) - 1:
            roots.append(node)
        else:
            nodes[sub.parent_index].setdefault("children", []).append(node)
    return roots


def version_out(data: VersionInput) -> dict[str, Any]:
    return {
        "use_group": data.use_group,
        "name": _text(data.name, data.translations, "name"),
        "description": _text(data.description, data.translations, "description"),
        "vendor": {
            "name": _text(data.vendor_name, data.translations, "vendor_name"),
            "policy_url": data.policy_url,
            "certifications": list(data.certifications),
            "data_centre_country": data.data_centre_country,
            "governing_law": _text(data.governing_law, data.translations, "governing_law"),
            "court": _text(data.court, data.translations, "court"),
            "backup_retention_days": data.backup_retention_days,
            "anonymized_statistics": data.anonymized_statistics,
            **{name: getattr(data, name) for name in PROMISE_FIELDS},
        },
        "categories": [
            {"code": c.code, "items": _text(c.items, c.translations, "items")} for c in data.categories
        ],
        "purposes": [
            {
                "text": _text(p.text, p.translations, "text"),
                **({"permitted_use": p.permitted_use} if p.permitted_use else {}),
            }
            for p in data.purposes
        ],
        "subcontractors": _subcontractors_out(data.subcontractors),
    }


def export_document(db: Session, board_id: int, board_code: str) -> dict[str, Any]:
    """The board's catalogue as the document the schema describes (latest versions only)."""
    coverage = coverage_of(db, board_id)
    # Every translation of the board in one statement (the shared vocabulary's are not written).
    texts = translations.load_many(db, [lang for lang in KNOWN_LANGUAGES if lang != "ja"], [board_id])
    services = []
    for view in latest_versions(db, board_id, include_retired=True):
        services.append(
            {
                "code": view.service.code,
                "status": view.service.status,
                **version_out(version_input_from(view.version, texts)),
                "coverage": _rules_out(coverage.get(view.service.id, [])),
                "choices": [_choice_out(d, texts) for d in view.definitions],
            }
        )
    document: dict[str, Any] = {"format_version": FORMAT_VERSION, "board": board_code}
    notice = current_notice(db, board_id)
    if notice is not None:
        held = _held(texts, "notice_versions", notice.id)
        document["notice"] = {
            "title": _text(notice.title, held, "title"),
            "body": _text(notice.body, held, "body"),
        }
    document["services"] = services
    # Choices not tied to one service (board-wide), offered to every active student.
    document["choices"] = [_choice_out(d, texts) for d in board_wide_definitions(db, board_id)]
    return document


def _held(texts: dict[tuple[str, str, int, str], str], kind: str, entity_id: int) -> Translations:
    held: Translations = {}
    for (lang, found_kind, found_id, name), text in texts.items():
        if found_kind == kind and found_id == entity_id:
            held.setdefault(lang, {})[name] = text
    return held


def _choice_out(d: ChoiceDefinition, texts: dict[tuple[str, str, int, str], str]) -> dict[str, Any]:
    held = _held(texts, "choice_definitions", d.id)
    return {
        "code": d.code,
        "kind": d.kind,
        "options": list(d.options),
        "default": d.default_value,
        "hideable_categories": list(d.category_codes),
        "label": _text(d.label, held, "label"),
        "explanation": _text(d.explanation, held, "explanation"),
    }


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(document: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    header = "# Tobira catalogue file — format: docs/catalogue-file.md\n"
    body: str = yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return header + body


# ---------------------------------------------------------------------------------- reading


def parse(raw: bytes, filename: str) -> Any:
    """The document in a file (JSON when it is named .json, else YAML; `safe_load` only)."""
    if len(raw) > MAX_BYTES:
        raise CatalogueProblems(
            [Problem("(file)", N_("The file is larger than {limit} MB."), {"limit": MAX_BYTES // 1_000_000})]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueProblems([Problem("(file)", N_("The file is not UTF-8 text."))]) from exc
    try:
        if filename.lower().endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise CatalogueProblems(
            [
                Problem(
                    f"(line {exc.lineno})",
                    N_("The file cannot be read as JSON: {detail}"),
                    {"detail": exc.msg},
                )
            ]
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"(line {mark.line + 1})" if mark is not None else "(file)"
        detail = str(getattr(exc, "problem", "") or exc)
        raise CatalogueProblems(
            [Problem(where, N_("The file cannot be read as YAML: {detail}"), {"detail": detail})]
        ) from exc


def path_of(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


TYPE_MESSAGES = {
    "string": N_("Write text here."),
    "boolean": N_("Write true or false here."),
    "integer": N_("Write a whole number here."),
    "array": N_("Write a list here."),
    "object": N_("Write named fields here."),
}


def _schema_problems(error: ValidationError) -> Iterator[Problem]:
    where = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        for name in error.validator_value:
            if name not in present:
                yield Problem(path_of([*where, name]), N_("This field is required."))
    elif kind == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        for name in error.instance:
            if name not in known:
                yield Problem(path_of([*where, name]), N_("This field is not part of the catalogue format."))
    elif kind == "type":
        expected = error.validator_value
        first = expected[0] if isinstance(expected, list) else expected
        yield Problem(path_of(where), TYPE_MESSAGES.get(first, N_("This value is not valid here.")))
    elif kind == "enum":
        yield Problem(
            path_of(where),
            N_("Choose one of: {choices}."),
            {"choices": ", ".join(str(v) for v in error.validator_value)},
        )
    elif kind == "const":
        yield Problem(path_of(where), N_("This must be {value}."), {"value": error.validator_value})
    elif kind == "pattern":
        yield Problem(path_of(where), error.schema.get("x-problem", N_("This value is not valid here.")))
    elif kind == "maxLength":
        yield Problem(path_of(where), N_("At most {limit} characters."), {"limit": error.validator_value})
    elif kind == "minLength":
        yield Problem(path_of(where), N_("This must not be empty."))
    elif kind in ("minimum", "maximum"):
        low, high = error.schema.get("minimum", 0), error.schema.get("maximum", "")
        yield Problem(path_of(where), N_("Write a number from {low} to {high}."), {"low": low, "high": high})
    elif kind == "uniqueItems":
        yield Problem(path_of(where), N_("Each value may appear only once."))
    elif kind == "minItems":
        yield Problem(path_of(where), N_("List at least {limit} entries."), {"limit": error.validator_value})
    else:
        yield Problem(path_of(where), N_("This value is not valid here."))


def schema_problems(document: Any) -> list[Problem]:
    validator = Draft202012Validator(schema())
    problems: list[Problem] = []
    for error in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_schema_problems(error))
    return problems


def _both(value: Any) -> tuple[str, dict[str, str]]:
    """The Japanese text and its translations by language, from {"ja": …, "en": …, "vi": …}."""
    value = value or {}
    others = {
        str(lang): str(text).strip() for lang, text in value.items() if lang != "ja" and str(text).strip()
    }
    return str(value.get("ja", "")).strip(), others


def _gather(**texts: dict[str, str]) -> Translations:
    """{field: {language: text}} turned into the {language: {field: text}} the catalogue takes."""
    gathered: Translations = {}
    for name, by_language in texts.items():
        for lang, text in by_language.items():
            gathered.setdefault(lang, {})[name] = text
    return gathered


def _subcontractors_in(
    nodes: list[dict[str, Any]], flat: list[SubcontractorInput], parent: int | None = None
) -> list[SubcontractorInput]:
    """The nested chain (委託 → 再委託) as the flat list the catalogue takes (parent by index)."""
    for node in nodes:
        name, name_t = _both(node["name"])
        task, task_t = _both(node.get("task"))
        items, items_t = _both(node.get("data_items"))
        flat.append(
            SubcontractorInput(
                name,
                task,
                items,
                node.get("country", "JP"),
                list(node.get("certifications", [])),
                parent,
                _gather(name=name_t, task=task_t, data_items=items_t),
            )
        )
        _subcontractors_in(node.get("children", []), flat, len(flat) - 1)
    return flat


def version_in(entry: dict[str, Any]) -> VersionInput:
    vendor = entry["vendor"]
    name, name_t = _both(entry["name"])
    description, description_t = _both(entry.get("description"))
    vendor_name, vendor_name_t = _both(vendor["name"])
    law, law_t = _both(vendor.get("governing_law", {"ja": "日本法", "en": "Japanese law"}))
    court, court_t = _both(vendor.get("court"))
    defaults = VersionInput(name="", use_group="", vendor_name="")
    return VersionInput(
        name=name,
        use_group=entry["use_group"],
        description=description,
        vendor_name=vendor_name,
        policy_url=vendor.get("policy_url", ""),
        certifications=list(vendor.get("certifications", [])),
        data_centre_country=vendor.get("data_centre_country", "JP"),
        governing_law=law,
        court=court,
        backup_retention_days=vendor.get("backup_retention_days"),
        anonymized_statistics=vendor.get("anonymized_statistics", "none"),
        **{name: vendor.get(name, getattr(defaults, name)) for name in PROMISE_FIELDS},
        categories=[_category_in(c) for c in entry.get("categories", [])],
        purposes=[_purpose_in(p) for p in entry.get("purposes", [])],
        subcontractors=_subcontractors_in(entry.get("subcontractors", []), []),
        translations=_gather(
            name=name_t,
            description=description_t,
            vendor_name=vendor_name_t,
            governing_law=law_t,
            court=court_t,
        ),
    )


def _category_in(entry: dict[str, Any]) -> CategoryInput:
    items, items_t = _both(entry.get("items"))
    return CategoryInput(entry["code"], items, _gather(items=items_t))


def _purpose_in(entry: dict[str, Any]) -> PurposeInput:
    text, text_t = _both(entry["text"])
    return PurposeInput(text, entry.get("permitted_use"), _gather(text=text_t))


def _rules_in(entries: list[dict[str, Any]]) -> list[RuleSpec]:
    rules: list[RuleSpec] = []
    for entry in entries:
        low, _sep, high = str(entry.get("grades", "")).partition("-")
        grade_from, grade_to = normal_grades(low or None, (high or low) or None)
        base = RuleSpec(entry.get("school"), grade_from, grade_to, entry.get("homeroom"))
        students = entry.get("students")
        if students:
            rules.extend(RuleSpec(base.school, grade_from, grade_to, base.homeroom, s) for s in students)
        else:
            rules.append(base)
    return rules


def _choice_in(entry: dict[str, Any], path: str) -> ChoiceSpec:
    label, label_t = _both(entry["label"])
    explanation, explanation_t = _both(entry.get("explanation"))
    return ChoiceSpec(
        code=entry["code"],
        kind=entry["kind"],
        options=list(entry["options"]),
        default=entry.get("default", entry["options"][0]),
        category_codes=list(entry.get("hideable_categories", [])),
        label=label,
        explanation=explanation,
        path=path,
        translations=_gather(label=label_t, explanation=explanation_t),
    )


def to_spec(document: dict[str, Any]) -> CatalogueSpec:
    """A document that passed `check` as typed specs."""
    services = []
    for i, entry in enumerate(document["services"]):
        path = f"services[{i}]"
        services.append(
            ServiceSpec(
                code=entry["code"],
                status=entry.get("status", "active"),
                data=version_in(entry),
                coverage=_rules_in(entry.get("coverage", [])),
                choices=[
                    _choice_in(c, f"{path}.choices[{j}]") for j, c in enumerate(entry.get("choices", []))
                ],
                path=path,
            )
        )
    notice = None
    if "notice" in document:
        title, title_t = _both(document["notice"]["title"])
        body, body_t = _both(document["notice"].get("body"))
        notice = NoticeText(title, body, _gather(title=title_t, body=body_t))
    choices = [_choice_in(c, f"choices[{i}]") for i, c in enumerate(document.get("choices", []))]
    return CatalogueSpec(services, notice, choices)


def read_document(db: Session, board_id: int, raw: bytes, filename: str) -> CatalogueSpec:
    """The file as specs, or CatalogueProblems naming every problem (schema and board checks)."""
    from app.domain.catalog.catalogue_checks import board_problems

    document = parse(raw, filename)
    problems = schema_problems(document)
    if isinstance(document, dict):
        problems += board_problems(db, board_id, document)
    if problems:
        raise CatalogueProblems(_unique(problems))
    return to_spec(document)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    return kept


def category_vocabulary(db: Session) -> set[str]:
    return set(db.scalars(select(DataCategory.code)))

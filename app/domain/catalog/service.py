"""Reading and publishing the service catalogue.

Publishing never edits a version: it adds version n+1 and a new board NoticeVersion whose
catalogue snapshot maps every service to the version guardians are now shown.
Announcing changes to guardians is the caller's next step (app.domain.choices.announcements).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db import utcnow
from app.domain.audit.service import Actor, record
from app.domain.catalog import coverage, published
from app.domain.catalog import definitions as choice_definitions
from app.domain.catalog.changes import Change, diff, is_material
from app.domain.catalog.models import (
    USE_GROUPS,
    ChoiceDefinition,
    DataCategory,
    NoticeVersion,
    Service,
    ServiceAssignment,
    ServicePurpose,
    ServiceVersion,
    ServiceVersionCategory,
    Subcontractor,
)
from app.domain.catalog.queries import latest_version_ids
from app.domain.people.models import GRADES, Student
from app.domain.translations import service as translations
from app.errors import Invalid
from app.i18n import N_


@dataclass
class ServiceView:
    service: Service
    version: ServiceVersion
    definitions: list[ChoiceDefinition] = field(default_factory=list)


# Translations of an input's Japanese texts: {language: {field: text}} (ADR 0101). They are
# not part of the published version (compare=False): a translation added or corrected is
# not a change guardians are told of, and a new version keeps those of unchanged texts.
Translations = dict[str, dict[str, str]]


@dataclass
class CategoryInput:
    code: str
    items: str = ""
    translations: Translations = field(default_factory=dict, compare=False)


@dataclass
class PurposeInput:
    text: str
    permitted_use: str | None = None
    translations: Translations = field(default_factory=dict, compare=False)


@dataclass
class SubcontractorInput:
    name: str
    task: str = ""
    data_items: str = ""
    country: str = "JP"
    certifications: list[str] = field(default_factory=list)
    # Index into the same list of the contractor that subcontracts to this one (再委託).
    parent_index: int | None = None
    translations: Translations = field(default_factory=dict, compare=False)


@dataclass
class VersionInput:
    name: str
    use_group: str
    vendor_name: str
    description: str = ""
    policy_url: str = ""
    certifications: list[str] = field(default_factory=list)
    data_centre_country: str = "JP"
    governing_law: str = "日本法"
    court: str = ""
    backup_retention_days: int | None = None
    erased_at_graduation: bool = True
    erased_at_contract_end: bool = True
    erasure_certificate: bool = False
    subcontracting_requires_approval: bool = True
    anonymized_statistics: str = "none"
    no_advertising: bool = True
    no_profiling: bool = True
    yearly_audit: bool = False
    incident_reporting: bool = True
    categories: list[CategoryInput] = field(default_factory=list)
    purposes: list[PurposeInput] = field(default_factory=list)
    subcontractors: list[SubcontractorInput] = field(default_factory=list)
    translations: Translations = field(default_factory=dict, compare=False)


@dataclass
class PublishResult:
    service: Service
    version: ServiceVersion
    previous: ServiceVersion | None
    # None when the caller publishes one notice for several changes (a catalogue import).
    notice: NoticeVersion | None
    changed: list[str]
    # Field by field, for guardians (empty for a new service); see catalog.changes.
    details: list[Change] = field(default_factory=list)

    @property
    def asks_review(self) -> bool:
        return is_material(self.details)


TEXT_FIELDS = (
    "name",
    "description",
    "vendor_name",
    "use_group",
)
LIST_FIELDS = ("categories", "purposes", "subcontractors")
VENDOR_FACT_FIELDS = tuple(
    f.name
    for f in fields(VersionInput)
    if f.name not in TEXT_FIELDS and f.name not in LIST_FIELDS and f.name != "translations"
)

_VERSION_LOADS = (
    selectinload(ServiceVersion.categories).joinedload(ServiceVersionCategory.category),
    selectinload(ServiceVersion.purposes),
    selectinload(ServiceVersion.subcontractors),
)


def _sort_key(view: ServiceView) -> tuple[int, str]:
    group = view.version.use_group
    return (USE_GROUPS.index(group) if group in USE_GROUPS else len(USE_GROUPS), view.version.name)


def latest_versions(db: Session, board_id: int, *, include_retired: bool = False) -> list[ServiceView]:
    query = (
        select(ServiceVersion)
        .options(selectinload(ServiceVersion.service), *_VERSION_LOADS)
        .where(ServiceVersion.id.in_(latest_version_ids(board_id)))
    )
    versions = list(db.scalars(query))
    if not include_retired:
        versions = [v for v in versions if v.service.status == "active"]
    definitions = _definitions_by_service(db, [v.service_id for v in versions])
    views = [ServiceView(v.service, v, definitions.get(v.service_id, [])) for v in versions]
    return sorted(views, key=_sort_key)


def _definitions_by_service(db: Session, service_ids: Sequence[int]) -> dict[int, list[ChoiceDefinition]]:
    result: dict[int, list[ChoiceDefinition]] = {}
    if not service_ids:
        return result
    query = (
        select(ChoiceDefinition)
        .where(ChoiceDefinition.service_id.in_(service_ids), ChoiceDefinition.status == "active")
        .order_by(ChoiceDefinition.id)
    )
    for definition in db.scalars(query):
        if definition.service_id is not None:
            result.setdefault(definition.service_id, []).append(definition)
    return result


def grade_in_range(grade: str | None, grade_from: str | None, grade_to: str | None) -> bool:
    if grade_from is None and grade_to is None:
        return True
    if grade is None or grade not in GRADES:
        return False
    position = GRADES.index(grade)
    low = GRADES.index(grade_from) if grade_from in GRADES else 0
    high = GRADES.index(grade_to) if grade_to in GRADES else len(GRADES) - 1
    return low <= position <= high


def _assignment_covers(assignment: ServiceAssignment, student: Student) -> bool:
    return (
        (assignment.student_id is None or assignment.student_id == student.id)
        and (assignment.school_id is None or assignment.school_id == student.school_id)
        and (assignment.class_id is None or assignment.class_id == student.class_id)
        and grade_in_range(student.grade, assignment.grade_from, assignment.grade_to)
    )


def services_for_student(db: Session, student: Student) -> list[ServiceView]:
    views = latest_versions(db, student.board_id)
    if not views:
        return []
    assignments = db.scalars(
        select(ServiceAssignment).where(ServiceAssignment.service_id.in_([v.service.id for v in views]))
    )
    covered = {a.service_id for a in assignments if _assignment_covers(a, student)}
    return [view for view in views if view.service.id in covered]


def current_notice(db: Session, board_id: int) -> NoticeVersion | None:
    return db.scalar(
        select(NoticeVersion)
        .where(NoticeVersion.board_id == board_id)
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    )


def version_input_from(
    version: ServiceVersion | published.Version, texts: Mapping[tuple[str, str, int, str], str] | None = None
) -> VersionInput:
    """Prefill an edit form from a version (categories, purposes, subcontractors loaded), or
    compare two versions as kept in memory (ADR 0095); with `texts` (`translations.load_many`),
    its translations too."""
    subs_of: Sequence[Subcontractor | published.SubcontractorRow] = version.subcontractors
    subcontractor_index = {s.id: i for i, s in enumerate(subs_of)}
    found = texts or {}
    languages = sorted({key[0] for key in found})

    def of(kind: str, entity_id: int) -> Translations:
        held: Translations = {}
        for lang in languages:
            for name in translations.TRANSLATABLE[kind]:
                if text := found.get((lang, kind, entity_id, name)):
                    held.setdefault(lang, {})[name] = text
        return held

    own = of("service_versions", version.id)
    cats = {c.id: of("service_version_categories", c.id) for c in version.categories}
    purposes = {p.id: of("service_purposes", p.id) for p in version.purposes}
    subs = {s.id: of("subcontractors", s.id) for s in subs_of}
    facts: dict[str, Any] = {name: getattr(version, name) for name in TEXT_FIELDS + VENDOR_FACT_FIELDS}
    facts["certifications"] = list(version.certifications)
    return VersionInput(
        **facts,
        categories=[CategoryInput(c.category.code, c.items, cats.get(c.id, {})) for c in version.categories],
        purposes=[PurposeInput(p.text, p.permitted_use, purposes.get(p.id, {})) for p in version.purposes],
        subcontractors=[
            SubcontractorInput(
                s.name,
                s.task,
                s.data_items,
                s.country,
                list(s.certifications),
                subcontractor_index.get(s.parent_id) if s.parent_id is not None else None,
                subs.get(s.id, {}),
            )
            for s in version.subcontractors
        ],
        translations=own,
    )


def _changes(previous: ServiceVersion | None, data: VersionInput) -> list[str]:
    if previous is None:
        return ["new_service"]
    before = version_input_from(previous)
    changed = []
    if any(getattr(before, n) != getattr(data, n) for n in TEXT_FIELDS):
        changed.append("text")
    if {(c.code, c.items) for c in before.categories} != {(c.code, c.items) for c in data.categories}:
        changed.append("categories")
    if before.purposes != data.purposes:
        changed.append("purposes")
    if any(getattr(before, n) != getattr(data, n) for n in VENDOR_FACT_FIELDS):
        changed.append("vendor_facts")
    if before.subcontractors != data.subcontractors:
        changed.append("subcontractors")
    return changed


def write_version(
    db: Session, service: Service, number: int, data: VersionInput, actor: Actor
) -> ServiceVersion:
    """Version `number` of `service`, without a notice (the demo seed writes one for all)."""
    codes = {c.code for c in data.categories}
    categories = {c.code: c for c in db.scalars(select(DataCategory).where(DataCategory.code.in_(codes)))}
    unknown = codes - categories.keys()
    if unknown:
        raise Invalid(fields={"categories": N_("Choose the kinds of data from the list.")})
    version = ServiceVersion(
        service_id=service.id,
        version=number,
        published_by_account_id=actor.id if actor.type == "account" else None,
        **{name: getattr(data, name) for name in TEXT_FIELDS + VENDOR_FACT_FIELDS},
    )
    version.certifications = list(data.certifications)
    version.categories = [
        ServiceVersionCategory(category_id=categories[c.code].id, items=c.items) for c in data.categories
    ]
    version.purposes = [
        ServicePurpose(text=p.text, permitted_use=p.permitted_use, sort_order=i)
        for i, p in enumerate(data.purposes)
    ]
    db.add(version)
    db.flush()
    written: list[Subcontractor] = []
    for i, sub in enumerate(data.subcontractors):
        parent = written[sub.parent_index] if sub.parent_index is not None and sub.parent_index < i else None
        row = Subcontractor(
            service_version_id=version.id,
            parent_id=parent.id if parent else None,
            name=sub.name,
            task=sub.task,
            data_items=sub.data_items,
            country=sub.country,
            certifications=list(sub.certifications),
            sort_order=i,
        )
        db.add(row)
        db.flush()
        written.append(row)
    db.refresh(version, attribute_names=["subcontractors"])
    _write_translations(db, service, version, data)
    return version


def _write_translations(db: Session, service: Service, version: ServiceVersion, data: VersionInput) -> None:
    """The translations of the texts this version keeps from the one before, then those the
    input brings (a form or the catalogue file)."""
    previous = db.scalar(
        select(ServiceVersion)
        .options(*_VERSION_LOADS)
        .where(ServiceVersion.service_id == service.id, ServiceVersion.version == version.version - 1)
    )
    board = service.board_id
    if previous is not None:
        translations.carry_forward(db, board, "service_versions", [(previous, version)])
        old_categories = {c.category_id: c for c in previous.categories}
        translations.carry_forward(
            db,
            board,
            "service_version_categories",
            [(old_categories.get(c.category_id), c) for c in version.categories],
        )
        old_purposes = {(p.text, p.permitted_use): p for p in previous.purposes}
        translations.carry_forward(
            db,
            board,
            "service_purposes",
            [(old_purposes.get((p.text, p.permitted_use)), p) for p in version.purposes],
        )
        old_subs = {s.name: s for s in previous.subcontractors}
        translations.carry_forward(
            db, board, "subcontractors", [(old_subs.get(s.name), s) for s in version.subcontractors]
        )
    translations.save(db, board, "service_versions", version.id, data.translations)
    for category_row, given in zip(version.categories, data.categories, strict=False):
        translations.save(db, board, "service_version_categories", category_row.id, given.translations)
    for purpose_row, purpose in zip(version.purposes, data.purposes, strict=False):
        translations.save(db, board, "service_purposes", purpose_row.id, purpose.translations)
    for sub_row, sub in zip(version.subcontractors, data.subcontractors, strict=False):
        translations.save(db, board, "subcontractors", sub_row.id, sub.translations)


@dataclass
class NoticeText:
    """What the board writes for guardians to read; the catalogue part is added at publish."""

    title: str
    body: str = ""
    translations: Translations = field(default_factory=dict)


DEFAULT_NOTICE = NoticeText(
    title="クラウドサービスにおける個人情報の取扱いについて",
    translations={"en": {"title": "How cloud services handle your child's personal data"}},
)


def publish_notice(
    db: Session,
    board_id: int,
    actor: Actor,
    changes: list[dict[str, object]],
    text: NoticeText | None = None,
) -> NoticeVersion:
    """Notice version n+1: the given text (else the current one) over the catalogue as it is now."""
    previous = current_notice(db, board_id)
    if text is None:
        text = NoticeText(previous.title, previous.body) if previous else DEFAULT_NOTICE
    snapshot = {str(view.service.id): view.version.id for view in latest_versions(db, board_id)}
    notice = NoticeVersion(
        board_id=board_id,
        version=(previous.version + 1) if previous else 1,
        published_by_account_id=actor.id if actor.type == "account" else None,
        title=text.title,
        body=text.body,
        catalogue={"service_versions": snapshot, "changes": changes},
    )
    db.add(notice)
    db.flush()
    translations.carry_forward(db, board_id, "notice_versions", [(previous, notice)])
    translations.save(db, board_id, "notice_versions", notice.id, text.translations)
    record(
        db,
        "notice.published",
        actor=actor,
        board_id=board_id,
        target_type="notice_version",
        target_id=notice.id,
        details={"version": notice.version, "changes": changes},
    )
    return notice


def create_service(
    db: Session, *, board_id: int, code: str, data: VersionInput, actor: Actor, notice: bool = True
) -> PublishResult:
    """`notice=False`: the caller publishes one notice for all its changes (publish_notice)."""
    service = Service(board_id=board_id, code=code)
    db.add(service)
    db.flush()
    return _publish(db, service, None, data, actor, notice)


def publish_service_version(
    db: Session, *, service: Service, data: VersionInput, actor: Actor, notice: bool = True
) -> PublishResult:
    previous = db.scalar(
        select(ServiceVersion)
        .options(*_VERSION_LOADS)
        .where(ServiceVersion.service_id == service.id)
        .order_by(ServiceVersion.version.desc())
        .limit(1)
    )
    return _publish(db, service, previous, data, actor, notice)


def _publish(
    db: Session,
    service: Service,
    previous: ServiceVersion | None,
    data: VersionInput,
    actor: Actor,
    with_notice: bool = True,
) -> PublishResult:
    changed = _changes(previous, data)
    details = diff(version_input_from(previous), data) if previous is not None else []
    version = write_version(db, service, (previous.version + 1) if previous else 1, data, actor)
    version.asks_review = is_material(details)
    version.coverage = coverage.snapshot(db, service.id)
    record(
        db,
        "service.published",
        actor=actor,
        board_id=service.board_id,
        target_type="service",
        target_id=service.id,
        details={"version": version.version, "changed": changed, "material": is_material(details)},
    )
    notice = (
        publish_notice(
            db,
            service.board_id,
            actor,
            [{"service_id": service.id, "version": version.version, "changed": changed}],
        )
        if with_notice
        else None
    )
    _follow_new_categories(db, service, details, actor)
    return PublishResult(service, version, previous, notice, changed, details)


def _follow_new_categories(db: Session, service: Service, details: list[Change], actor: Actor) -> None:
    """A kind of data the service now holds can be hidden like the others: choices that let
    guardians pick kinds of data offer it from this version on (earlier requests keep the
    list they were made with, ADR 0080)."""
    added = next((list(c["after"]) for c in details if c["field"] == "categories_added"), [])
    if not added:
        return
    definitions = db.scalars(
        select(ChoiceDefinition).where(
            ChoiceDefinition.service_id == service.id,
            ChoiceDefinition.kind == "categories",
            ChoiceDefinition.status == "active",
        )
    )
    for definition in definitions:
        new_codes = [code for code in added if code not in definition.category_codes]
        if not new_codes:
            continue
        wording = choice_definitions.Wording(definition.label, definition.explanation)
        choice_definitions.edit_definition(  # a new version of the choice: receipts keep the old list
            db,
            definition,
            wording=wording,
            category_codes=[*definition.category_codes, *new_codes],
            actor=actor,
        )
        record(
            db,
            "definition.categories_followed",
            actor=actor,
            board_id=service.board_id,
            target_type="choice_definition",
            target_id=definition.id,
            details={"added": new_codes},
        )
    db.flush()


def publish_coverage(db: Session, *, service: Service, actor: Actor) -> ServiceVersion:
    """Version n+1 with the same content and the coverage as it now is: who a service covers
    is part of its published record. Guardians see no change on the card (nothing they read
    changed) and no new notice is published; newly covered guardians are told by the caller
    (choices.jobs.request_coverage_announcement)."""
    previous = db.scalar(
        select(ServiceVersion)
        .options(*_VERSION_LOADS)
        .where(ServiceVersion.service_id == service.id)
        .order_by(ServiceVersion.version.desc())
        .limit(1)
    )
    assert previous is not None, "a service is created with its first version"
    version = write_version(db, service, previous.version + 1, version_input_from(previous), actor)
    version.coverage = coverage.snapshot(db, service.id)
    record(
        db,
        "service.published",
        actor=actor,
        board_id=service.board_id,
        target_type="service",
        target_id=service.id,
        details={"version": version.version, "changed": ["coverage"], "material": False},
    )
    db.flush()
    return version


def retire_service(
    db: Session, *, service: Service, actor: Actor, notice: bool = True
) -> NoticeVersion | None:
    service.status = "retired"
    service.retired_at = utcnow()
    db.flush()
    record(
        db,
        "service.retired",
        actor=actor,
        board_id=service.board_id,
        target_type="service",
        target_id=service.id,
    )
    if not notice:
        return None
    return publish_notice(db, service.board_id, actor, [{"service_id": service.id, "changed": ["retired"]}])


def retire_definition(db: Session, definition: ChoiceDefinition, *, actor: Actor) -> None:
    """Stop offering a choice; choices already made keep their history."""
    if definition.status != "active":
        return
    definition.status = "retired"
    definition.retired_at = utcnow()
    db.flush()
    record(
        db,
        "choice_definition.retired",
        actor=actor,
        board_id=definition.board_id,
        target_type="choice_definition",
        target_id=definition.id,
    )

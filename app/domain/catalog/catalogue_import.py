"""Importing a catalogue file: compare it with the board, say what would change, then change it.

`plan` compares the specs read from a file with the board and returns, per service, coverage
rule, choice and the notice, what an import would do (create / publish version n+1 / unchanged;
add / remove; retire) — or CatalogueProblems for what no import may do (change a choice in
place, bring back or edit a retired service). `apply` carries a plan out through the domain
services, so every change is audited and versioned as if made in the console: nothing
published is edited, a changed service gets version n+1, and the whole import publishes one
notice version (with the file's notice text when it differs). Importing the same file again
changes nothing but the import's own audit record. Flushes, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor, record
from app.domain.catalog import coverage as coverage_rules
from app.domain.catalog import definitions as choice_definitions
from app.domain.catalog import notices
from app.domain.catalog import service as catalog
from app.domain.catalog.catalogue_file import (
    CatalogueProblems,
    CatalogueSpec,
    ChoiceSpec,
    Problem,
    RuleSpec,
    ServiceSpec,
    coverage_of,
    normal_grades,
)
from app.domain.catalog.models import ChoiceDefinition, Service, ServiceAssignment, ServiceVersion
from app.domain.people.models import School, SchoolClass, Student
from app.domain.translations import service as translations
from app.errors import Invalid
from app.i18n import N_


@dataclass
class ServicePlan:
    spec: ServiceSpec
    service: Service | None
    action: str  # "create" | "publish" | "unchanged" | "retire"
    version: int = 1
    changed: list[str] = field(default_factory=list)
    rules_added: list[RuleSpec] = field(default_factory=list)
    rules_removed: list[tuple[int, RuleSpec]] = field(default_factory=list)
    rules_kept: int = 0
    choices_added: list[ChoiceSpec] = field(default_factory=list)
    choices_retired: list[ChoiceDefinition] = field(default_factory=list)
    choices_kept: int = 0


@dataclass
class Plan:
    board_id: int
    services: list[ServicePlan]
    left_alone: list[str]  # codes of the board's services the file does not list
    notice: catalog.NoticeText | None  # the text to publish, when it differs from the current one
    notice_changed: list[str]
    # Choices not tied to one service (board-wide).
    board_choices_added: list[ChoiceSpec] = field(default_factory=list)
    board_choices_retired: list[ChoiceDefinition] = field(default_factory=list)
    board_choices_kept: int = 0
    board_choices: list[ChoiceSpec] = field(default_factory=list)  # as the file lists them
    translations_changed: bool = False

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.notice is not None
            or self.translations_changed
            or self.board_choices_added
            or self.board_choices_retired
            or any(_touches(s) for s in self.services)
        )

    def lines(self) -> list[str]:
        """What the import does, one line per service, rule, choice and the notice (English)."""
        out = []
        for s in self.services:
            code = s.spec.code
            if s.action == "create":
                out.append(f"service {code}: create (version 1)")
            elif s.action == "publish":
                out.append(f"service {code}: publish version {s.version} ({', '.join(s.changed)})")
            elif s.action == "retire":
                out.append(f"service {code}: retire")
            else:
                out.append(f"service {code}: unchanged")
            out += [f"  coverage {code}: add {describe(r)}" for r in s.rules_added]
            out += [
                f"  coverage {code}: remove {describe(r)} (not in the file)" for _id, r in s.rules_removed
            ]
            if s.rules_kept:
                out.append(f"  coverage {code}: {s.rules_kept} rule(s) unchanged")
            out += [f"  choice {code}/{c.code}: add" for c in s.choices_added]
            out += [f"  choice {code}/{d.code}: retire (not in the file)" for d in s.choices_retired]
            if s.choices_kept:
                out.append(f"  choice {code}: {s.choices_kept} choice(s) unchanged")
        out += [f"service {code}: not in the file, left as it is" for code in self.left_alone]
        out += [f"choice (whole board)/{c.code}: add" for c in self.board_choices_added]
        out += [
            f"choice (whole board)/{d.code}: retire (not in the file)" for d in self.board_choices_retired
        ]
        if self.board_choices_kept:
            out.append(f"choice (whole board): {self.board_choices_kept} choice(s) unchanged")
        if self.notice is not None:
            out.append(f"notice: publish a new version ({', '.join(self.notice_changed)})")
        else:
            out.append("notice: unchanged")
        out.append(
            "translations: set as in the file" if self.translations_changed else "translations: unchanged"
        )
        return out


@dataclass
class ImportResult:
    plan: Plan
    published: list[catalog.PublishResult]
    notice: Any  # the NoticeVersion published, or None
    # Rules added to services that were not new, with the version holding them: the guardians
    # each brings in are told by the caller (choices.jobs.request_coverage_announcement).
    covered: list[tuple[Service, ServiceVersion, ServiceAssignment]] = field(default_factory=list)


def describe(rule: RuleSpec) -> str:
    parts = [
        f"school {rule.school}" if rule.school else "",
        f"grades {rule.grade_from}-{rule.grade_to}" if rule.grade_from else "",
        f"homeroom {rule.homeroom}" if rule.homeroom else "",
        f"student {rule.student}" if rule.student else "",
    ]
    return "{" + ", ".join(p for p in parts if p) + "}" if any(parts) else "{whole board}"


def _touches(s: ServicePlan) -> bool:
    return s.action != "unchanged" or bool(
        s.rules_added or s.rules_removed or s.choices_added or s.choices_retired
    )


def _tree(subs: list[catalog.SubcontractorInput]) -> Any:
    """The chain as nested tuples: the same tree written in another order is the same chain."""

    def children(parent: int | None) -> tuple[Any, ...]:
        return tuple(
            (replace(sub, parent_index=None), children(i))
            for i, sub in enumerate(subs)
            if sub.parent_index == parent
        )

    return children(None)


def same_version(before: catalog.VersionInput, after: catalog.VersionInput) -> bool:
    if _tree(before.subcontractors) != _tree(after.subcontractors):
        return False
    return replace(before, subcontractors=[]) == replace(after, subcontractors=[])


def _changed(before: catalog.VersionInput, after: catalog.VersionInput) -> list[str]:
    names = catalog.TEXT_FIELDS + catalog.VENDOR_FACT_FIELDS
    changed = [n for n in names if getattr(before, n) != getattr(after, n)]
    changed += [n for n in ("categories", "purposes") if getattr(before, n) != getattr(after, n)]
    if _tree(before.subcontractors) != _tree(after.subcontractors):
        changed.append("subcontractors")
    return changed


def _definition_matches(definition: ChoiceDefinition, spec: ChoiceSpec, followed: list[str]) -> bool:
    expected = [*definition.category_codes, *[c for c in followed if c not in definition.category_codes]]
    return (
        definition.kind == spec.kind
        and list(definition.options) == spec.options
        and definition.default_value == spec.default
        and set(expected if definition.kind == "categories" else definition.category_codes)
        == set(spec.category_codes)
        and (definition.label, definition.explanation) == (spec.label, spec.explanation)
    )


def plan(db: Session, board_id: int, spec: CatalogueSpec) -> Plan:
    """What importing `spec` into the board would do; CatalogueProblems when it may not."""
    existing = {s.code: s for s in db.scalars(select(Service).where(Service.board_id == board_id))}
    views = {v.service.id: v for v in catalog.latest_versions(db, board_id, include_retired=True)}
    definitions: dict[int, list[ChoiceDefinition]] = {}
    board_wide: list[ChoiceDefinition] = []
    for d in db.scalars(select(ChoiceDefinition).where(ChoiceDefinition.board_id == board_id)):
        if d.service_id is None:
            board_wide.append(d)
        else:
            definitions.setdefault(d.service_id, []).append(d)
    current_rules = coverage_of(db, board_id)
    rule_ids = dict(
        db.execute(
            select(ServiceAssignment.id, ServiceAssignment.service_id).where(
                ServiceAssignment.service_id.in_([s.id for s in existing.values()])
            )
        ).all()
    )
    problems: list[Problem] = []
    plans = []
    for entry in spec.services:
        service = existing.get(entry.code)
        view = views.get(service.id) if service else None
        if service is None or view is None:
            plans.append(ServicePlan(entry, None, "create", rules_added=_unique_rules(entry.coverage)))
            plans[-1].choices_added = list(entry.choices)
            continue
        before = catalog.version_input_from(view.version)
        same = same_version(before, entry.data)
        if service.status == "retired":
            if entry.status == "active":
                problems.append(
                    Problem(
                        f"{entry.path}.status",
                        N_("A retired service cannot be brought back; use a new code."),
                    )
                )
            elif not same:
                problems.append(Problem(entry.path, N_("A retired service cannot be changed.")))
            plans.append(ServicePlan(entry, service, "unchanged"))
            continue
        item = ServicePlan(entry, service, "unchanged")
        if not same:
            item.action, item.version = "publish", view.version.version + 1
            item.changed = _changed(before, entry.data)
        followed = [
            c.code for c in entry.data.categories if c.code not in {b.code for b in before.categories}
        ]
        _plan_rules(item, [r for r in _rule_pairs(current_rules, rule_ids, service.id)], entry.coverage)
        _plan_choices(item, definitions.get(service.id, []), entry, followed, problems)
        if entry.status == "retired":
            item.action = "retire"
        plans.append(item)
    wide_added, wide_retired, wide_kept = _compare_choices(board_wide, spec.choices, [], problems)
    if problems:
        raise CatalogueProblems(problems)
    notice_text, notice_changed = _plan_notice(db, board_id, spec.notice)
    left = sorted(
        code
        for code, s in existing.items()
        if code not in {e.code for e in spec.services} and s.status == "active"
    )
    return Plan(
        board_id,
        plans,
        left,
        notice_text,
        notice_changed,
        wide_added,
        wide_retired,
        wide_kept,
        list(spec.choices),
        _translations_differ(db, board_id, spec),
    )


def _rule_pairs(
    current: dict[int, list[RuleSpec]], rule_ids: dict[int, int], service_id: int
) -> list[tuple[int, RuleSpec]]:
    ids = sorted(i for i, s in rule_ids.items() if s == service_id)
    return list(zip(ids, current.get(service_id, []), strict=True))


def _unique_rules(rules: list[RuleSpec]) -> list[RuleSpec]:
    return list(dict.fromkeys(rules))


def _plan_rules(item: ServicePlan, current: list[tuple[int, RuleSpec]], wanted: list[RuleSpec]) -> None:
    have = {rule for _id, rule in current}
    want = set(wanted)
    item.rules_added = [r for r in _unique_rules(wanted) if r not in have]
    item.rules_removed = [(i, r) for i, r in current if r not in want]
    item.rules_kept = len([r for r in have if r in want])


def _plan_choices(
    item: ServicePlan,
    current: list[ChoiceDefinition],
    entry: ServiceSpec,
    followed: list[str],
    problems: list[Problem],
) -> None:
    item.choices_added, item.choices_retired, item.choices_kept = _compare_choices(
        current, entry.choices, followed, problems
    )


def _compare_choices(
    current: list[ChoiceDefinition], wanted: list[ChoiceSpec], followed: list[str], problems: list[Problem]
) -> tuple[list[ChoiceSpec], list[ChoiceDefinition], int]:
    """(to add, to retire, kept) for the choices in the file against those offered now."""
    by_code = {d.code: d for d in current}
    added: list[ChoiceSpec] = []
    kept = 0
    for choice in wanted:
        definition = by_code.get(choice.code)
        if definition is None and _form_kind(choice) not in choice_definitions.KINDS:
            problems.append(
                Problem(
                    choice.path, N_("Use one of the offered kinds of choice with its options and default.")
                )
            )
        elif definition is None:
            added.append(choice)
        elif definition.status != "active":
            problems.append(
                Problem(
                    f"{choice.path}.code", N_("A retired choice had this code; give the choice a new code.")
                )
            )
        elif not _definition_matches(definition, choice, followed):
            problems.append(
                Problem(
                    choice.path,
                    N_(
                        "A choice with this code is offered with other settings; a choice is not "
                        "changed in place: give it a new code."
                    ),
                )
            )
        else:
            kept += 1
    codes = {c.code for c in wanted}
    retired = [d for d in current if d.status == "active" and d.code not in codes]
    return added, retired, kept


def _plan_notice(
    db: Session, board_id: int, text: catalog.NoticeText | None
) -> tuple[catalog.NoticeText | None, list[str]]:
    if text is None:
        return None, []
    try:
        notices.check_text(text)
    except Invalid as exc:
        raise CatalogueProblems(
            [Problem(f"notice.{_notice_path(name)}", message) for name, message in exc.fields.items()]
        ) from exc
    current = catalog.current_notice(db, board_id)
    changed = [
        name for name in ("title", "body") if current is None or getattr(current, name) != getattr(text, name)
    ]
    if current is not None and not changed:
        held = translations.of_entities(db, "notice_versions", [current.id]).get(current.id, {})
        if held != {lang: texts for lang, texts in text.translations.items() if texts}:
            changed = ["translations"]
    return (text if changed else None), changed


def _notice_path(name: str) -> str:
    base, _sep, lang = name.partition("_")
    return f"{base}.{lang or 'ja'}"


def _rule_row(db: Session, board_id: int, rule: RuleSpec) -> coverage_rules.Rule:
    school_id = (
        db.scalar(select(School.id).where(School.board_id == board_id, School.code == rule.school))
        if rule.school
        else None
    )
    class_id = (
        db.scalar(
            select(SchoolClass.id)
            .where(SchoolClass.school_id == school_id, SchoolClass.title == rule.homeroom)
            .order_by(SchoolClass.school_year_id.desc())
            .limit(1)
        )
        if rule.homeroom
        else None
    )
    student_id = (
        db.scalar(select(Student.id).where(Student.board_id == board_id, Student.sourced_id == rule.student))
        if rule.student
        else None
    )
    low, high = normal_grades(rule.grade_from, rule.grade_to)
    return coverage_rules.Rule(school_id, low, high, class_id, student_id)


def apply(db: Session, the_plan: Plan, *, actor: Actor) -> ImportResult:
    """Carry out a plan: services, then coverage and choices, then one notice version."""
    board_id = the_plan.board_id
    published: list[catalog.PublishResult] = []
    changes: list[dict[str, object]] = []
    covered: list[tuple[Service, ServiceVersion, ServiceAssignment]] = []
    for item in the_plan.services:
        service = item.service
        result: catalog.PublishResult | None = None
        if item.action == "create" or (item.action in ("publish", "retire") and item.changed):
            if service is None:
                result = catalog.create_service(
                    db, board_id=board_id, code=item.spec.code, data=item.spec.data, actor=actor, notice=False
                )
            else:
                result = catalog.publish_service_version(
                    db, service=service, data=item.spec.data, actor=actor, notice=False
                )
            service = result.service
            published.append(result)
            changes.append(
                {"service_id": service.id, "version": result.version.version, "changed": result.changed}
            )
        assert service is not None
        added = [
            coverage_rules.add_rule(db, service, _rule_row(db, board_id, rule), actor=actor)
            for rule in item.rules_added
        ]
        for rule_id, _rule in item.rules_removed:
            coverage_rules.remove_rule(db, service, rule_id, actor=actor)
        if added or item.rules_removed:  # the coverage is part of the version (ADR 0093)
            if result is not None:  # the version this import is writing holds the new rules
                result.version.coverage = coverage_rules.snapshot(db, service.id)
                version = result.version
            else:
                version = catalog.publish_coverage(db, service=service, actor=actor)
            if item.service is not None:  # a new service is announced to everyone it covers
                covered += [(service, version, row) for row in added]
        for definition in item.choices_retired:
            catalog.retire_definition(db, definition, actor=actor)
        for choice in item.choices_added:
            _add_choice(db, service, choice, actor)
        if item.action == "retire" or (item.action == "create" and item.spec.status == "retired"):
            catalog.retire_service(db, service=service, actor=actor, notice=False)
            changes.append({"service_id": service.id, "changed": ["retired"]})
    for definition in the_plan.board_choices_retired:
        catalog.retire_definition(db, definition, actor=actor)
    for choice in the_plan.board_choices_added:
        _add_choice(db, None, choice, actor, board_id=board_id)
    _apply_translations(db, the_plan)
    notice = None
    if changes or the_plan.notice is not None:
        if the_plan.notice is not None:
            changes.append({"notice_text": the_plan.notice_changed})
        notice = catalog.publish_notice(db, board_id, actor, changes, the_plan.notice)
    record(
        db,
        "catalogue.imported",
        actor=actor,
        board_id=board_id,
        target_type="board",
        target_id=board_id,
        details=summary(the_plan),
    )
    return ImportResult(the_plan, published, notice, covered)


def _translation_targets(
    db: Session, board_id: int, services: list[ServiceSpec], choices: list[ChoiceSpec]
) -> list[tuple[str, int, catalog.Translations]]:
    """What the file says each existing text of the board is translated as: (kind, id, texts)."""
    views = {v.service.code: v for v in catalog.latest_versions(db, board_id, include_retired=True)}
    definitions = {
        (d.service_id, d.code): d
        for d in db.scalars(select(ChoiceDefinition).where(ChoiceDefinition.board_id == board_id))
    }
    targets: list[tuple[str, int, catalog.Translations]] = []
    for entry in services:
        view = views.get(entry.code)
        if view is None:
            continue
        data, version = entry.data, view.version
        targets.append(("service_versions", version.id, data.translations))
        by_code = {c.category.code: c for c in version.categories}
        targets += [
            ("service_version_categories", by_code[c.code].id, c.translations)
            for c in data.categories
            if c.code in by_code
        ]
        targets += [
            ("service_purposes", row.id, p.translations)
            for row, p in zip(version.purposes, data.purposes, strict=False)
        ]
        targets += [
            ("subcontractors", row.id, sub.translations)
            for row, sub in zip(version.subcontractors, data.subcontractors, strict=False)
        ]
        for choice in entry.choices:
            if (definition := definitions.get((view.service.id, choice.code))) is not None:
                targets.append(("choice_definitions", definition.id, choice.translations))
    for choice in choices:
        if (definition := definitions.get((None, choice.code))) is not None:
            targets.append(("choice_definitions", definition.id, choice.translations))
    return targets


def _translations_differ(db: Session, board_id: int, spec: CatalogueSpec) -> bool:
    for kind, entity_id, given in _translation_targets(db, board_id, spec.services, spec.choices):
        held = translations.of_entities(db, kind, [entity_id]).get(entity_id, {})
        if held != {lang: texts for lang, texts in given.items() if texts}:
            return True
    return False


def _apply_translations(db: Session, the_plan: Plan) -> None:
    """The file holds the whole catalogue, translations included: after an import each text
    of the services and choices it names is translated exactly as the file says (a
    translation is not a change of a version; ADR 0101)."""
    for kind, entity_id, given in _translation_targets(
        db, the_plan.board_id, [s.spec for s in the_plan.services], the_plan.board_choices
    ):
        translations.save(db, the_plan.board_id, kind, entity_id, given, replace=True)


def _add_choice(
    db: Session, service: Service | None, choice: ChoiceSpec, actor: Actor, *, board_id: int | None = None
) -> None:
    """Offer a choice from the file (service None: to the whole board), version 1 of its wording."""
    definition = choice_definitions.create_definition(
        db,
        board_id=service.board_id if service is not None else board_id or 0,
        service=service,
        code=choice.code,
        form_kind=_form_kind(choice),
        wording=choice_definitions.Wording(choice.label, choice.explanation, choice.translations),
        category_codes=choice.category_codes,
        actor=actor,
    )
    assert (list(definition.options), definition.default_value) == (list(choice.options), choice.default)


def _form_kind(choice: ChoiceSpec) -> str:
    """The kind a staff member would pick for these options and default (catalog.definitions)."""
    for name, kind in choice_definitions.KINDS.items():
        if (
            kind.kind == choice.kind
            and list(kind.options) == list(choice.options)
            and kind.default == choice.default
        ):
            return name
    return choice.kind


def summary(the_plan: Plan) -> dict[str, int]:
    count = {"created": 0, "published": 0, "unchanged": 0, "retired": 0}
    key = {"create": "created", "publish": "published", "unchanged": "unchanged", "retire": "retired"}
    for item in the_plan.services:
        count[key[item.action]] += 1
    count["coverage_added"] = sum(len(s.rules_added) for s in the_plan.services)
    count["coverage_removed"] = sum(len(s.rules_removed) for s in the_plan.services)
    count["choices_added"] = sum(len(s.choices_added) for s in the_plan.services)
    count["choices_retired"] = sum(len(s.choices_retired) for s in the_plan.services)
    count["choices_added"] += len(the_plan.board_choices_added)
    count["choices_retired"] += len(the_plan.board_choices_retired)
    count["notice_published"] = int(the_plan.notice is not None)
    return count

"""Choice kinds (ADR 0092): the forms a choice takes, board-wide choices, and new versions.

- A toggle is "show"/"hide" (default show) or "allow"/"deny" with either default: opt-out
  (default allow) or opt-in (default deny, e.g. photos in the school newsletter).
- A choice belongs to one service, or to the whole board (`service_id` null): offered to
  every guardian of every active student of the board.
- An edit of a choice's texts or hideable kinds of data never changes a published wording: it
  adds a `ChoiceDefinitionVersion` and moves the definition's columns to it. The definition id
  stays, so choices already made stay in force; each choice event records the version the
  guardian was shown, and its receipt shows that wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor, record
from app.domain.catalog.models import ChoiceDefinition, ChoiceDefinitionVersion, Service
from app.domain.translations import service as translations
from app.errors import Invalid
from app.i18n import N_


@dataclass(frozen=True)
class Kind:
    """What a staff member picks on the form, and what it becomes."""

    kind: str  # ChoiceDefinition.kind
    options: tuple[str, ...]
    default: str


KINDS: dict[str, Kind] = {
    "toggle": Kind("toggle", ("show", "hide"), "show"),
    "opt_out": Kind("toggle", ("allow", "deny"), "allow"),
    "opt_in": Kind("toggle", ("allow", "deny"), "deny"),
    "categories": Kind("categories", ("show", "hide_all", "hide_some"), "show"),
}


@dataclass(frozen=True)
class Wording:
    label: str
    explanation: str = ""
    # {language: {"label"|"explanation": text}}; not part of the published wording (ADR 0101).
    translations: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)


def snapshot(definition: ChoiceDefinition, account_id: int | None) -> ChoiceDefinitionVersion:
    return ChoiceDefinitionVersion(
        definition_id=definition.id,
        version=definition.version,
        options=list(definition.options),
        category_codes=list(definition.category_codes),
        label=definition.label,
        explanation=definition.explanation,
        created_by_account_id=account_id,
    )


def create_definition(
    db: Session,
    *,
    board_id: int,
    service: Service | None,
    code: str,
    form_kind: str,
    wording: Wording,
    category_codes: Sequence[str] = (),
    actor: Actor,
) -> ChoiceDefinition:
    """Offer a new choice about a service, or (service None) to the whole board; version 1."""
    kind = KINDS.get(form_kind)
    if kind is None:
        raise Invalid(fields={"kind": N_("Choose one of the offered options.")})
    if service is not None and service.status != "active":
        raise Invalid("This service has been retired.")
    taken = select(ChoiceDefinition.id).where(
        ChoiceDefinition.board_id == board_id, ChoiceDefinition.code == code
    )
    taken = taken.where(
        ChoiceDefinition.service_id == service.id
        if service is not None
        else ChoiceDefinition.service_id.is_(None)
    )
    if db.scalar(taken) is not None:
        raise Invalid(fields={"code": N_("A choice with this code already exists for this service.")})
    definition = ChoiceDefinition(
        board_id=board_id,
        service_id=service.id if service is not None else None,
        code=code,
        kind=kind.kind,
        options=list(kind.options),
        default_value=kind.default,
        category_codes=list(category_codes) if kind.kind == "categories" else [],
        label=wording.label[:300],
        explanation=wording.explanation,
        version=1,
    )
    db.add(definition)
    db.flush()
    translations.save(db, board_id, "choice_definitions", definition.id, wording.translations)
    db.add(snapshot(definition, actor.id if actor.type == "account" else None))
    db.flush()
    record(
        db,
        "choice_definition.created",
        actor=actor,
        board_id=board_id,
        target_type="choice_definition",
        target_id=definition.id,
        details={
            "service_id": definition.service_id,
            "code": code,
            "kind": kind.kind,
            "default": kind.default,
        },
    )
    return definition


def edit_definition(
    db: Session,
    definition: ChoiceDefinition,
    *,
    wording: Wording,
    category_codes: Sequence[str] | None = None,
    actor: Actor,
) -> ChoiceDefinitionVersion:
    """Publish a new version of a choice's wording (and, for a categories choice, the kinds
    of data it offers). The kind, options and default stay: another default is another choice."""
    if definition.status != "active":
        raise Invalid("This choice is no longer offered.")
    codes = list(category_codes) if category_codes is not None and definition.kind == "categories" else None
    new = Wording(wording.label[:300], wording.explanation)
    old = Wording(definition.label, definition.explanation)
    if new == old and (codes is None or codes == list(definition.category_codes)):
        raise Invalid(N_("Nothing has changed, so no new version was published."))
    account_id = actor.id if actor.type == "account" else None
    existing = db.scalar(
        select(ChoiceDefinitionVersion.id).where(
            ChoiceDefinitionVersion.definition_id == definition.id,
            ChoiceDefinitionVersion.version == definition.version,
        )
    )
    if existing is None:  # a definition written before versions were kept: keep its wording first
        db.add(snapshot(definition, None))
    previous = definition.version
    definition.version = previous + 1
    # A translation of a text that changed no longer says the same: it goes, unless given anew.
    stale = [name for name in ("label", "explanation") if getattr(new, name) != getattr(old, name)]
    held = translations.of_entities(db, "choice_definitions", [definition.id]).get(definition.id, {})
    renewed = {lang: {name: "" for name in stale} for lang in held}
    for lang, texts in wording.translations.items():
        renewed.setdefault(lang, {}).update(texts)
    definition.label, definition.explanation = new.label, new.explanation
    translations.save(db, definition.board_id, "choice_definitions", definition.id, renewed)
    if codes is not None:
        definition.category_codes = codes
    version = snapshot(definition, account_id)
    db.add(version)
    db.flush()
    record(
        db,
        "choice_definition.edited",
        actor=actor,
        board_id=definition.board_id,
        target_type="choice_definition",
        target_id=definition.id,
        details={"version": definition.version, "previous_version": previous},
    )
    return version


def versions_of(db: Session, definition_id: int) -> list[ChoiceDefinitionVersion]:
    return list(
        db.scalars(
            select(ChoiceDefinitionVersion)
            .where(ChoiceDefinitionVersion.definition_id == definition_id)
            .order_by(ChoiceDefinitionVersion.version)
        )
    )


def wordings(db: Session, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], ChoiceDefinitionVersion]:
    """(definition id, version) → that version's wording, in one statement."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = db.scalars(
        select(ChoiceDefinitionVersion).where(
            tuple_(ChoiceDefinitionVersion.definition_id, ChoiceDefinitionVersion.version).in_(wanted)
        )
    )
    return {(row.definition_id, row.version): row for row in rows}


def board_wide_definitions(
    db: Session, board_id: int, *, include_retired: bool = False
) -> list[ChoiceDefinition]:
    """The board's choices not tied to one service (offered to every active student)."""
    query = select(ChoiceDefinition).where(
        ChoiceDefinition.board_id == board_id, ChoiceDefinition.service_id.is_(None)
    )
    if not include_retired:
        query = query.where(ChoiceDefinition.status == "active")
    return list(db.scalars(query.order_by(ChoiceDefinition.id)))

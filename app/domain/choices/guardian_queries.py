"""Page queries for guardians: their children, and what each service holds about a child.

Every query starts from the guardian ids the signed-in account acts for; a student not
linked to one of them is simply not found (the router answers 404).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.db import utcnow
from app.domain.accounts.models import Account
from app.domain.catalog.changes import Change, diff
from app.domain.catalog.definitions import board_wide_definitions
from app.domain.catalog.models import (
    USE_GROUPS,
    ChoiceDefinition,
    GuardianServiceView,
    ServiceVersion,
    ServiceVersionCategory,
    Subcontractor,
)
from app.domain.catalog.service import ServiceView, services_for_student, version_input_from
from app.domain.choices.models import ChoiceEvent
from app.domain.choices.queries import latest_confirmation_links, pending_requests_for
from app.domain.choices.reviews import PendingReview, pending_reviews
from app.domain.choices.service import Effective, effective_choices
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.tokens.models import OneTimeToken


@dataclass
class Child:
    student: Student  # school and homeroom eagerly loaded
    guardian_id: int  # the guardian (acted for by this account) linked to the student


def _child_query(guardian_ids: list[int]) -> Select[Student, int]:
    return (
        select(Student, GuardianStudent.guardian_id)
        .join(GuardianStudent, GuardianStudent.student_id == Student.id)
        .options(joinedload(Student.school), joinedload(Student.school_class))
        .where(
            GuardianStudent.guardian_id.in_(guardian_ids),
            GuardianStudent.status == "active",
            Student.status == "active",
        )
        .order_by(Student.grade.desc(), Student.id, GuardianStudent.guardian_id)
    )


def children_of(db: Session, guardian_ids: list[int]) -> list[Child]:
    if not guardian_ids:
        return []
    seen: dict[int, Child] = {}
    for student, guardian_id in db.execute(_child_query(guardian_ids)).unique():
        seen.setdefault(student.id, Child(student, guardian_id))
    return list(seen.values())


def find_child(db: Session, guardian_ids: list[int], student_id: int) -> Child | None:
    if not guardian_ids:
        return None
    row = db.execute(_child_query(guardian_ids).where(Student.id == student_id)).unique().first()
    return Child(row[0], row[1]) if row else None


def guardians_of(db: Session, student_id: int) -> list[Guardian]:
    """Every active guardian the roster links to this student."""
    return list(
        db.scalars(
            select(Guardian)
            .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
            .where(
                GuardianStudent.student_id == student_id,
                GuardianStudent.status == "active",
                Guardian.status == "active",
            )
            .order_by(Guardian.id)
        )
    )


@dataclass
class PendingRequest:
    event: ChoiceEvent
    token: OneTimeToken | None  # the latest confirmation link sent for it

    @property
    def link_expired(self) -> bool:
        return self.token is None or self.token.expires_at <= utcnow()


@dataclass
class ChoiceState:
    definition: ChoiceDefinition
    effective: Effective
    pending: PendingRequest | None = None
    error: str | None = None
    # What the guardian had selected when the form came back with an error.
    form_value: str | None = None
    form_codes: list[str] = field(default_factory=list)
    # The board published a new notice after the page was opened: nothing was recorded.
    notice_changed: bool = False

    @property
    def selected_value(self) -> str:
        if self.form_value is not None:
            return self.form_value
        if self.pending is not None:
            return self.pending.event.value
        return self.effective.value

    @property
    def selected_codes(self) -> list[str]:
        if self.form_value is not None:
            return self.form_codes
        if self.pending is not None:
            return list(self.pending.event.category_codes)
        return self.effective.category_codes


@dataclass
class ServiceCard:
    view: ServiceView
    choices: list[ChoiceState]
    # What changed since the guardian last looked (app.domain.catalog.changes entries).
    changes: list[Change] = field(default_factory=list)
    # A material change the guardian has not reviewed yet, and that change in words.
    review: PendingReview | None = None
    review_changes: list[Change] = field(default_factory=list)
    is_new: bool = False
    # parent id (None = the vendor's direct subcontractors) → subcontractors
    subcontractor_tree: dict[int | None, list[Subcontractor]] = field(default_factory=dict)


def choice_states(
    db: Session,
    student_id: int,
    definitions: Sequence[ChoiceDefinition],
    effective: dict[tuple[int, int], Effective],
) -> dict[int, ChoiceState]:
    """Definition id → its state for this student: two statements for any number of choices."""
    pending = pending_requests_for(db, [student_id], [d.id for d in definitions])
    latest = {key: events[-1] for key, events in pending.items()}
    links = latest_confirmation_links(db, [event.id for event in latest.values()])
    states: dict[int, ChoiceState] = {}
    for definition in definitions:
        state = ChoiceState(definition=definition, effective=effective[(student_id, definition.id)])
        request = latest.get((student_id, definition.id))
        if request is not None:
            state.pending = PendingRequest(request, links.get(request.id))
        states[definition.id] = state
    return states


def choice_state(db: Session, student_id: int, definition: ChoiceDefinition) -> ChoiceState:
    effective = effective_choices(db, [student_id], [definition])
    return choice_states(db, student_id, [definition], effective)[definition.id]


def version_changes(old: ServiceVersion, new: ServiceVersion) -> list[Change]:
    """What differs between two versions, field by field (put in words on the card); nothing
    when only the coverage changed."""
    return diff(version_input_from(old), version_input_from(new))


def _load_versions(db: Session, ids: set[int]) -> dict[int, ServiceVersion]:
    if not ids:
        return {}
    rows = db.scalars(
        select(ServiceVersion)
        .options(
            selectinload(ServiceVersion.categories).joinedload(ServiceVersionCategory.category),
            selectinload(ServiceVersion.purposes),
            selectinload(ServiceVersion.subcontractors),
        )
        .where(ServiceVersion.id.in_(ids))
    )
    return {v.id: v for v in rows}


def subcontractor_tree(version: ServiceVersion) -> dict[int | None, list[Subcontractor]]:
    known = {s.id for s in version.subcontractors}
    tree: dict[int | None, list[Subcontractor]] = defaultdict(list)
    for sub in version.subcontractors:
        parent = sub.parent_id if sub.parent_id in known else None
        tree[parent].append(sub)
    return dict(tree)


def service_cards(db: Session, child: Child, *, mark_seen: bool = True) -> list[ServiceCard]:
    """Every service covering the child, with choices and what changed since the last look.

    With `mark_seen` the guardian's view of each service is moved to the current version.
    """
    return child_choices(db, child, mark_seen=mark_seen)[0]


def child_choices(
    db: Session, child: Child, *, mark_seen: bool = True
) -> tuple[list[ServiceCard], list[ChoiceState]]:
    """The service cards, and the board-wide choices (ADR 0092) read with the same statements."""
    student = child.student
    views = services_for_student(db, student)
    board_wide = board_wide_definitions(db, student.board_id)
    definitions = [d for view in views for d in view.definitions] + board_wide
    effective = effective_choices(db, [student.id], definitions) if definitions else {}
    seen = {
        row.service_id: row
        for row in db.scalars(
            select(GuardianServiceView).where(
                GuardianServiceView.guardian_id == child.guardian_id,
                GuardianServiceView.student_id == student.id,
            )
        )
    }
    owed = pending_reviews(db, child.guardian_id, student.id)
    old_versions = _load_versions(
        db,
        {
            row.service_version_id
            for service_id, row in seen.items()
            if any(v.service.id == service_id and v.version.id != row.service_version_id for v in views)
        }
        | {r.previous_version_id for r in owed.values() if r.previous_version_id is not None},
    )
    states = choice_states(db, student.id, definitions, effective)
    cards: list[ServiceCard] = []
    now = utcnow()
    for view in views:
        card = ServiceCard(
            view=view,
            choices=[states[d.id] for d in view.definitions],
            subcontractor_tree=subcontractor_tree(view.version),
            review=owed.get(view.service.id),
        )
        if card.review is not None and card.review.previous_version_id in old_versions:
            card.review_changes = version_changes(old_versions[card.review.previous_version_id], view.version)
        row = seen.get(view.service.id)
        if row is None:
            card.is_new = bool(seen)
            if mark_seen:
                db.add(
                    GuardianServiceView(
                        guardian_id=child.guardian_id,
                        student_id=student.id,
                        service_id=view.service.id,
                        service_version_id=view.version.id,
                        seen_at=now,
                    )
                )
        elif row.service_version_id != view.version.id:
            old = old_versions.get(row.service_version_id)
            if old is not None:
                card.changes = version_changes(old, view.version)
            if mark_seen:
                row.service_version_id = view.version.id
                row.seen_at = now
        cards.append(card)
    db.flush()
    return cards, [states[d.id] for d in board_wide]


def group_cards(cards: list[ServiceCard]) -> list[tuple[str, list[ServiceCard]]]:
    """Cards grouped by use, in the order of the Saitama notice (seed 000)."""
    groups: dict[str, list[ServiceCard]] = {group: [] for group in USE_GROUPS}
    for card in cards:
        groups.setdefault(card.view.version.use_group, []).append(card)
    return [(group, items) for group, items in groups.items() if items]


def find_definition(db: Session, student: Student, definition_id: int) -> ChoiceDefinition | None:
    """Only active definitions of services that cover this child can be set for this child
    (an id from another service, school or board is simply not found); a board-wide choice
    can be set for every active child of its board."""
    board_wide = db.scalar(
        select(ChoiceDefinition).where(
            ChoiceDefinition.id == definition_id,
            ChoiceDefinition.board_id == student.board_id,
            ChoiceDefinition.service_id.is_(None),
            ChoiceDefinition.status == "active",
        )
    )
    if board_wide is not None:
        return board_wide
    for view in services_for_student(db, student):
        for definition in view.definitions:
            if definition.id == definition_id:
                return definition
    return None


def history_actor_kinds(db: Session, events: list[ChoiceEvent]) -> dict[int, str]:
    """Account id → "guardian" | "staff" for the actors of these events."""
    ids = {e.actor_account_id for e in events if e.actor_account_id is not None}
    if not ids:
        return {}
    return {
        row.id: row.kind for row in db.execute(select(Account.id, Account.kind).where(Account.id.in_(ids)))
    }


def request_states(db: Session, events: list[ChoiceEvent]) -> dict[int, str]:
    """State of every `requested` event: what later event (if any) closed it."""
    requested = [e.id for e in events if e.kind == "requested"]
    closing = {e.request_id: e.kind for e in events if e.request_id is not None and e.kind != "requested"}
    return {rid: closing.get(rid, "pending") for rid in requested}

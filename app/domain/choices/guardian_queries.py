"""Page queries for guardians: their children, and what each service holds about a child.

Every query starts from the guardian ids the signed-in account acts for; a student not
linked to one of them is simply not found (the router answers 404).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, exists, insert, literal, or_, select, union_all, update
from sqlalchemy.orm import Session, aliased, joinedload

from app.db import utcnow
from app.domain.accounts.models import Account
from app.domain.boards.models import Board
from app.domain.catalog import published
from app.domain.catalog.changes import Change, diff
from app.domain.catalog.models import USE_GROUPS, ChoiceDefinition, GuardianServiceView, ServiceReview
from app.domain.catalog.service import version_input_from
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.choices.queries import CONFIRMATION_PURPOSE, Word, family_words, gather_words
from app.domain.choices.reviews import PendingReview
from app.domain.choices.service import Effective
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.tokens.models import OneTimeToken


@dataclass
class Child:
    student: Student  # school and homeroom eagerly loaded
    guardian_id: int  # the guardian (acted for by this account) linked to the student
    guardian: Guardian
    # The board's catalogue version, read with the child in this transaction (ADR 0095).
    catalogue_version: int = 0

    def catalogue(self, db: Session) -> published.Catalogue:
        return published.catalogue(db, self.student.board_id, self.catalogue_version)


def _child_query(guardian_ids: list[int]) -> Select[Student, int, Guardian, int]:
    return (
        select(Student, GuardianStudent.guardian_id, Guardian, Board.catalogue_version)
        .join(GuardianStudent, GuardianStudent.student_id == Student.id)
        .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
        .join(Board, Board.id == Student.board_id)
        .options(joinedload(Student.school), joinedload(Student.school_class))
        .where(
            GuardianStudent.guardian_id.in_(guardian_ids),
            GuardianStudent.status == "active",
            Student.status == "active",
        )
        .order_by(Student.grade.desc(), Student.id, GuardianStudent.guardian_id)
    )


def _children(rows: Any) -> list[Child]:
    seen: dict[int, Child] = {}
    for student, guardian_id, guardian, version in rows:
        seen.setdefault(student.id, Child(student, guardian_id, guardian, int(version)))
    return list(seen.values())


def children_of(db: Session, guardian_ids: list[int]) -> list[Child]:
    if not guardian_ids:
        return []
    return _children(db.execute(_child_query(guardian_ids)).unique())


def find_child(db: Session, guardian_ids: list[int], student_id: int) -> Child | None:
    if not guardian_ids:
        return None
    found = _children(db.execute(_child_query(guardian_ids).where(Student.id == student_id)).unique())
    return found[0] if found else None


def child_and_siblings(
    db: Session, guardian_ids: list[int], student_id: int
) -> tuple[Child | None, list[Child]]:
    """The child (None when not one of the account's) and every child, in one statement."""
    siblings = children_of(db, guardian_ids)
    return next((c for c in siblings if c.student.id == student_id), None), siblings


def child_for_choice(
    db: Session, guardian_ids: list[int], student_id: int, definition_id: int
) -> tuple[Child, Word | None, bool] | None:
    """What setting a choice needs, in one statement: the child (None when not one of the
    account's), the family's word on that choice, and whether the guardian still owes a
    review of its service (ADR 0090)."""
    if not guardian_ids:
        return None
    event, current, token = aliased(ChoiceEvent), aliased(CurrentChoice), aliased(OneTimeToken)
    in_force = select(CurrentChoice.event_id).where(
        CurrentChoice.student_id == student_id, CurrentChoice.definition_id == definition_id
    )
    closed = select(ChoiceEvent.request_id).where(
        ChoiceEvent.student_id == student_id, ChoiceEvent.request_id.is_not(None)
    )
    owes = (
        exists()
        .where(
            ServiceReview.guardian_id == GuardianStudent.guardian_id,
            ServiceReview.student_id == Student.id,
            ServiceReview.reviewed_at.is_(None),
            ServiceReview.service_id
            == select(ChoiceDefinition.service_id)
            .where(ChoiceDefinition.id == definition_id)
            .scalar_subquery(),
        )
        .label("owes_review")
    )
    query = (
        _child_query(guardian_ids)
        .add_columns(owes, event, current, token)
        .outerjoin(
            event,
            and_(
                event.student_id == Student.id,
                event.definition_id == definition_id,
                or_(event.id.in_(in_force), and_(event.kind == "requested", event.id.not_in(closed))),
            ),
        )
        .outerjoin(current, current.event_id == event.id)
        .outerjoin(
            token,
            and_(
                event.kind == "requested",
                token.choice_event_id == event.id,
                token.purpose == CONFIRMATION_PURPOSE,
            ),
        )
        .where(Student.id == student_id)
        .order_by(event.id, token.id)
    )
    rows = db.execute(query).all()
    if not rows:
        return None
    student, guardian_id, guardian, version = rows[0][:4]
    mine = [r for r in rows if r[1] == guardian_id]
    words = gather_words([(r[5], r[6], r[7]) for r in mine if r[5] is not None])
    return Child(student, guardian_id, guardian, int(version)), words.get(definition_id), bool(mine[0][4])


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
    definition: published.Definition
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
    view: published.PublishedService
    choices: list[ChoiceState]
    # What changed since the guardian last looked (app.domain.catalog.changes entries).
    changes: list[Change] = field(default_factory=list)
    # A material change the guardian has not reviewed yet, and that change in words.
    review: PendingReview | None = None
    review_changes: list[Change] = field(default_factory=list)
    is_new: bool = False
    # parent id (None = the vendor's direct subcontractors) → subcontractors
    subcontractor_tree: dict[int | None, list[published.SubcontractorRow]] = field(default_factory=dict)


def state_of(definition: published.Definition, word: Word | None) -> ChoiceState:
    """The state of a choice from the family's word on it (app.domain.choices.queries)."""
    if word is None or word.current is None:
        effective = Effective(definition.default_value, [], None, None, None)
    else:
        c = word.current
        effective = Effective(c.value, list(c.category_codes), c.effective_since, c.channel, c.event_id)
    state = ChoiceState(definition=definition, effective=effective)
    if word is not None and word.pending:
        request, token = word.pending[-1]
        state.pending = PendingRequest(request, token)
    return state


def choice_state(db: Session, student_id: int, definition: published.Definition) -> ChoiceState:
    return state_of(definition, family_words(db, student_id, [definition.id]).get(definition.id))


def version_changes(old: published.Version, new: published.Version) -> list[Change]:
    """What differs between two versions, field by field (put in words on the card); nothing
    when only the coverage changed."""
    return diff(version_input_from(old), version_input_from(new))


def subcontractor_tree(version: published.Version) -> dict[int | None, list[published.SubcontractorRow]]:
    known = {s.id for s in version.subcontractors}
    tree: dict[int | None, list[published.SubcontractorRow]] = defaultdict(list)
    for sub in version.subcontractors:
        parent = sub.parent_id if sub.parent_id in known else None
        tree[parent].append(sub)
    return dict(tree)


def _seen_and_owed(
    db: Session, guardian_id: int, student_id: int
) -> tuple[dict[int, tuple[int, int]], dict[int, PendingReview]]:
    """What the guardian last saw of each service for this child (service id → (row id,
    version id)) and the reviews still owed (ADR 0090), in one statement."""
    seen = select(
        literal("seen").label("kind"),
        GuardianServiceView.service_id,
        GuardianServiceView.service_version_id,
        GuardianServiceView.seen_at,
        GuardianServiceView.id,
    ).where(GuardianServiceView.guardian_id == guardian_id, GuardianServiceView.student_id == student_id)
    owed = select(
        literal("owed").label("kind"),
        ServiceReview.service_id,
        ServiceReview.previous_version_id,
        ServiceReview.requested_at,
        ServiceReview.id,
    ).where(
        ServiceReview.guardian_id == guardian_id,
        ServiceReview.student_id == student_id,
        ServiceReview.reviewed_at.is_(None),
    )
    views: dict[int, tuple[int, int]] = {}
    reviews: dict[int, PendingReview] = {}
    rows: list[Any] = sorted(db.execute(union_all(seen, owed)).all(), key=lambda r: (r[3], r[4]))
    for kind, service_id, version_id, at, row_id in rows:
        if kind == "seen":
            views[service_id] = (row_id, version_id)
        else:  # the first change not yet reviewed, and what the guardian had seen before it
            reviews.setdefault(service_id, PendingReview(service_id, at, version_id))
    return views, reviews


def child_choices(
    db: Session, child: Child, *, mark_seen: bool = True
) -> tuple[list[ServiceCard], list[ChoiceState]]:
    """The service cards, and the board-wide choices (ADR 0092): the catalogue from memory
    (ADR 0095) and two statements for what is this family's, whatever the number of services."""
    student = child.student
    catalogue = child.catalogue(db)
    covering = catalogue.services_for(student)
    definitions = [d for view in covering for d in view.definitions] + list(catalogue.board_wide)
    words = family_words(db, student.id, [d.id for d in definitions])
    seen, owed = _seen_and_owed(db, child.guardian_id, student.id)
    old_versions = published.versions(
        db,
        {
            version_id
            for service_id, (_row, version_id) in seen.items()
            if any(v.service.id == service_id and v.version.id != version_id for v in covering)
        }
        | {r.previous_version_id for r in owed.values() if r.previous_version_id is not None},
    )
    cards: list[ServiceCard] = []
    now = utcnow()
    new_views: list[dict[str, Any]] = []
    moved_views: list[dict[str, Any]] = []
    for view in covering:
        card = ServiceCard(
            view=view,
            choices=[state_of(d, words.get(d.id)) for d in view.definitions],
            subcontractor_tree=subcontractor_tree(view.version),
            review=owed.get(view.service.id),
        )
        if card.review is not None and card.review.previous_version_id in old_versions:
            card.review_changes = version_changes(old_versions[card.review.previous_version_id], view.version)
        row = seen.get(view.service.id)
        if row is None:
            card.is_new = bool(seen)
            new_views.append(
                {
                    "guardian_id": child.guardian_id,
                    "student_id": student.id,
                    "service_id": view.service.id,
                    "service_version_id": view.version.id,
                    "seen_at": now,
                }
            )
        elif row[1] != view.version.id:
            old = old_versions.get(row[1])
            if old is not None:
                card.changes = version_changes(old, view.version)
            moved_views.append({"id": row[0], "service_version_id": view.version.id, "seen_at": now})
        cards.append(card)
    if mark_seen and new_views:  # one statement for any number of services
        db.execute(insert(GuardianServiceView), new_views)
    if mark_seen and moved_views:
        db.execute(update(GuardianServiceView), moved_views)
    return cards, [state_of(d, words.get(d.id)) for d in catalogue.board_wide]


def group_cards(cards: list[ServiceCard]) -> list[tuple[str, list[ServiceCard]]]:
    """Cards grouped by use, in the order of the Saitama notice (seed 000)."""
    groups: dict[str, list[ServiceCard]] = {group: [] for group in USE_GROUPS}
    for card in cards:
        groups.setdefault(card.view.version.use_group, []).append(card)
    return [(group, items) for group, items in groups.items() if items]


def history_actor_kinds(db: Session, events: list[ChoiceEvent]) -> dict[int, str]:
    """Account id → "guardian" | "staff" for the actors of these events."""
    ids = {e.actor_account_id for e in events if e.actor_account_id is not None}
    if not ids:
        return {}
    return {
        row.id: row.kind for row in db.execute(select(Account.id, Account.kind).where(Account.id.in_(ids)))
    }

"""What the downstream API reads: the hide list and the change feed.

Both read only confirmed state (`current_choices` and confirmed `choice_events`), so a
pending request never reaches a downstream system. Cursors are opaque strings:
`c<id>` (a current_choices row id, keyset pagination) and `e<position>` (a position in
the board's change feed; everything after it is "new"). Positions are handed out in commit
order (`choices.service.next_feed_position`, ADR 0079), so a reader never passes a change
that commits later; before positions existed the cursor was the event id, and the migration
gave those events their id as position, so old cursors still mean the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from app.domain.catalog.models import (
    ChoiceDefinition,
    DataCategory,
    Service,
    ServiceVersion,
    ServiceVersionCategory,
)
from app.domain.catalog.queries import latest_version_ids
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.choices.service import hidden_by
from app.domain.exports.feed_schemas import Change, ChangeFeed, HiddenStudent, HideList
from app.domain.people.models import Student


class BadCursor(ValueError):
    pass


def encode_cursor(kind: str, value: int) -> str:
    return f"{kind}{value}"


def decode_cursor(kind: str, text: str | None) -> int:
    if not text:
        return 0
    if not text.startswith(kind) or not text[1:].isascii() or not text[1:].isdigit() or len(text) > 20:
        raise BadCursor(text)
    value = int(text[1:])
    if value > 2**63 - 1:
        raise BadCursor(text)
    return value


@dataclass(frozen=True)
class DefinitionFacts:
    definition: ChoiceDefinition
    service_code: str
    service_version: int
    all_categories: list[str]


def definition_facts(db: Session, board_id: int) -> dict[int, DefinitionFacts]:
    """Every choice definition of a board with its service's latest version categories
    (service choices whose non-default value hides; board-wide choices have no service)."""
    versions = db.execute(
        select(ServiceVersion.id, ServiceVersion.service_id, ServiceVersion.version).where(
            ServiceVersion.id.in_(latest_version_ids(board_id))
        )
    ).all()
    version_of = {service_id: (version_id, number) for version_id, service_id, number in versions}
    categories: dict[int, list[str]] = {}
    if version_of:
        rows = db.execute(
            select(ServiceVersionCategory.service_version_id, DataCategory.code)
            .join(DataCategory, DataCategory.id == ServiceVersionCategory.category_id)
            .where(ServiceVersionCategory.service_version_id.in_([v for v, _n in version_of.values()]))
            .order_by(DataCategory.sort_order, DataCategory.code)
        ).all()
        for version_id, code in rows:
            categories.setdefault(version_id, []).append(code)
    facts: dict[int, DefinitionFacts] = {}
    rows2 = db.execute(
        select(ChoiceDefinition, Service.code)
        .join(Service, Service.id == ChoiceDefinition.service_id)
        # An opt-in choice's non-default value allows rather than hides: it is on the choice
        # list (`choice_list.py`), not the hide list or this feed (ADR 0092).
        .where(ChoiceDefinition.board_id == board_id, ChoiceDefinition.default_value != "deny")
    ).all()
    for definition, code in rows2:
        version_id, number = version_of.get(definition.service_id or 0, (0, 0))
        facts[definition.id] = DefinitionFacts(definition, code, number, categories.get(version_id, []))
    return facts


def chosen_categories() -> ColumnElement[list[str] | None]:
    """The categories only where they matter (`hide_some`, `hide_all`): NULL elsewhere, which
    spares decoding a JSON value per row (a third of the read time of a full list)."""
    return case(
        (CurrentChoice.value.in_(("hide_some", "hide_all")), CurrentChoice.category_codes), else_=None
    )


def hidden_categories(facts: DefinitionFacts, value: str, chosen: list[str]) -> tuple[str, list[str]] | None:
    """None when the value is the default (nothing hidden); else ("all"|"some", categories).

    A categories choice hides what `hidden_by` says (what the guardian was told); any other
    non-default value (a toggle's "hide" or "deny") stands for all the service holds."""
    definition = facts.definition
    if value == definition.default_value:
        return None
    if definition.kind == "categories":
        return ("some" if value == "hide_some" else "all"), hidden_by(definition, value, chosen)
    return "all", list(facts.all_categories)


def find_definition(
    facts: dict[int, DefinitionFacts], service_code: str, choice_code: str
) -> DefinitionFacts | None:
    for item in facts.values():
        if item.service_code == service_code and item.definition.code == choice_code:
            return item
    return None


def latest_position(db: Session, board_id: int) -> int:
    """The board's highest committed feed position (0 before the first change)."""
    return int(
        db.scalar(select(func.max(ChoiceEvent.feed_position)).where(ChoiceEvent.board_id == board_id)) or 0
    )


@dataclass(frozen=True)
class HideListPage:
    """A hide-list page and what it covered: current-choice ids after `low` up to `high`, as of
    feed position `as_of` (its `changes_cursor`) — what `api_pickups` keeps of it."""

    body: HideList
    low: int
    high: int
    as_of: int


def hide_list(db: Session, facts: DefinitionFacts, *, cursor: str | None, limit: int) -> HideList:
    return hide_list_page(db, facts, cursor=cursor, limit=limit).body


def hide_list_page(db: Session, facts: DefinitionFacts, *, cursor: str | None, limit: int) -> HideListPage:
    after = decode_cursor("c", cursor)
    # Read the feed position first: a change landing while the pages are read is then
    # delivered again by the feed, never lost.
    as_of = latest_position(db, facts.definition.board_id)
    changes_cursor = encode_cursor("e", as_of)
    rows = db.execute(
        select(CurrentChoice.id, Student.sourced_id, CurrentChoice.value, chosen_categories())
        .join(Student, Student.id == CurrentChoice.student_id)
        .where(
            CurrentChoice.definition_id == facts.definition.id,
            CurrentChoice.board_id == facts.definition.board_id,
            CurrentChoice.value != facts.definition.default_value,
            CurrentChoice.id > after,
        )
        .order_by(CurrentChoice.id)
        .limit(limit + 1)
    ).all()
    items: list[HiddenStudent] = []
    for _id, sourced_id, value, chosen in rows[:limit]:
        hidden = hidden_categories(facts, value, chosen or [])
        if hidden is not None:
            items.append(HiddenStudent(student_id=sourced_id, hide=hidden[0], categories=hidden[1]))
    next_cursor = encode_cursor("c", rows[limit - 1][0]) if len(rows) > limit else None
    body = HideList(
        service=facts.service_code,
        choice=facts.definition.code,
        service_version=facts.service_version,
        items=items,
        next_cursor=next_cursor,
        changes_cursor=changes_cursor,
    )
    high = rows[:limit][-1][0] if rows else after
    return HideListPage(body, after, high, as_of)


def change_feed(
    db: Session,
    board_id: int,
    facts: dict[int, DefinitionFacts],
    *,
    since: str | None,
    limit: int,
    only: DefinitionFacts | None = None,
) -> ChangeFeed:
    """Students whose effective choice changed after `since`, as their state now.

    Several events for one student in the window collapse to one change; a change back
    to the default is a removal.
    """
    after = decode_cursor("e", since)
    query = (
        select(ChoiceEvent.feed_position, ChoiceEvent.student_id, ChoiceEvent.definition_id)
        .where(ChoiceEvent.board_id == board_id, ChoiceEvent.feed_position > after)
        .order_by(ChoiceEvent.feed_position)
        .limit(limit + 1)
    )
    if only is not None:
        query = query.where(ChoiceEvent.definition_id == only.definition.id)
    events = db.execute(query).all()
    has_more = len(events) > limit
    events = events[:limit]
    if not events:
        return ChangeFeed(changes=[], next_cursor=encode_cursor("e", after), has_more=False)
    order: dict[tuple[int, int], int] = {}
    for position, student_id, definition_id in events:
        order[(student_id, definition_id)] = position or 0
    student_ids = sorted({pair[0] for pair in order})
    current = {
        (row.student_id, row.definition_id): row
        for row in db.scalars(
            select(CurrentChoice).where(
                CurrentChoice.student_id.in_(student_ids),
                CurrentChoice.definition_id.in_(sorted({pair[1] for pair in order})),
            )
        )
    }
    sourced = dict(
        db.execute(select(Student.id, Student.sourced_id).where(Student.id.in_(student_ids))).all()
    )
    changes: list[Change] = []
    for pair, _position in sorted(order.items(), key=lambda item: item[1]):
        item = facts.get(pair[1])
        row = current.get(pair)
        if item is None or row is None:
            continue
        hidden = hidden_categories(item, row.value, list(row.category_codes))
        changes.append(
            Change(
                student_id=sourced[pair[0]],
                service=item.service_code,
                choice=item.definition.code,
                action="remove" if hidden is None else "add",
                categories=[] if hidden is None else hidden[1],
            )
        )
    return ChangeFeed(changes=changes, next_cursor=encode_cursor("e", events[-1][0] or 0), has_more=has_more)

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

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, func, select, true
from sqlalchemy.orm import Session

from app.domain.catalog.models import (
    ChoiceDefinition,
    DataCategory,
    Service,
    ServiceVersion,
    ServiceVersionCategory,
)
from app.domain.choices.models import ChoiceEvent, CurrentChoice, FeedCounter
from app.domain.choices.service import hidden_by
from app.domain.exports.feed_schemas import Change, ChangeFeed
from app.domain.people.models import Student

# Part of every list ETag: raise it when the JSON a list is written as changes, so that a
# client's stored ETag no longer matches a body of the old shape.
BODY_FORMAT = 2


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


def definition_facts(
    db: Session, board_id: int, definition_ids: Sequence[int] | None = None
) -> dict[int, DefinitionFacts]:
    """The board's choice definitions (or those of `definition_ids`) whose non-default value
    hides, with their service's latest version and, for a toggle (which hides all the service
    holds), that version's categories: one statement, two when a toggle is among them."""
    latest = (
        select(func.max(ServiceVersion.id))
        .where(ServiceVersion.service_id == ChoiceDefinition.service_id)
        .correlate(ChoiceDefinition)
        .scalar_subquery()
    )
    rows = db.execute(
        select(ChoiceDefinition, Service.code, ServiceVersion.id, ServiceVersion.version)
        .join(Service, Service.id == ChoiceDefinition.service_id)
        .outerjoin(ServiceVersion, ServiceVersion.id == latest)
        # An opt-in choice's non-default value allows rather than hides: it is on the choice
        # list (`choice_list.py`), not the hide list or this feed (ADR 0092).
        .where(ChoiceDefinition.board_id == board_id, ChoiceDefinition.default_value != "deny")
        .where(ChoiceDefinition.id.in_(definition_ids) if definition_ids is not None else true())
    ).all()
    categories: dict[int, list[str]] = {}
    version_ids = sorted({v for d, _c, v, _n in rows if v is not None and d.kind != "categories"})
    if version_ids:
        for version_id, code in db.execute(
            select(ServiceVersionCategory.service_version_id, DataCategory.code)
            .join(DataCategory, DataCategory.id == ServiceVersionCategory.category_id)
            .where(ServiceVersionCategory.service_version_id.in_(version_ids))
            .order_by(DataCategory.sort_order, DataCategory.code)
        ):
            categories.setdefault(version_id, []).append(code)
    return {
        definition.id: DefinitionFacts(definition, code, int(number or 0), categories.get(version_id, []))
        for definition, code, version_id, number in rows
    }


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


def board_version(board_id: int) -> ColumnElement[int]:
    """The board's feed counter: every confirmation takes the next position (ADR 0079) and a
    retention run that removes current choices moves it on, so it changes whenever any list of
    the board may have changed (0 before the board's first change)."""
    counter = select(FeedCounter.position).where(FeedCounter.board_id == board_id).scalar_subquery()
    return func.coalesce(counter, 0)


@dataclass(frozen=True)
class ListVersion:
    """What a list's body depends on besides its rows, read in one small statement: the
    definition, its service's latest version and the board's feed counter (ADR 0099)."""

    definition: ChoiceDefinition
    service_code: str | None
    service_version_id: int
    service_version: int
    position: int

    def etag(self, kind: str, api_key_id: int, *params: object) -> str:
        """Equal ETags mean equal bodies: every input of the body is in the hash, the rows
        through the feed counter (any change to them moves it). The key is in it too, so a
        304 only ever answers a key that was served the body itself."""
        d = self.definition
        parts = [BODY_FORMAT, kind, api_key_id, d.id, d.code, d.kind, d.default_value, d.options]
        parts += [d.category_codes, d.version, d.status, self.service_code, self.service_version_id]
        parts += [self.position, *params]
        digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
        return '"' + digest[:32] + '"'


def list_version(
    db: Session, board_id: int, service_code: str | None, choice_code: str
) -> ListVersion | None:
    """The board's choice by its code and its service's code (None: a board-wide choice).
    Where one code names both, the choice that can hide comes first."""
    latest = (
        select(func.max(ServiceVersion.id))
        .where(ServiceVersion.service_id == ChoiceDefinition.service_id)
        .correlate(ChoiceDefinition)
        .scalar_subquery()
    )
    query = (
        select(
            ChoiceDefinition, Service.code, ServiceVersion.id, ServiceVersion.version, board_version(board_id)
        )
        .outerjoin(Service, Service.id == ChoiceDefinition.service_id)
        .outerjoin(ServiceVersion, ServiceVersion.id == latest)
        .where(ChoiceDefinition.board_id == board_id, ChoiceDefinition.code == choice_code)
    )
    if service_code is None:
        query = query.where(ChoiceDefinition.service_id.is_(None))
    else:
        query = query.where(Service.code == service_code)
    query = query.order_by(ChoiceDefinition.default_value == "deny", ChoiceDefinition.id).limit(1)
    row = db.execute(query).first()
    if row is None:
        return None
    definition, code, version_id, number, position = row
    return ListVersion(definition, code, int(version_id or 0), int(number or 0), int(position or 0))


def version_categories(db: Session, service_version_id: int) -> list[str]:
    """The data categories of one service version, in display order."""
    return list(
        db.scalars(
            select(DataCategory.code)
            .join(ServiceVersionCategory, ServiceVersionCategory.category_id == DataCategory.id)
            .where(ServiceVersionCategory.service_version_id == service_version_id)
            .order_by(DataCategory.sort_order, DataCategory.code)
        )
    )


def compact_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def list_rows(db: Session, definition: ChoiceDefinition, after: int, limit: int) -> list[Any]:
    """(current-choice id, roster id, value, categories as JSON text) of the students whose
    confirmed value is not the default, after `after`, up to `limit` + 1 rows: plain tuples
    from the driver, with the categories left undecoded (most rows share a handful)."""
    query = (
        select(
            CurrentChoice.id,
            Student.sourced_id,
            CurrentChoice.value,
            cast(CurrentChoice.category_codes, Text),
        )
        .join(Student, Student.id == CurrentChoice.student_id)
        .where(
            CurrentChoice.definition_id == definition.id,
            CurrentChoice.board_id == definition.board_id,
            CurrentChoice.value != definition.default_value,
            CurrentChoice.id > after,
        )
        .order_by(CurrentChoice.id)
        .limit(limit + 1)
    )
    return list(db.connection().execute(query).all())


@dataclass(frozen=True)
class HideListPage:
    """A hide-list page (its JSON, as `HideList` documents it) and what it covered:
    current-choice ids after `low` up to `high`, as of feed position `as_of` (its
    `changes_cursor`) — what `api_pickups` keeps of it."""

    body: bytes
    rows: int
    low: int
    high: int
    as_of: int


def hide_list_page(
    db: Session, version: ListVersion, *, cursor: str | None, limit: int, all_categories: list[str]
) -> HideListPage:
    """One page, written straight to JSON: one statement for the rows, and per row a dict
    look-up of the part after the roster id, which depends only on (value, categories)."""
    after = decode_cursor("c", cursor)
    definition = version.definition
    facts = DefinitionFacts(definition, version.service_code or "", version.service_version, all_categories)
    # The feed position was read before the rows (in `list_version`): a change landing while
    # the pages are read is then delivered again by the feed, never lost.
    rows = list_rows(db, definition, after, limit)
    tails: dict[tuple[str, str], str | None] = {}
    items: list[str] = []
    for _id, sourced_id, value, chosen in rows[:limit]:
        key = (value, chosen)
        if key in tails:
            tail = tails[key]
        else:
            hidden = hidden_categories(facts, value, json.loads(chosen) if chosen else [])
            tail = (
                None if hidden is None else f',"hide":"{hidden[0]}","categories":{compact_json(hidden[1])}}}'
            )
            tails[key] = tail
        if tail is not None:
            items.append('{"student_id":' + encode_basestring(sourced_id) + tail)
    next_cursor = encode_cursor("c", rows[limit - 1][0]) if len(rows) > limit else None
    changes_cursor = encode_cursor("e", version.position)
    body = (
        f'{{"service":{compact_json(facts.service_code)},"choice":{compact_json(definition.code)},'
        f'"service_version":{facts.service_version},"items":[{",".join(items)}],'
        f'"next_cursor":{compact_json(next_cursor)},"changes_cursor":"{changes_cursor}"}}'
    )
    high = rows[:limit][-1][0] if rows else after
    return HideListPage(body.encode(), len(items), after, high, version.position)


def change_feed(
    db: Session,
    board_id: int,
    *,
    since: str | None,
    limit: int,
    only: ListVersion | None = None,
) -> ChangeFeed:
    """Students whose effective choice changed after `since`, as their state now.

    Several events for one student in the window collapse to one change; a change back
    to the default is a removal. Nothing new costs one statement; otherwise three more (the
    states now, the definitions), whatever the number of changes.
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
    events = list(db.connection().execute(query).all())
    has_more = len(events) > limit
    events = events[:limit]
    if not events:
        return ChangeFeed(changes=[], next_cursor=encode_cursor("e", after), has_more=False)
    order: dict[tuple[int, int], int] = {}
    for position, student_id, definition_id in events:
        order[(student_id, definition_id)] = position or 0
    current = {
        (student_id, definition_id): (sourced_id, value, chosen)
        for student_id, definition_id, sourced_id, value, chosen in db.connection().execute(
            select(
                CurrentChoice.student_id,
                CurrentChoice.definition_id,
                Student.sourced_id,
                CurrentChoice.value,
                cast(CurrentChoice.category_codes, Text),
            )
            .join(Student, Student.id == CurrentChoice.student_id)
            .where(
                CurrentChoice.student_id.in_(sorted({pair[0] for pair in order})),
                CurrentChoice.definition_id.in_(sorted({pair[1] for pair in order})),
            )
        )
    }
    facts = definition_facts(db, board_id, sorted({pair[1] for pair in order}))
    changes: list[Change] = []
    for pair, _position in sorted(order.items(), key=lambda item: item[1]):
        item = facts.get(pair[1])
        row = current.get(pair)
        if item is None or row is None:
            continue
        sourced_id, value, chosen = row
        hidden = hidden_categories(item, value, json.loads(chosen) if chosen else [])
        changes.append(
            Change(
                student_id=sourced_id,
                service=item.service_code,
                choice=item.definition.code,
                action="remove" if hidden is None else "add",
                categories=[] if hidden is None else hidden[1],
            )
        )
    return ChangeFeed(changes=changes, next_cursor=encode_cursor("e", events[-1][0] or 0), has_more=has_more)

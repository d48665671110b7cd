"""The choice list (`/api/v1/choice-list`, ADR 0092): every kind of choice, as values.

The hide list answers "whose data must be hidden" for a service choice whose non-default
value hides. An opt-in choice (default "deny") or a board-wide one (no service) does not fit
that question: what matters downstream is who chose something other than the default — for an
opt-in choice, who has *allowed*. So this list carries, per student, the confirmed `value`
that differs from the definition's `default`, and the definition's kind, options and default,
so that a downstream system applies either rule: everyone not listed has the default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.encoder import encode_basestring

from sqlalchemy.orm import Session

from app.domain.choices.service import hidden_by
from app.domain.exports.feed import ListVersion, compact_json, decode_cursor, encode_cursor, list_rows


@dataclass(frozen=True)
class ChoiceListPage:
    body: bytes  # the JSON that `ChoiceList` documents
    rows: int


def choice_list(db: Session, version: ListVersion, *, cursor: str | None, limit: int) -> ChoiceListPage:
    """One page, written straight to JSON from plain rows (see `feed.hide_list_page`)."""
    after = decode_cursor("v", cursor)
    definition = version.definition
    rows = list_rows(db, definition, after, limit)
    tails: dict[tuple[str, str], str] = {}
    items: list[str] = []
    for _id, sourced_id, value, chosen in rows[:limit]:
        key = (value, chosen)
        tail = tails.get(key)
        if tail is None:
            categories = (
                hidden_by(definition, value, json.loads(chosen) if chosen else [])
                if definition.kind == "categories"
                else []
            )
            tail = tails[key] = f',"value":{compact_json(value)},"categories":{compact_json(categories)}}}'
        items.append('{"student_id":' + encode_basestring(sourced_id) + tail)
    next_cursor = encode_cursor("v", rows[limit - 1][0]) if len(rows) > limit else None
    body = (
        f'{{"service":{compact_json(version.service_code)},"choice":{compact_json(definition.code)},'
        f'"kind":{compact_json(definition.kind)},"options":{compact_json(list(definition.options))},'
        f'"default":{compact_json(definition.default_value)},"status":{compact_json(definition.status)},'
        f'"items":[{",".join(items)}],"next_cursor":{compact_json(next_cursor)}}}'
    )
    return ChoiceListPage(body.encode(), len(items))

"""A child's history of choices as a guardian reads it: one entry per change.

The events stay as they are stored (a request, then the confirmation, cancellation or expiry
that closed it); the timeline pairs each request with what closed it, so that a change reads
"requested on …, confirmed on …" once instead of twice. A choice recorded in effect at once
(by the school, or carried over) is an entry of its own. Pure: works on loaded events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.choices.models import ChoiceEvent


@dataclass(frozen=True)
class TimelineEntry:
    event: ChoiceEvent  # the request, or the choice recorded in effect at once
    closed_by: ChoiceEvent | None  # the confirmation, cancellation or expiry of a request

    @property
    def is_request(self) -> bool:
        return self.event.kind == "requested"

    @property
    def state(self) -> str:
        """pending | confirmed | cancelled | expired."""
        if not self.is_request:
            return self.event.kind
        return self.closed_by.kind if self.closed_by is not None else "pending"

    @property
    def receipt_id(self) -> str | None:
        confirmed = self.closed_by if self.is_request else self.event
        return confirmed.receipt_id if confirmed is not None and confirmed.kind == "confirmed" else None


def timeline(events: Sequence[ChoiceEvent]) -> list[TimelineEntry]:
    """Entries newest first, by the latest thing that happened to each."""
    closing = {e.request_id: e for e in events if e.request_id is not None and e.kind != "requested"}
    entries = [
        TimelineEntry(event, closing.get(event.id) if event.kind == "requested" else None)
        for event in events
        if event.kind == "requested" or event.request_id is None
    ]
    return sorted(entries, key=lambda e: (e.closed_by or e.event).id, reverse=True)

"""When the roster changes a guardian's e-mail, confirmations sent to the old address stop working.

A pending choice is a `requested` ChoiceEvent whose confirmation link (a OneTimeToken of
purpose `choice_confirmation`) went to the address on file. If that address changes, the
link is revoked and the request is closed with a `cancelled` event pointing at it (audited
like any cancellation, through app.domain.choices.service).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.choices import service as choices
from app.domain.choices.models import ChoiceEvent
from app.domain.tokens import service as token_service
from app.domain.tokens.models import OneTimeToken

CLOSING_KINDS = ("confirmed", "cancelled", "expired")
REASON = (
    "The guardian's e-mail address changed in the roster; "
    "the confirmation link sent to the old address was cancelled."
)


def cancel_pending_confirmations(db: Session, guardian_ids: Sequence[int]) -> int:
    """Revoke unused confirmation links of these guardians; returns how many requests were cancelled."""
    if not guardian_ids:
        return 0
    now = utcnow()
    tokens = list(
        db.scalars(
            select(OneTimeToken).where(
                OneTimeToken.purpose == "choice_confirmation",
                OneTimeToken.guardian_id.in_(guardian_ids),
                OneTimeToken.used_at.is_(None),
                OneTimeToken.revoked_at.is_(None),
                OneTimeToken.expires_at > now,
            )
        )
    )
    request_ids = {t.choice_event_id for t in tokens if t.choice_event_id is not None}
    requests = (
        {e.id: e for e in db.scalars(select(ChoiceEvent).where(ChoiceEvent.id.in_(request_ids)))}
        if request_ids
        else {}
    )
    closed = (
        set(
            db.scalars(
                select(ChoiceEvent.request_id).where(
                    ChoiceEvent.request_id.in_(request_ids), ChoiceEvent.kind.in_(CLOSING_KINDS)
                )
            )
        )
        if request_ids
        else set()
    )
    cancelled = 0
    for token in tokens:
        token_service.revoke(db, token)
        request = requests.get(token.choice_event_id or 0)
        if request is None or request.kind != "requested" or request.id in closed:
            continue
        closed.add(request.id)
        choices.close_request(
            db, request, "cancelled", actor_account_id=None, channel="import", reason=REASON
        )
        cancelled += 1
    return cancelled

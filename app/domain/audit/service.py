"""One function every state change calls, in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.db import keep_after_rollback, utcnow
from app.domain.audit import chain
from app.domain.audit.models import AuditEvent
from app.request_context import request_id_var


@dataclass(frozen=True)
class Actor:
    type: str  # account | api_key | system | cli | anonymous
    id: int | None = None

    @classmethod
    def account(cls, account_id: int) -> Actor:
        return cls("account", account_id)

    @classmethod
    def api_key(cls, key_id: int) -> Actor:
        return cls("api_key", key_id)


SYSTEM = Actor("system")
CLI = Actor("cli")
ANONYMOUS = Actor("anonymous")


def record(
    db: Session,
    action: str,
    *,
    actor: Actor,
    board_id: int | None,
    target_type: str = "",
    target_id: object = "",
    outcome: str = "success",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event. `details` holds ids, counts and filters — not names or e-mail.

    The event is inserted, chained to the board's previous one, when the transaction commits
    (`chain.seal`); a transaction that rolls back leaves none."""
    event = AuditEvent(
        occurred_at=utcnow(),
        board_id=board_id,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        target_type=target_type,
        target_id="" if target_id is None else str(target_id),
        outcome=outcome,
        request_id=request_id_var.get(),
        details=details or {},
    )
    chain.append(db, event)
    return event


def record_refusal(
    db: Session,
    action: str,
    *,
    actor: Actor,
    board_id: int | None,
    target_type: str = "",
    target_id: object = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Audit an attempt that is being refused: the row outlives the rollback that follows
    the error the caller raises next (`app.db.keep_after_rollback`)."""
    request_id = request_id_var.get()

    def write(session: Session) -> None:
        token = request_id_var.set(request_id)
        try:
            record(
                session,
                action,
                actor=actor,
                board_id=board_id,
                target_type=target_type,
                target_id=target_id,
                outcome="failure",
                details=dict(details or {}),
            )
        finally:
            request_id_var.reset(token)

    keep_after_rollback(db, write)

"""The one documented path for removing rows from the append-only tables (ADR 0083, 0087).

On PostgreSQL, triggers refuse UPDATE and DELETE on `audit_events`, `choice_events` and
`audit_chain_checkpoints` unless the transaction first runs `SET LOCAL tobira.removal = 'on'`
(`allow_removal`); only the retention run calls it. Audit events go only from the start of a
board's chain (`remove_prefix`), never from the middle: the run writes a checkpoint — the seq
and hash of the last removed event — and an `audit.prefix_removed` event vouching for it,
so `portal audit verify` checks the rest of the chain from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app.domain.audit import chain
from app.domain.audit.models import AuditChainCheckpoint, AuditEvent
from app.domain.audit.service import Actor, record


def allow_removal(db: Session) -> None:
    """Open the removal path for the rest of this transaction (PostgreSQL; SQLite has no triggers)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL tobira.removal = 'on'"))


@dataclass(frozen=True)
class Prefix:
    """The events at the start of a chain older than a cutoff: seq `after` + 1 … `through`."""

    after: int
    through: int
    count: int


def old_prefix(db: Session, board_id: int | None, before: datetime) -> Prefix:
    """The longest run of events from the chain's current start that all occurred before
    `before` (the first younger event ends it, even if older ones follow)."""
    key = chain.board_key(board_id)
    checkpoint = chain.latest_checkpoint(db, key)
    after = checkpoint.seq if checkpoint is not None else 0
    in_chain = (chain.board_condition(board_id), AuditEvent.seq > after)
    first_kept = db.scalar(
        select(func.min(AuditEvent.seq)).where(*in_chain, AuditEvent.occurred_at >= before)
    )
    last = db.scalar(select(func.max(AuditEvent.seq)).where(*in_chain))
    if last is None:
        return Prefix(after, after, 0)
    through = int(first_kept) - 1 if first_kept is not None else int(last)
    count = db.scalar(select(func.count()).where(*in_chain, AuditEvent.seq <= through)) or 0
    return Prefix(after, through, int(count))


def remove_prefix(db: Session, board_id: int | None, prefix: Prefix, *, actor: Actor) -> int:
    """Remove the prefix, record the checkpoint and the vouching event (in this transaction)."""
    if prefix.count == 0:
        return 0
    through_hash = db.scalar(
        select(AuditEvent.hash).where(chain.board_condition(board_id), AuditEvent.seq == prefix.through)
    )
    assert through_hash is not None
    allow_removal(db)
    result = db.execute(
        delete(AuditEvent)
        .where(
            chain.board_condition(board_id), AuditEvent.seq > prefix.after, AuditEvent.seq <= prefix.through
        )
        .execution_options(synchronize_session=False)
    )
    removed = int(result.rowcount or 0)  # type: ignore[attr-defined]
    db.add(
        AuditChainCheckpoint(
            board_key=chain.board_key(board_id), seq=prefix.through, hash=through_hash, removed=removed
        )
    )
    db.flush()
    record(
        db,
        chain.PREFIX_REMOVED,
        actor=actor,
        board_id=board_id,
        target_type="audit_chain",
        details={"through_seq": prefix.through, "through_hash": through_hash, "events": removed},
    )
    return removed

"""The audit log as one hash chain per board: tampering shows.

`record()` does not insert an event at once: it waits in the session until the transaction
commits. Then (`seal`, a `before_commit` listener) the board's chain head is locked, each
waiting event gets the next `seq`, the previous event's hash and its own hash —
SHA-256 over its canonical content and `prev_hash` — and is inserted. Taking the head lock
last, at commit, keeps it short and always after every other lock a transaction holds (the
change-feed counter, rows it updates), so appends never deadlock with them. A rolled-back
transaction's events vanish with it; a refusal's event is written by `keep_after_rollback`
in its own transaction, which seals it the same way.

`verify` recomputes a chain and names the first event that was changed, removed or put out
of order; the head (`seq`, `hash`) is what a board keeps outside Tobira as an anchor. After
retention removed a chain's oldest events (`removal.py`), the chain starts at its latest
checkpoint — the `seq` and `hash` of the last removed event — which a retained
`audit.prefix_removed` event must vouch for.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import event, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.domain.audit.models import AuditChainCheckpoint, AuditChainHead, AuditEvent

PENDING = "tobira.audit_pending"
NO_BOARD = 0  # the chain of events that belong to no board (e.g. an unknown sign-in)


def board_key(board_id: int | None) -> int:
    return NO_BOARD if board_id is None else board_id


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes a link's hash covers: every column but the chain's own, in a fixed form."""
    occurred_at = fields["occurred_at"]
    if isinstance(occurred_at, datetime):
        occurred_at = occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = {
        "seq": fields["seq"],
        "prev_hash": fields["prev_hash"],
        "occurred_at": occurred_at,
        "board_id": fields["board_id"],
        "actor_type": fields["actor_type"],
        "actor_id": fields["actor_id"],
        "action": fields["action"],
        "target_type": fields["target_type"],
        "target_id": fields["target_id"],
        "outcome": fields["outcome"],
        "request_id": fields["request_id"],
        "details": fields["details"] or {},
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def fields_of(row: AuditEvent) -> dict[str, Any]:
    return {column: getattr(row, column) for column in _COLUMNS}


_COLUMNS = (
    "seq",
    "prev_hash",
    "occurred_at",
    "board_id",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "request_id",
    "details",
)


def append(db: Session, row: AuditEvent) -> None:
    """Queue an event to be chained and inserted when the transaction commits."""
    db.info.setdefault(PENDING, []).append(row)


def _locked_head(db: Session, key: int) -> tuple[int, str]:
    """The board's chain head (seq, hash), locked until the transaction ends: one upsert that
    creates the head of a new chain or locks the existing one and reads it."""
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    new = insert(AuditChainHead).values(board_key=key, seq=0, hash="")
    statement = new.on_conflict_do_update(
        index_elements=["board_key"], set_={"seq": new.excluded.seq + AuditChainHead.seq}
    ).returning(AuditChainHead.seq, AuditChainHead.hash)
    seq, hash_ = db.execute(statement).one()
    return int(seq), str(hash_)


def seal(db: Session) -> None:
    pending: list[AuditEvent] = db.info.pop(PENDING, [])
    if not pending:
        return
    by_board: dict[int, list[AuditEvent]] = defaultdict(list)
    for row in pending:
        by_board[board_key(row.board_id)].append(row)
    for key in sorted(by_board):  # one order for every transaction: no lock cycles
        seq, previous = _locked_head(db, key)
        for row in by_board[key]:
            row.seq, row.prev_hash = seq + 1, previous
            row.hash = digest(fields_of(row))
            seq, previous = row.seq, row.hash
        db.execute(
            update(AuditChainHead)
            .where(AuditChainHead.board_key == key)
            .values(seq=seq, hash=previous)
            .execution_options(synchronize_session=False)
        )
    db.add_all(pending)  # one multi-row INSERT for the events of all boards
    db.flush()


def _forget(db: Session) -> None:
    db.info.pop(PENDING, None)


event.listen(Session, "before_commit", seal)
event.listen(Session, "after_rollback", _forget)


Problem = Literal["changed", "removed", "reordered", "unvouched"]
PREFIX_REMOVED = "audit.prefix_removed"


@dataclass(frozen=True)
class Verdict:
    board_key: int
    checked: int
    head_seq: int
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_rows(
    key: int, rows: Iterable[AuditEvent], head: AuditChainHead | None, start: tuple[int, str] = (0, "")
) -> Verdict:
    """Walk a chain in `seq` order from `start` (the checkpoint's seq and hash; (0, "") for a
    chain never cut): every link must follow the one before and hash to itself, and the last
    must be the head."""
    start_seq, previous = start
    expected_seq, checked = start_seq + 1, 0
    for row in rows:
        if row.seq != expected_seq:
            bad: Problem = "removed" if (row.seq or 0) > expected_seq else "reordered"
            return Verdict(key, checked, head.seq if head else 0, expected_seq, row.id, bad)
        if row.prev_hash != previous:
            return Verdict(key, checked, head.seq if head else 0, row.seq, row.id, "reordered")
        if digest(fields_of(row)) != row.hash:
            return Verdict(key, checked, head.seq if head else 0, row.seq, row.id, "changed")
        previous, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    head_seq = head.seq if head else 0
    if head_seq != start_seq + checked or (head is not None and head.hash != previous):
        return Verdict(key, checked, head_seq, start_seq + checked + 1, None, "removed")  # the tail is gone
    return Verdict(key, checked, head_seq)


def board_condition(board_id: int | None) -> Any:
    return AuditEvent.board_id.is_(None) if board_id is None else AuditEvent.board_id == board_id


def latest_checkpoint(db: Session, key: int) -> AuditChainCheckpoint | None:
    return db.scalar(
        select(AuditChainCheckpoint)
        .where(AuditChainCheckpoint.board_key == key)
        .order_by(AuditChainCheckpoint.seq.desc())
        .limit(1)
    )


def _vouched(db: Session, board_id: int | None, checkpoint: AuditChainCheckpoint) -> bool:
    """A checkpoint counts only if the retained (and verified) chain holds the event of the
    run that wrote it: a checkpoint slipped in by hand is named."""
    details = db.scalars(
        select(AuditEvent.details).where(
            board_condition(board_id), AuditEvent.action == PREFIX_REMOVED, AuditEvent.seq > checkpoint.seq
        )
    )
    return any(
        d.get("through_seq") == checkpoint.seq and d.get("through_hash") == checkpoint.hash for d in details
    )


def verify(db: Session, board_id: int | None) -> Verdict:
    key = board_key(board_id)
    checkpoint = latest_checkpoint(db, key)
    start = (checkpoint.seq, checkpoint.hash) if checkpoint is not None else (0, "")
    rows = db.scalars(
        select(AuditEvent)
        .where(board_condition(board_id), AuditEvent.seq.is_not(None), AuditEvent.seq > start[0])
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=2000, populate_existing=True)
    )
    head = db.scalar(
        select(AuditChainHead)
        .where(AuditChainHead.board_key == key)
        .execution_options(populate_existing=True)  # the head as committed, not as cached
    )
    verdict = verify_rows(key, rows, head, start)
    if verdict.ok and checkpoint is not None and not _vouched(db, board_id, checkpoint):
        return Verdict(key, verdict.checked, verdict.head_seq, checkpoint.seq, None, "unvouched")
    return verdict

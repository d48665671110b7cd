"""The audit chain's head, sent out of Tobira every day: an anchor the board keeps.

Each board with a data-protection contact (`boards.contact_email`) gets one e-mail a day with
its chain's sequence number and hash (ADR 0083). Whoever later doubts the log compares
`portal audit verify` and `portal audit head` with the mails: a chain rewritten from some point
on can no longer end in a head that was mailed before.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.db import Database, utcnow
from app.domain.audit.models import AuditChainHead
from app.domain.audit.service import SYSTEM, record
from app.domain.boards.models import Board
from app.domain.jobs.runner import JobRun
from app.domain.notifications.service import queue_email

ANCHOR = "audit.anchor"
ANCHOR_EVERY = timedelta(days=1)


def send_anchors(database: Database) -> int:
    """Mail each board's current head to its contact; returns how many were queued."""
    sent = 0
    with database.transaction() as db:
        boards = db.execute(
            select(Board, AuditChainHead)
            .outerjoin(AuditChainHead, AuditChainHead.board_key == Board.id)
            .where(Board.contact_email != "")
            .order_by(Board.id)
        ).all()
        for board, head in boards:
            seq, digest = (head.seq, head.hash) if head is not None else (0, "")
            queue_email(
                db,
                to=board.contact_email,
                template="email/audit_anchor.txt",
                context={"board": board, "seq": seq, "hash": digest, "at": utcnow()},
                purpose="audit_anchor",
                language="ja",
                board_id=board.id,
            )
            record(
                db,
                "audit.anchor_sent",
                actor=SYSTEM,
                board_id=board.id,
                target_type="audit_chain",
                target_id=board.id,
                details={"seq": seq, "hash": digest},
            )
            sent += 1
    return sent


def run_anchor(database: Database, run: JobRun) -> None:
    send_anchors(database)

"""`portal retention run` and the daily job: what each board's policy says may go, removed in
one transaction per board (or only counted, for a dry run), audited with counts.

Per board: students who left `student_years` ago and what goes with them (`leavers`), audit
events older than `audit_years` from the start of the chain (`app.domain.audit.removal`),
one-time tokens a day past expiry, mail bodies when the board keeps its own period, and
uploads never confirmed after `upload_days`. Without a board, also what belongs to no
board: sessions a day past their end, tokens of no board, the chain of events of no board,
and leftover uploads. Files are deleted after the transaction commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.accounts.models import UserSession
from app.domain.audit import removal
from app.domain.audit.service import Actor, record
from app.domain.boards.models import Board
from app.domain.notifications.dispatcher import PURGED, purge_sent_bodies
from app.domain.notifications.models import OutboxEmail
from app.domain.retention import leavers, uploads
from app.domain.retention.policy import DEFAULTS, Policy, policy_for, years_before
from app.domain.tokens.models import OneTimeToken

log = logging.getLogger("tobira.retention")
# Expired links and sessions stay one more day, so that a late click is told "expired".
GRACE = timedelta(days=1)
# The order reports list the kinds in.
KINDS = (
    "students",
    "choice_events",
    "current_choices",
    "guardian_links",
    "coverage_rules",
    "student_tokens",
    "guardians",
    "account_links",
    "guardian_tokens",
    "accounts",
    "outbox_rows",
    "audit_events",
    "expired_tokens",
    "sessions",
    "mail_bodies",
    "uploads",
)


@dataclass
class Report:
    board_code: str
    board_id: int | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _expired_tokens(board_id: int | None) -> list[object]:
    scope = OneTimeToken.board_id.is_(None) if board_id is None else OneTimeToken.board_id == board_id
    return [scope, OneTimeToken.expires_at < utcnow() - GRACE]


def _ended_sessions(settings: Settings) -> list[object]:
    now = utcnow()
    return [
        or_(
            UserSession.expires_at < now - GRACE,
            UserSession.ended_at < now - GRACE,
            UserSession.last_seen_at < now - timedelta(minutes=settings.session_idle_minutes) - GRACE,
        )
    ]


def _mail_bodies(db: Session, board_id: int, days: int, *, dry_run: bool) -> int:
    if not dry_run:
        return purge_sent_bodies(db, timedelta(days=days), board_id=board_id)
    cutoff = utcnow() - timedelta(days=days)
    return int(
        db.scalar(
            select(func.count()).where(
                OutboxEmail.board_id == board_id,
                OutboxEmail.status.in_(("sent", "failed", "cancelled")),
                OutboxEmail.body_text != PURGED,
                func.coalesce(OutboxEmail.sent_at, OutboxEmail.created_at) <= cutoff,
            )
        )
        or 0
    )


def _count_or_delete(db: Session, model: type, conditions: list[object], *, dry_run: bool) -> int:
    if dry_run:
        return int(db.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)  # type: ignore[arg-type]
    result = db.execute(delete(model).where(*conditions).execution_options(synchronize_session=False))  # type: ignore[arg-type]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _board_part(db: Session, board_id: int, policy: Policy, *, dry_run: bool, actor: Actor) -> dict[str, int]:
    now = utcnow()
    found = leavers.find(db, board_id, years_before(now, policy.student_years))
    if dry_run:
        counts = leavers.count(db, board_id, found)
    else:
        removal.allow_removal(db)
        counts = leavers.remove(db, board_id, found)
    counts["expired_tokens"] = _count_or_delete(db, OneTimeToken, _expired_tokens(board_id), dry_run=dry_run)
    if policy.mail_body_days is not None:
        counts["mail_bodies"] = _mail_bodies(db, board_id, policy.mail_body_days, dry_run=dry_run)
    counts["audit_events"] = _audit_part(db, board_id, policy, dry_run=dry_run, actor=actor)
    return counts


def _audit_part(db: Session, board_id: int | None, policy: Policy, *, dry_run: bool, actor: Actor) -> int:
    prefix = removal.old_prefix(db, board_id, years_before(utcnow(), policy.audit_years))
    if dry_run:
        return prefix.count
    return removal.remove_prefix(db, board_id, prefix, actor=actor)


def _no_board_part(db: Session, settings: Settings, *, dry_run: bool, actor: Actor) -> dict[str, int]:
    return {
        "sessions": _count_or_delete(db, UserSession, _ended_sessions(settings), dry_run=dry_run),
        "expired_tokens": _count_or_delete(db, OneTimeToken, _expired_tokens(None), dry_run=dry_run),
        "audit_events": _audit_part(db, None, DEFAULTS, dry_run=dry_run, actor=actor),
    }


def _run_one(
    database: Database,
    settings: Settings,
    board: tuple[int, str] | None,
    *,
    dry_run: bool,
    actor: Actor,
) -> Report:
    board_id, code = board if board is not None else (None, "(no board)")
    db = database.session()
    try:
        policy = policy_for(db, board_id) if board_id is not None else DEFAULTS
        if board_id is None:
            counts = _no_board_part(db, settings, dry_run=dry_run, actor=actor)
        else:
            counts = _board_part(db, board_id, policy, dry_run=dry_run, actor=actor)
        files = uploads.stale(
            db,
            Path(settings.upload_dir),
            board_id=board_id,
            before=utcnow() - timedelta(days=policy.upload_days),
        )
        counts["uploads"] = len(files)
        report = Report(code, board_id, {kind: counts.get(kind, 0) for kind in KINDS if kind in counts})
        if dry_run:
            return report  # nothing was written; the session rolls back below
        if report.total:
            record(
                db,
                "retention.run",
                actor=actor,
                board_id=board_id,
                target_type="board" if board_id is not None else "",
                target_id=board_id or "",
                details={
                    "counts": {k: v for k, v in report.counts.items() if v},
                    "student_years": policy.student_years,
                    "audit_years": policy.audit_years,
                },
            )
        db.commit()
    finally:
        db.rollback()
        db.close()
    for path in files:  # after the commit: a rolled-back run keeps its files
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove an old upload")
    return report


def run(
    database: Database,
    settings: Settings,
    *,
    board_code: str | None = None,
    dry_run: bool = False,
    actor: Actor,
) -> list[Report]:
    """Every board (and what belongs to none), or one board. Raises LookupError for an
    unknown board code."""
    with database.transaction() as db:
        query = select(Board.id, Board.code).order_by(Board.code)
        if board_code is not None:
            query = query.where(Board.code == board_code)
        boards: list[tuple[int, str] | None] = [(row.id, row.code) for row in db.execute(query)]
    if board_code is not None and not boards:
        raise LookupError(board_code)
    if board_code is None:
        boards.append(None)
    return [_run_one(database, settings, board, dry_run=dry_run, actor=actor) for board in boards]

"""The daily retention job (the worker's periodic kind): expired links and sessions, mail
bodies of a board with its own period, and uploads never confirmed go; the rest stays."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.accounts.models import UserSession
from app.domain.audit.models import AuditEvent
from app.domain.notifications.dispatcher import PURGED
from app.domain.notifications.models import OutboxEmail
from app.domain.people.models import Student
from app.domain.retention.models import RetentionPolicy
from app.domain.retention.policy import years_before
from app.domain.roster.models import RosterImport
from app.domain.tokens.models import OneTimeToken
from tests.guardian.factories import make_account
from tests.helpers import run_jobs
from tests.staff import factories as f


def _token(db: Session, board_id: int | None, expired_days_ago: float, n: int) -> None:
    db.add(
        OneTimeToken(
            purpose="email_signin",
            token_hash=f"{n:064x}",
            board_id=board_id,
            expires_at=utcnow() - timedelta(days=expired_days_ago),
        )
    )


def _age(path: Path, days: float) -> None:
    moment = (utcnow() - timedelta(days=days)).timestamp()
    os.utime(path, (moment, moment))


def test_the_daily_job_removes_what_the_policies_no_longer_keep(
    database: Database, db: Session, settings: Settings
) -> None:
    board = f.board(db)
    quiet = f.board(db, code="B2", name="別の市")
    school = f.school(db, board)
    left = f.student(db, school)
    left.status, left.deactivated_at = "inactive", years_before(utcnow(), 6)
    db.add(
        RetentionPolicy(
            board_id=board.id,
            student_years=5,
            audit_years=5,
            mail_body_days=7,
            upload_days=7,
            certificate_due_days=90,
        )
    )
    old_sent = utcnow() - timedelta(days=10)
    for board_id in (board.id, quiet.id):
        db.add(
            OutboxEmail(
                board_id=board_id,
                to_address="a@example.jp",
                subject="s",
                body_text="本文",
                purpose="p",
                status="sent",
                sent_at=old_sent,
            )
        )
    _token(db, board.id, 2, 1)  # expired two days ago: goes
    _token(db, board.id, 0.5, 2)  # expired half a day ago: a late click is still told "expired"
    _token(db, None, 3, 3)
    account = make_account(db)
    db.add_all(
        [
            UserSession(token_hash="e" * 64, account_id=account.id, expires_at=utcnow() - timedelta(days=2)),
            UserSession(token_hash="f" * 64, account_id=account.id, expires_at=utcnow() + timedelta(hours=2)),
        ]
    )
    checked = RosterImport(board_id=board.id, dry_run=True, status="done")
    db.add(checked)
    db.commit()
    uploads = Path(settings.upload_dir)
    uploads.mkdir(parents=True, exist_ok=True)
    stale_roster = uploads / f"roster-{checked.id}.zip"
    stale_choices = uploads / f"choices-{board.id}-{'a' * 64}.csv"
    fresh_choices = uploads / f"choices-{board.id}-{'b' * 64}.csv"
    certificate = uploads / "certificates" / str(board.id) / "kept.pdf"
    certificate.parent.mkdir(parents=True)
    for path in (stale_roster, stale_choices, fresh_choices, certificate):
        path.write_bytes(b"x")
    for path in (stale_roster, stale_choices, certificate):
        _age(path, 8)

    left_id = left.id
    run_jobs(database, settings)
    db.expire_all()

    assert db.scalar(select(Student).where(Student.id == left_id)) is None
    bodies = {
        row.board_id: row.body_text for row in db.execute(select(OutboxEmail.board_id, OutboxEmail.body_text))
    }
    assert bodies[board.id] == PURGED  # its own period: 7 days
    assert bodies[quiet.id] == "本文"  # MAIL_BODY_RETENTION_DAYS: 30
    assert set(db.scalars(select(OneTimeToken.token_hash))) == {f"{2:064x}"}
    assert set(db.scalars(select(UserSession.token_hash))) == {"f" * 64}
    assert not stale_roster.exists() and not stale_choices.exists()
    assert fresh_choices.exists() and certificate.exists()
    [audited] = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.run", AuditEvent.board_id == board.id)
    )
    assert audited.details["counts"] == {
        "students": 1,
        "expired_tokens": 1,
        "mail_bodies": 1,
        "uploads": 2,
    }
    none = db.scalar(
        select(AuditEvent).where(AuditEvent.action == "retention.run", AuditEvent.board_id.is_(None))
    )
    assert none is not None and none.details["counts"] == {"sessions": 1, "expired_tokens": 1}
    assert (
        db.scalar(
            select(AuditEvent).where(AuditEvent.action == "retention.run", AuditEvent.board_id == quiet.id)
        )
        is None
    )  # nothing went: nothing to audit

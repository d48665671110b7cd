from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import CLI, record
from app.domain.notifications.models import OutboxEmail
from app.domain.notifications.service import queue_email
from app.domain.tokens import service as tokens
from tests.helpers import SmtpSink, body_of, deliver_mail


def _queue(db: Session) -> OutboxEmail:
    email = queue_email(
        db,
        to="hogosha@example.jp",
        template="email/test.txt",
        context={"name": "山田"},
        purpose="test",
        language="ja",
        board_id=None,
    )
    db.commit()
    return email


def test_outbox_mail_reaches_a_real_smtp_server(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink
) -> None:
    _queue(db)
    assert deliver_mail(database, settings) == 1
    [message] = smtp.to("hogosha@example.jp")
    assert message["Subject"] == "テストメール"
    assert "山田" in body_of(message)
    assert deliver_mail(database, settings) == 0  # sent once only


def test_smtp_outage_delays_mail_but_loses_none(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink
) -> None:
    email = _queue(db)
    down = settings.model_copy(update={"smtp_port": 1})
    assert deliver_mail(database, down) == 0
    db.expire_all()
    row = db.get(OutboxEmail, email.id)
    assert row is not None and row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at > utcnow()
    row.next_attempt_at = utcnow()
    db.commit()
    assert deliver_mail(database, settings) == 1
    assert len(smtp.to("hogosha@example.jp")) == 1


def test_token_is_single_use_and_expires(db: Session) -> None:
    secret, _row = tokens.issue(db, "email_signin", timedelta(minutes=15), email="a@example.jp")
    assert tokens.redeem(db, "email_signin", secret).ok
    assert tokens.redeem(db, "email_signin", secret).problem is tokens.TokenProblem.USED
    assert tokens.redeem(db, "choice_confirmation", secret).problem is tokens.TokenProblem.UNKNOWN
    old, row = tokens.issue(db, "email_signin", timedelta(minutes=15))
    row.expires_at = utcnow() - timedelta(seconds=1)
    assert tokens.redeem(db, "email_signin", old).problem is tokens.TokenProblem.EXPIRED


def test_codes_are_typed_forgivingly() -> None:
    code = tokens.new_human_code()
    assert len(code) == 19
    assert tokens.normalize_code(code.lower().replace("-", " ")) == code


def test_rate_limit_counts_per_window(db: Session) -> None:
    key = tokens.rate_key("test", "127.0.0.1")
    results = [tokens.rate_limited(db, key, limit=3, window=timedelta(minutes=10)) for _ in range(5)]
    assert results == [False, False, False, True, True]


def test_audit_event_records_request_context(db: Session) -> None:
    record(
        db,
        "test.action",
        actor=CLI,
        board_id=None,
        target_type="thing",
        target_id=7,
        details={"count": 2},
    )
    db.commit()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "test.action"))
    assert event is not None and event.actor_type == "cli" and event.target_id == "7"


def test_database_errors_do_not_carry_personal_data(db: Session) -> None:
    """Error messages (and so logged tracebacks) never show the values of a statement."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from app.domain.boards.models import Board

    db.add_all([Board(code="dup", name="山田花子"), Board(code="dup", name="山田花子")])
    with pytest.raises(IntegrityError) as caught:
        db.flush()
    db.rollback()
    assert "山田花子" not in str(caught.value)

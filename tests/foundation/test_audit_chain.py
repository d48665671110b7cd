"""The audit log is a hash chain per board: a verifier names the first event that was
changed, removed or reordered; PostgreSQL refuses to rewrite or delete events at all."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import get_settings
from app.db import Database
from app.domain.audit.chain import verify
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import Actor, record
from app.domain.boards.models import Board
from tests.staff import factories as f

ON_POSTGRES = os.environ.get("TEST_DATABASE", "").startswith("postgres")


def _write(database: Database, board_id: int | None, count: int, action: str = "test.event") -> None:
    for n in range(count):
        with database.transaction() as db:
            record(db, action, actor=Actor("system"), board_id=board_id, target_type="n", target_id=n)


def _tamper(db: Session, statement: object) -> None:
    if ON_POSTGRES:
        db.execute(text("SET LOCAL tobira.removal = 'on'"))  # what an attacker with the database could do
    db.execute(statement)  # type: ignore[call-overload]
    db.commit()


@pytest.fixture
def board(db: Session) -> Board:
    board = f.board(db)
    db.commit()
    return board


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_each_board_has_an_intact_chain_and_a_rollback_leaves_no_gap(
    database: Database, db: Session, board: Board
) -> None:
    other = f.board(db, code="B2", name="別の市")
    db.commit()
    _write(database, board.id, 3)
    _write(database, other.id, 2)
    _write(database, None, 1)
    with pytest.raises(RuntimeError), database.transaction() as session:
        record(session, "test.rolled_back", actor=Actor("system"), board_id=board.id)
        raise RuntimeError("the change failed")
    _write(database, board.id, 1)

    seqs = db.scalars(select(AuditEvent.seq).where(AuditEvent.board_id == board.id).order_by(AuditEvent.id))
    assert list(seqs) == [1, 2, 3, 4]
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "test.rolled_back")) is None
    for board_id, count in ((board.id, 4), (other.id, 2), (None, 1)):
        verdict = verify(db, board_id)
        assert verdict.ok and verdict.checked == count


def test_a_changed_or_removed_event_is_named(
    database: Database, db: Session, board: Board, run: CliRunner
) -> None:
    _write(database, board.id, 5)
    assert run.invoke(main, ["audit", "verify", "--board", board.code]).exit_code == 0
    third = db.scalar(select(AuditEvent).where(AuditEvent.board_id == board.id, AuditEvent.seq == 3))
    assert third is not None

    _tamper(db, update(AuditEvent).where(AuditEvent.id == third.id).values(details={"rows": 0}))
    verdict = verify(db, board.id)
    assert (verdict.problem, verdict.first_bad_seq, verdict.first_bad_id) == ("changed", 3, third.id)
    result = run.invoke(main, ["audit", "verify", "--board", board.code])
    assert result.exit_code == 1 and f"event 3 (id {third.id}) was changed" in result.output

    _tamper(db, delete(AuditEvent).where(AuditEvent.id == third.id))
    assert (verify(db, board.id).problem, verify(db, board.id).first_bad_seq) == ("removed", 3)
    last = db.scalar(select(AuditEvent.id).where(AuditEvent.board_id == board.id, AuditEvent.seq == 5))
    _tamper(db, delete(AuditEvent).where(AuditEvent.seq > 2, AuditEvent.board_id == board.id))
    tail = verify(db, board.id)
    assert tail.problem == "removed" and tail.first_bad_seq == 3 and last is not None  # the head remembers 5


def test_the_head_can_be_kept_outside(database: Database, board: Board, run: CliRunner) -> None:
    _write(database, board.id, 2)
    result = run.invoke(main, ["audit", "head", "--board", board.code])
    assert result.exit_code == 0 and f"{board.code} seq=2 sha256=" in result.output


def test_events_and_their_boards_cannot_be_deleted(database: Database, db: Session, board: Board) -> None:
    _write(database, board.id, 1)
    with pytest.raises(IntegrityError):  # nothing cascades into the append-only log
        db.execute(delete(Board).where(Board.id == board.id))
        db.commit()
    db.rollback()
    if not ON_POSTGRES:
        return
    for statement in (update(AuditEvent).values(outcome="success"), delete(AuditEvent)):
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(statement)
        db.rollback()


@pytest.mark.skipif(not ON_POSTGRES, reason="concurrent writers need PostgreSQL")
def test_concurrent_transactions_append_one_valid_chain(
    database: Database, db: Session, board: Board
) -> None:
    threads = [threading.Thread(target=_write, args=(database, board.id, 15, f"t{n}")) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    verdict = verify(db, board.id)
    assert verdict.ok and verdict.checked == 60


def test_the_head_is_mailed_to_the_boards_data_protection_contact(
    database: Database, db: Session, board: Board, settings: object, smtp: object
) -> None:
    from app.domain.audit.models import AuditChainHead
    from app.domain.exports.audit_anchor import send_anchors
    from tests.helpers import SmtpSink, body_of, deliver_mail

    assert isinstance(smtp, SmtpSink)
    f.board(db, code="NOCONTACT", name="連絡先のない市")
    db.execute(update(Board).where(Board.id == board.id).values(contact_email="dpo@city.example.jp"))
    db.commit()
    _write(database, board.id, 3)
    head = db.get(AuditChainHead, board.id)
    assert head is not None

    assert send_anchors(database) == 1
    deliver_mail(database, settings)  # type: ignore[arg-type]
    [mail] = smtp.to("dpo@city.example.jp")
    assert head.hash in body_of(mail) and "監査ログ" in str(mail["Subject"])
    assert verify(db, board.id).ok  # the anchor's own audit event joins the chain


def test_the_board_contact_is_set_from_the_command_line(db: Session, board: Board, run: CliRunner) -> None:
    shown = run.invoke(main, ["board", "contact", "--board", board.code])
    assert shown.exit_code == 0 and "e-mail=-" in shown.output
    bad = run.invoke(main, ["board", "contact", "--board", board.code, "--jurisdiction", "Saitama"])
    assert bad.exit_code == 2 and "ISO 3166" in bad.output
    done = run.invoke(
        main,
        [
            "board",
            "contact",
            "--board",
            board.code,
            "--email",
            "dpo@city.example.jp",
            "--jurisdiction",
            "JP-11",
        ],
    )
    assert done.exit_code == 0 and "e-mail=dpo@city.example.jp" in done.output and "JP-11" in done.output
    db.expire_all()
    assert db.get_one(Board, board.id).contact_email == "dpo@city.example.jp"
    changed = db.scalar(select(AuditEvent).where(AuditEvent.action == "board.contact_changed"))
    assert changed is not None and changed.details == {"fields": ["contact_email", "jurisdiction"]}

"""With `DATABASE_REPLICA_URL` set, an export's rows are read from the replica while its
count and audit are written on the primary (docs/scaling.md)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import migrate
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import CLI
from app.domain.exports import service
from app.domain.exports.query import ExportFilters
from tests.staff import factories as f


def test_export_rows_come_from_the_replica_and_the_audit_stays_on_the_primary(
    db: Session, database_url: str, tmp_path: Path
) -> None:
    board = f.board(db)
    school = f.school(db, board, "S1", "第一小学校")
    _service, _version, definition = f.dashboard_service(db, board)
    opted = f.student(db, school, family="髙橋", given="一郎", sourced_id="stu-A")
    f.confirmed(db, definition, opted, "hide_all", channel="paper")
    db.commit()
    # A replica that has not caught up yet: the schema, none of the rows above.
    replica_url = f"sqlite:///{tmp_path / 'replica.sqlite3'}"
    migrate.upgrade(replica_url)
    routed = Database(database_url, replica_url)

    with routed.transaction() as primary:
        prepared = service.prepare(primary, ExportFilters(board_id=board.id), "csv", "ja", CLI)
    body = b"".join(service.stream(routed, prepared)).decode("utf-8-sig")

    assert prepared.row_count == 1  # counted on the primary …
    assert "stu-A" not in body and "髙橋" not in body  # … the rows read where the replica is
    assert body.count("\r\n") == 1  # the header line only
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "export.optouts")).all()
    assert [event.details["row_count"] for event in audit] == [1]


def test_without_a_replica_the_reader_is_the_primary(db: Session, database_url: str) -> None:
    plain = Database(database_url)
    assert plain.replica_engine is plain.engine

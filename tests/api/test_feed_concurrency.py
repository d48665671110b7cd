"""The change feed under concurrent commits (PostgreSQL): a downstream system polling
`/api/v1/changes` never skips a committed change, whatever order transactions commit in.

Each round holds one confirmation open while two more start, polls the feed meanwhile,
then lets everything commit and polls again. With cursors on event ids this lost a change
whenever a later id committed first; with feed positions taken in commit order it cannot.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.apikeys import service as keys
from app.domain.audit.service import Actor
from app.domain.choices.models import ChoiceEvent
from app.domain.choices.service import confirm_request, write_request
from tests.staff import factories as f

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE", "").startswith("postgres"),
    reason="concurrent writers need PostgreSQL (SQLite runs one writer at a time)",
)

ROUNDS = 100


def _confirm(
    database: Database,
    request_id: int,
    *,
    positioned: threading.Event | None = None,
    commit: threading.Event | None = None,
) -> None:
    with database.session() as session:
        confirm_request(session, session.get_one(ChoiceEvent, request_id), actor_account_id=None)
        if positioned is not None and commit is not None:
            positioned.set()
            assert commit.wait(30)
        session.commit()


def _waiting_on_locks(db: Session) -> int:
    return int(
        db.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        or 0
    )


def _poll(client: TestClient, secret: str, cursor: str | None) -> tuple[list[dict[str, Any]], str]:
    changes: list[dict[str, Any]] = []
    while True:
        params = {"limit": "50"} | ({"since": cursor} if cursor else {})
        body = client.get(
            "/api/v1/changes", params=params, headers={"Authorization": f"Bearer {secret}"}
        ).json()
        changes += body["changes"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return changes, cursor


def test_no_committed_change_is_ever_skipped(client: TestClient, db: Session, database: Database) -> None:
    board = f.board(db)
    school = f.school(db, board)
    _service, _version, definition = f.dashboard_service(db, board)
    students = [f.student(db, school, sourced_id=f"stu-{n}") for n in range(3)]
    secret, _key = keys.create_key(db, board_id=board.id, name="Dashboard", actor=Actor("system"))
    db.commit()
    _changes, cursor = _poll(client, secret, None)

    skipped = 0
    for round_number in range(ROUNDS):
        value = "hide_all" if round_number % 2 == 0 else "show"
        requests = [
            write_request(
                db,
                definition=definition,
                student_id=student.id,
                value=value,
                category_codes=[],
                channel="web",
                actor_account_id=None,
                guardian_id=None,
            ).id
            for student in students
        ]
        db.commit()

        # The first confirmation takes its position and stays open; two more start after it.
        positioned, release = threading.Event(), threading.Event()
        held = threading.Thread(
            target=_confirm,
            args=(database, requests[0]),
            kwargs={"positioned": positioned, "commit": release},
        )
        held.start()
        assert positioned.wait(30)
        deadline = time.monotonic() + 30
        others = [threading.Thread(target=_confirm, args=(database, r)) for r in requests[1:]]
        for thread in others:
            thread.start()
        while _waiting_on_locks(db) < 2:  # both queue behind the open transaction
            assert time.monotonic() < deadline, "the later confirmations did not queue"
            time.sleep(0.005)
            db.rollback()
        seen, cursor = _poll(client, secret, cursor)
        assert seen == []  # nothing committed yet that the feed could hand out

        release.set()
        for thread in [held, *others]:
            thread.join(30)
        seen, cursor = _poll(client, secret, cursor)
        delivered = {change["student_id"] for change in seen}
        skipped += len({s.sourced_id for s in students} - delivered)
        expected_action = "add" if value == "hide_all" else "remove"
        assert all(change["action"] == expected_action for change in seen)
        db.rollback()

    assert skipped == 0

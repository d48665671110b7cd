"""A worker killed mid-work (SIGKILL, as when a machine dies): after a restart the work is
finished, and no e-mail arrives twice except the one that was in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.boards.models import Board
from app.domain.jobs.models import Job
from app.domain.notifications.models import OutboxEmail
from app.domain.notifications.service import queue_email
from app.domain.people.models import Student
from app.domain.roster.jobs import queue_import
from app.domain.roster.models import RosterImport
from bench.roster_generate import generate, zip_folder
from tests.conftest import TEST_SECRET
from tests.helpers import SmtpSink, free_port

ROOT = Path(__file__).resolve().parents[2]


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


class Workers:
    """Starts `portal worker` processes against the test database, as an operator would."""

    def __init__(self, database_url: str, smtp_port: int) -> None:
        self.env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "MAIL_CLAIM_SECONDS": "1",
            "JOB_STALE_SECONDS": "1",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--interval", "0.1"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=20)


@pytest.fixture
def slow_smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port(), delay=0.05)
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def workers(database_url: str, slow_smtp: SmtpSink) -> Iterator[Workers]:
    pool = Workers(database_url, slow_smtp.port)
    yield pool
    pool.stop_all()


def test_killed_mid_batch_of_mails_only_the_one_in_flight_can_arrive_twice(
    db: Session, database: Database, slow_smtp: SmtpSink, workers: Workers
) -> None:
    addresses = [f"guardian{n:02}@example.jp" for n in range(40)]
    for address in addresses:
        queue_email(
            db,
            to=address,
            template="email/test.txt",
            context={"name": address},
            purpose="test",
            language="ja",
            board_id=None,
        )
    db.commit()

    first = workers.start()
    _wait(lambda: len(slow_smtp.messages) >= 8, 60, "the first mails")
    first.send_signal(signal.SIGKILL)
    first.wait()
    delivered_before = len(slow_smtp.messages)
    assert delivered_before < len(addresses), "the worker finished before it could be stopped"

    workers.start()

    def all_sent() -> bool:
        with database.session() as session:
            return session.scalar(select(func.count()).where(OutboxEmail.status != "sent")) == 0

    _wait(all_sent, 90, "the rest of the mails")
    received = Counter(str(message["To"]) for message in slow_smtp.messages)
    assert set(received) == set(addresses)  # nobody was left out
    twice = [address for address, count in received.items() if count > 1]
    assert len(twice) <= 1 and max(received.values()) <= 2, received


# Large enough that the set-based import on PostgreSQL is still running when the worker dies.
STUDENTS = 30_000


def test_killed_mid_roster_import_the_import_finishes_after_restart(
    db: Session, database: Database, settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    folder = tmp_path / "roster"
    folder.mkdir()
    generate(folder, students=STUDENTS)
    upload = zip_folder(folder, tmp_path / "roster.zip")
    board = Board(code="bench", name="とびら市教育委員会")
    db.add(board)
    db.flush()
    row = RosterImport(board_id=board.id, source_name="roster.zip", status="running")
    db.add(row)
    db.flush()
    job = queue_import(db, row=row, path=upload, account_id=None, allow_cp932=False)
    db.commit()

    first = workers.start()

    def claimed() -> bool:
        with database.session() as session:
            return session.scalar(select(Job.status).where(Job.id == job.id)) == "running"

    _wait(claimed, 60, "a worker to start the import")
    time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    db.expire_all()
    assert db.get(RosterImport, row.id).status == "running"  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).select_from(Student)) == 0  # nothing half-written

    workers.start()

    def finished() -> bool:
        with database.session() as session:
            return session.scalar(select(RosterImport.status).where(RosterImport.id == row.id)) != "running"

    _wait(finished, 180, "the import to finish after the restart")
    db.expire_all()
    done = db.get(RosterImport, row.id)
    assert done is not None and done.status == "done", done.summary if done else None
    assert db.scalar(select(func.count()).select_from(Student)) == STUDENTS
    assert db.scalar(select(Job.attempts).where(Job.id == job.id)) == 2
    assert not upload.exists()  # the upload is removed once imported

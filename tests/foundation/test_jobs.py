"""Durable jobs: queued with the change that asks for them, claimed once, retried, recovered."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.domain.jobs import service as jobs
from app.domain.jobs.models import Job
from app.domain.jobs.runner import JobKind, JobRun, Worker
from app.errors import Invalid


def _worker(database: Database, *kinds: JobKind, **options: object) -> Worker:
    return Worker(database, kinds, poll_interval=0.05, **options)  # type: ignore[arg-type]


def test_a_job_asked_for_in_a_rolled_back_transaction_never_runs(database: Database, db: Session) -> None:
    ran: list[int] = []
    kind = JobKind("test.echo", lambda _db, run: ran.append(run.id))
    with database.session() as session:
        jobs.enqueue(session, "test.echo")
        session.rollback()
    committed = jobs.enqueue(db, "test.echo", {"n": 1})
    db.commit()
    assert _worker(database, kind).run_round() == 1
    assert ran == [committed.id]
    db.refresh(committed)
    assert committed.status == "succeeded" and committed.finished_at is not None


def test_a_failing_job_is_retried_with_backoff_then_failed_visibly(database: Database, db: Session) -> None:
    given_up: list[str] = []

    def explode(_database: Database, _run: JobRun) -> None:
        raise ConnectionError("smtp is down")

    kind = JobKind("test.explode", explode, give_up=lambda _d, _r, message: given_up.append(message))
    job = jobs.enqueue(db, "test.explode", max_attempts=2)
    db.commit()
    worker = _worker(database, kind)
    assert worker.run_round() == 1
    db.refresh(job)
    assert job.status == "queued" and job.attempts == 1 and job.run_after > utcnow()
    assert worker.run_round() == 0  # backing off
    db.execute(update(Job).where(Job.id == job.id).values(run_after=utcnow()))
    db.commit()
    assert worker.run_round() == 1
    db.refresh(job)
    assert job.status == "failed" and job.attempts == 2
    assert job.last_error == "ConnectionError (attempt 2)"
    assert given_up == ["ConnectionError (attempt 2)"]


def test_refused_work_is_not_retried(database: Database, db: Session) -> None:
    def refuse(_database: Database, _run: JobRun) -> None:
        raise Invalid("Enter a valid e-mail address.")

    job = jobs.enqueue(db, "test.refuse", max_attempts=5)
    db.commit()
    _worker(database, JobKind("test.refuse", refuse)).run_round()
    db.refresh(job)
    assert job.status == "failed" and job.attempts == 1
    assert job.last_error == "Enter a valid e-mail address."


def test_a_job_whose_worker_died_is_taken_over(database: Database, db: Session) -> None:
    ran: list[int] = []
    job = jobs.enqueue(db, "test.echo")
    db.commit()
    # Claimed by a worker that then stopped renewing its heartbeat (killed).
    with database.transaction() as session:
        assert jobs.claim_next(session, "dead-worker", ["test.echo"], timedelta(minutes=2)) is not None
    kind = JobKind("test.echo", lambda _db, run: ran.append(run.attempt))
    fresh = _worker(database, kind, stale_after=timedelta(seconds=60))
    assert fresh.run_round() == 0  # the heartbeat is recent: still someone else's
    db.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - timedelta(seconds=61)))
    db.commit()
    assert fresh.run_round() == 1
    assert ran == [2]
    db.refresh(job)
    assert job.status == "succeeded" and job.locked_by == fresh.worker_id


def test_a_job_that_keeps_killing_its_worker_is_failed_with_a_message(
    database: Database, db: Session
) -> None:
    given_up: list[str] = []
    job = jobs.enqueue(db, "test.echo", max_attempts=1)
    db.commit()
    with database.transaction() as session:
        jobs.claim_next(session, "dead-worker", ["test.echo"], timedelta(minutes=2))
    db.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - timedelta(hours=1)))
    db.commit()
    kind = JobKind(
        "test.echo",
        lambda _db, _run: pytest.fail("must not run again"),
        give_up=lambda *a: given_up.append(a[2]),
    )
    _worker(database, kind).run_round()
    db.refresh(job)
    assert job.status == "failed"
    assert "stopped 1 times before it finished" in job.last_error
    assert given_up == [job.last_error]


def test_the_heartbeat_keeps_a_long_job_its_own(database: Database, db: Session) -> None:
    job = jobs.enqueue(db, "test.slow")
    db.commit()
    beats: list[object] = []

    def slow(_database: Database, run: JobRun) -> None:
        for _ in range(6):
            time.sleep(0.1)
            with database.session() as session:
                beats.append(session.scalar(select(Job.heartbeat_at).where(Job.id == run.id)))

    worker = _worker(database, JobKind("test.slow", slow), heartbeat_every=timedelta(seconds=0.1))
    worker.run_round()
    assert len(set(beats)) > 2  # renewed while it ran
    db.refresh(job)
    assert job.status == "succeeded"


def test_periodic_work_stays_one_row(database: Database, db: Session) -> None:
    ticks: list[int] = []
    kind = JobKind("test.tick", lambda _db, run: ticks.append(run.id), every=timedelta(minutes=5))
    worker = _worker(database, kind)
    for _ in range(3):
        worker.schedule_periodic()
        assert worker.run_round() == 1
        assert worker.run_round() == 0  # the next run is five minutes away
        db.execute(update(Job).where(Job.kind == "test.tick").values(run_after=utcnow()))
        db.commit()
    rows = list(db.scalars(select(Job).where(Job.kind == "test.tick")))
    assert len(rows) == 1 and rows[0].status == "queued" and rows[0].singleton_key == "test.tick"
    assert ticks == [rows[0].id] * 3


def test_concurrent_workers_never_run_one_job_twice(database: Database, db: Session) -> None:
    for n in range(30):
        jobs.enqueue(db, "test.count", {"n": n})
    db.commit()
    runs: Counter[int] = Counter()
    running: set[int] = set()
    overlaps: list[int] = []
    lock = threading.Lock()

    def count(_database: Database, run: JobRun) -> None:
        with lock:
            if run.id in running:
                overlaps.append(run.id)
            running.add(run.id)
            runs[run.id] += 1
        time.sleep(0.02)
        with lock:
            running.discard(run.id)

    kind = JobKind("test.count", count)
    workers = [_worker(database, kind) for _ in range(4)]
    threads = [threading.Thread(target=w.run_round) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == []
    assert len(runs) == 30 and set(runs.values()) == {1}
    done = db.scalars(select(Job.status).where(Job.kind == "test.count")).all()
    assert set(done) == {"succeeded"}

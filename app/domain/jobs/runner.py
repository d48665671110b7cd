"""The worker: claims due jobs, runs each outside any claim transaction, renews its heartbeat
while it runs, and records the outcome. Several workers (processes or machines) can run at
once; a job never runs twice at the same time."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.db import Database
from app.domain.jobs import service
from app.domain.jobs.models import Job
from app.errors import TobiraError

log = logging.getLogger("tobira.jobs")


@dataclass
class JobRun:
    """What a handler gets: the job's id, kind, payload and which attempt this is."""

    id: int
    kind: str
    payload: dict[str, Any]
    board_id: int | None
    attempt: int

    def save_progress(self, db: Session, **changes: Any) -> None:
        """Store progress in the job's payload within `db`'s transaction, so work and its
        bookmark commit together and a restarted job resumes after what was committed."""
        self.payload = {**self.payload, **changes}
        job = db.get(Job, self.id)
        if job is not None:
            job.payload = dict(self.payload)


@dataclass(frozen=True)
class JobKind:
    kind: str
    run: Callable[[Database, JobRun], None]
    # Called once when the job has failed for good, with a message for administrators.
    give_up: Callable[[Database, JobRun, str], None] | None = None
    # Periodic work: queued again this long after each run (one at a time, on one row).
    every: timedelta | None = None


@dataclass
class Worker:
    database: Database
    kinds: Sequence[JobKind]
    # Work the worker does every round besides jobs (the e-mail outbox has its own claims).
    rounds: Sequence[Callable[[], object]] = ()
    stale_after: timedelta = timedelta(minutes=2)
    heartbeat_every: timedelta = timedelta(seconds=20)
    poll_interval: float = 1.0
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )

    def __post_init__(self) -> None:
        self._by_kind = {kind.kind: kind for kind in self.kinds}

    def schedule_periodic(self) -> None:
        with self.database.transaction() as db:
            for kind in self.kinds:
                if kind.every is not None:
                    service.ensure_singleton(db, kind.kind)

    def run_round(self, max_jobs: int = 100) -> int:
        """One round: the extra steps, then the jobs that are due (up to `max_jobs`, so that
        the extra steps — e-mail — come round again soon). Returns how many jobs ran."""
        for step in self.rounds:
            try:
                step()
            except Exception:
                log.exception("worker round step failed")
        ran = 0
        while ran < max_jobs and self.run_one():
            ran += 1
        return ran

    def run_one(self) -> bool:
        with self.database.transaction() as db:
            job = service.claim_next(db, self.worker_id, list(self._by_kind), self.stale_after)
            if job is None:
                return False
            exhausted = service.give_up_exhausted(db, job)
            run = JobRun(job.id, job.kind, dict(job.payload), job.board_id, job.attempts)
            message = job.last_error
        kind = self._by_kind[run.kind]
        if exhausted:
            log.warning("job %s (%s) failed: no attempts left", run.id, run.kind)
            self._give_up(kind, run, message)
            return True
        self._execute(kind, run)
        return True

    def _execute(self, kind: JobKind, run: JobRun) -> None:
        stop_heartbeat = threading.Event()
        heartbeat = threading.Thread(target=self._beat, args=(run.id, stop_heartbeat), daemon=True)
        heartbeat.start()
        failure: tuple[str, bool] | None = None
        try:
            kind.run(self.database, run)
        except TobiraError as exc:  # refused work: trying again would be refused again
            failure = (exc.text("en") or type(exc).__name__, False)
        except Exception as exc:
            log.exception("job %s (%s) attempt %s failed", run.id, run.kind, run.attempt)
            failure = (f"{type(exc).__name__} (attempt {run.attempt})", True)
        finally:
            stop_heartbeat.set()
            heartbeat.join()
        with self.database.transaction() as db:
            if failure is None:
                service.succeed(db, run.id, self.worker_id, every=kind.every)
                return
            failed = service.retry_or_fail(db, run.id, self.worker_id, failure[0], retryable=failure[1])
        if failed is not None:
            self._give_up(kind, run, failure[0])

    def _give_up(self, kind: JobKind, run: JobRun, message: str) -> None:
        if kind.give_up is None:
            return
        try:
            kind.give_up(self.database, run, message)
        except Exception:
            log.exception("give-up step of job %s (%s) failed", run.id, run.kind)

    def _beat(self, job_id: int, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_every.total_seconds()):
            try:
                with self.database.transaction() as db:
                    service.renew(db, job_id, self.worker_id)
            except Exception:  # SQLite may be busy with the job's own writes; try next beat
                log.warning("could not renew the heartbeat of job %s", job_id)

    def run_until(self, stop: threading.Event) -> None:
        log.info("worker %s started", self.worker_id)
        self.schedule_periodic()
        while not stop.is_set():
            try:
                self.run_round()
            except Exception:
                log.exception("worker round failed")
            stop.wait(self.poll_interval)
        log.info("worker %s stopped", self.worker_id)

"""Ask for background work in the caller's transaction, and the worker's side: claim, renew,
finish. Claims are short transactions of their own; the work runs outside them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.jobs.models import ACTIVE, Job

BASE_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(minutes=30)


def enqueue(
    db: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    board_id: int | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 3,
) -> Job:
    """Queue `kind`; it runs only if the caller's transaction commits (flushes, never commits)."""
    job = Job(
        kind=kind,
        payload=dict(payload or {}),
        board_id=board_id,
        run_after=run_after or utcnow(),
        max_attempts=max_attempts,
    )
    db.add(job)
    db.flush()
    return job


def ensure_singleton(db: Session, kind: str, *, run_after: datetime | None = None) -> None:
    """Queue `kind` unless one is queued or running already (periodic work: one at a time)."""
    exists = db.scalar(select(Job.id).where(Job.singleton_key == kind, Job.status.in_(ACTIVE)).limit(1))
    if exists is not None:
        return
    try:
        with db.begin_nested():
            db.add(Job(kind=kind, singleton_key=kind, run_after=run_after or utcnow(), max_attempts=1000))
    except IntegrityError:  # another worker queued it at the same moment
        pass


def backoff(attempts: int) -> timedelta:
    delay: timedelta = BASE_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


def claim_next(db: Session, worker_id: str, kinds: list[str], stale_after: timedelta) -> Job | None:
    """Take the next due job, or one whose worker stopped renewing its heartbeat.

    PostgreSQL skips rows another worker holds (FOR UPDATE SKIP LOCKED); SQLite writes one at a
    time, and the conditional UPDATE lets only one claimer win either way.
    """
    now = utcnow()
    claimable = or_(
        and_(Job.status == "queued", Job.run_after <= now),
        and_(Job.status == "running", Job.heartbeat_at < now - stale_after),
    )
    candidate = db.scalar(
        select(Job.id)
        .where(claimable, Job.kind.in_(kinds))
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if candidate is None:
        return None
    claimed = db.execute(
        update(Job)
        .where(Job.id == candidate, claimable)
        .values(
            status="running", locked_by=worker_id, heartbeat_at=now, started_at=now, attempts=Job.attempts + 1
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.execute(
        select(Job).where(Job.id == candidate).execution_options(populate_existing=True)
    ).scalar_one()


def renew(db: Session, job_id: int, worker_id: str) -> bool:
    """The worker is alive: move the heartbeat on (False if the job is no longer ours)."""
    result = db.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.status == "running")
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _mine(db: Session, job_id: int, worker_id: str) -> Job | None:
    job = db.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.locked_by != worker_id or job.status != "running":
        return None
    return job


def succeed(db: Session, job_id: int, worker_id: str, *, every: timedelta | None = None) -> None:
    """Done. A periodic job (`every`) is queued again on the same row, so rows do not pile up."""
    job = _mine(db, job_id, worker_id)
    if job is None:
        return
    job.finished_at = utcnow()
    job.last_error = ""
    if every is not None:
        job.status, job.attempts, job.run_after, job.locked_by = "queued", 0, utcnow() + every, ""
    else:
        job.status = "succeeded"


def retry_or_fail(
    db: Session, job_id: int, worker_id: str, message: str, *, retryable: bool = True
) -> Job | None:
    """After a failed attempt: queue it again with backoff, or mark it failed. Returns the job
    when it has failed for good (so the caller can run the kind's give-up step)."""
    job = _mine(db, job_id, worker_id)
    if job is None:
        return None
    job.last_error = message[:2000]
    job.locked_by = ""
    if retryable and job.attempts < job.max_attempts:
        job.status = "queued"
        job.run_after = utcnow() + backoff(job.attempts)
        return None
    job.status = "failed"
    job.finished_at = utcnow()
    return job


def give_up_exhausted(db: Session, job: Job) -> bool:
    """A job claimed again after its worker died, with no attempts left: fail it visibly."""
    if job.attempts <= job.max_attempts:
        return False
    job.status = "failed"
    job.finished_at = utcnow()
    job.locked_by = ""
    job.last_error = (
        f"The work stopped {job.max_attempts} times before it finished (the process running it ended)."
    )
    return True

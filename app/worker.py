"""The background worker's wiring: which job kinds exist and what every round does.

`portal worker` runs it as its own process (any number of them); with WORKER_IN_APP=true
(the embedded SQLite default and the demo) the app process runs one as well. Either way the
work itself is durable rows: a restart loses nothing and finishes what was left.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from app import i18n
from app.config import Settings
from app.db import Database
from app.domain.audit.service import SYSTEM, record
from app.domain.choices import choice_announcements
from app.domain.choices import jobs as choice_jobs
from app.domain.exports import audit_anchor
from app.domain.incidents import notify as incident_notify
from app.domain.jobs.runner import JobKind, JobRun, Worker
from app.domain.notifications import dispatcher
from app.domain.reach import reminders
from app.domain.retention import jobs as retention_jobs
from app.domain.retention import policy as retention_policy
from app.domain.roster import jobs as roster_jobs

KINDS = (
    JobKind(roster_jobs.IMPORT, roster_jobs.run_import_job, give_up=roster_jobs.give_up_import),
    JobKind(choice_jobs.ANNOUNCE, choice_jobs.run_announcement),
    JobKind(choice_jobs.ANNOUNCE_COVERAGE, choice_jobs.run_coverage_announcement),
    JobKind(choice_announcements.ANNOUNCE_CHOICE, choice_announcements.run_choice_announcement),
    JobKind(choice_jobs.EXPIRE, choice_jobs.run_expiry, every=choice_jobs.EXPIRY_EVERY),
    JobKind(audit_anchor.ANCHOR, audit_anchor.run_anchor, every=audit_anchor.ANCHOR_EVERY),
    JobKind(incident_notify.NOTIFY, incident_notify.run_notify),
)


def _purge_kind(settings: Settings) -> JobKind:
    """Sent mail's bodies go after MAIL_BODY_RETENTION_DAYS (the setting decides the kind)."""
    retention = timedelta(days=settings.mail_body_retention_days)

    def purge(database: Database, _run: JobRun) -> None:
        with database.transaction() as db:
            own_period = retention_policy.boards_with_own_mail_period(db)  # the retention run's
            emptied = dispatcher.purge_sent_bodies(db, retention, skip_boards=own_period)
            if emptied:
                record(
                    db,
                    "notifications.bodies_purged",
                    actor=SYSTEM,
                    board_id=None,
                    details={"emails": emptied, "retention_days": retention.days},
                )

    return JobKind(dispatcher.PURGE, purge, every=dispatcher.PURGE_EVERY)


def make_worker(database: Database, settings: Settings, *, poll_interval: float = 1.0) -> Worker:
    i18n.configure(settings.offered_languages, settings.default_language)
    return Worker(
        database,
        (*KINDS, _purge_kind(settings), retention_jobs.daily_kind(settings), reminders.job_kind(settings)),
        rounds=[lambda: dispatcher.dispatch_pending(database, settings)],
        stale_after=timedelta(seconds=settings.job_stale_seconds),
        heartbeat_every=timedelta(seconds=max(settings.job_stale_seconds / 4, 0.2)),
        poll_interval=poll_interval,
    )


def start_in_process(database: Database, settings: Settings) -> tuple[threading.Thread, threading.Event]:
    """A worker inside this process (embedded default, demo); stop it with the event."""
    stop = threading.Event()
    worker = make_worker(database, settings)
    thread = threading.Thread(target=worker.run_until, args=(stop,), daemon=True, name="worker")
    thread.start()
    return thread, stop

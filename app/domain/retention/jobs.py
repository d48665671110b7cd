"""The retention run as periodic work of the durable job runner (`portal worker`): every day,
every board, for real. `portal retention run` calls the same function."""

from __future__ import annotations

from datetime import timedelta

from app.config import Settings
from app.db import Database
from app.domain.audit.service import SYSTEM
from app.domain.jobs.runner import JobKind, JobRun
from app.domain.retention import run

DAILY = "retention.daily"
DAILY_EVERY = timedelta(days=1)


def daily_kind(settings: Settings) -> JobKind:
    def daily(database: Database, _run: JobRun) -> None:
        run.run(database, settings, dry_run=False, actor=SYSTEM)

    return JobKind(DAILY, daily, every=DAILY_EVERY)

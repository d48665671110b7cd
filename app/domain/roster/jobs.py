"""The roster import as a job: the upload page saves the file and queues this in the same
transaction as the RosterImport row; a worker runs it. A worker that dies mid-import leaves
nothing written (the import is one transaction); the job is claimed again and re-run, and after
its last attempt the import is marked failed with a message the administrator sees.

Uploads are checked first (a dry run), then imported when the administrator confirms the
review: the file stays in UPLOAD_DIR (`upload_path`) until an import of it has been applied."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.domain.audit.service import SYSTEM, Actor
from app.domain.jobs import service as jobs
from app.domain.jobs.models import Job
from app.domain.jobs.runner import JobRun
from app.domain.roster.models import RosterImport
from app.domain.roster.review import NOTHING_ACCEPTED, Acceptance
from app.domain.roster.service import run_import

IMPORT = "roster.import"


def upload_path(upload_dir: Path, first_import_id: int) -> Path:
    """Where an upload waits: named after the dry run that checked it."""
    return upload_dir / f"roster-{first_import_id}.zip"


def queue_import(
    db: Session,
    *,
    row: RosterImport,
    path: Path,
    account_id: int | None,
    allow_cp932: bool,
    accept: Acceptance = NOTHING_ACCEPTED,
) -> Job:
    payload = {
        "import_id": row.id,
        "path": str(path),
        "account_id": account_id,
        "dry_run": row.dry_run,
        "allow_cp932": allow_cp932,
        "accept_other_district": accept.other_district,
        "accept_deactivations": accept.deactivations,
    }
    return jobs.enqueue(db, IMPORT, payload, board_id=row.board_id, max_attempts=3)


def run_import_job(database: Database, run: JobRun) -> None:
    path = Path(str(run.payload["path"]))
    if not path.is_file():  # already finished by an earlier attempt, or the upload is gone
        _mark_failed(database, int(run.payload["import_id"]), "upload_missing")
        return
    import_id = int(run.payload["import_id"])
    if run.attempt > 1:  # an earlier attempt ended it as failed; this one is running again
        with database.transaction() as db:
            db.execute(update(RosterImport).where(RosterImport.id == import_id).values(status="running"))
    # If this raises, run_import has marked the row failed; the upload stays so that a later
    # attempt (e.g. after the database was briefly away) can still succeed.
    report = run_import(
        database,
        path,
        board_id=run.board_id,
        dry_run=bool(run.payload["dry_run"]),
        allow_cp932=bool(run.payload["allow_cp932"]),
        accept=Acceptance(
            other_district=bool(run.payload.get("accept_other_district")),
            deactivations=bool(run.payload.get("accept_deactivations")),
        ),
        actor=SYSTEM if run.payload["account_id"] is None else Actor.account(int(run.payload["account_id"])),
        import_id=import_id,
    )
    if report.status in ("refused", "failed") or (report.status == "done" and not report.dry_run):
        path.unlink(missing_ok=True)  # nothing more can be done with it


def give_up_import(database: Database, run: JobRun, message: str) -> None:
    _mark_failed(database, int(run.payload["import_id"]), "interrupted")
    Path(str(run.payload["path"])).unlink(missing_ok=True)


def _mark_failed(database: Database, import_id: int, failure: str) -> None:
    with database.transaction() as db:
        db.execute(
            update(RosterImport)
            .where(RosterImport.id == import_id, RosterImport.status.in_(("running", "failed")))
            .values(status="failed", finished_at=utcnow(), summary={"failure": failure})
        )

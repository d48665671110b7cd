"""Uploads never confirmed: roster files a dry run checked (`roster-<import id>.zip`), the
temporary files of an upload cut short (`roster-<random>.zip`), and checked carry-over files
(`choices-<board>-<sha256>.csv`), in UPLOAD_DIR. Erasure certificates live in a folder of
their own there and are never touched."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.jobs.models import ACTIVE, Job
from app.domain.roster.jobs import IMPORT
from app.domain.roster.models import RosterImport

ROSTER = re.compile(r"^roster-(\d+)\.zip$")
ROSTER_TEMPORARY = re.compile(r"^roster-[A-Za-z0-9_]+\.zip$")
CHOICES = re.compile(r"^choices-(\d+)-[0-9a-f]{64}\.csv$")


def stale(db: Session, upload_dir: Path, *, board_id: int | None, before: datetime) -> list[Path]:
    """Files last written before `before` that belong to the board (None: to no board, or to
    an import that no longer exists), leaving out any a queued or running import still reads."""
    if not upload_dir.is_dir():
        return []
    cutoff = before.timestamp()
    candidates = [p for p in upload_dir.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    if not candidates:
        return []
    in_use = {
        str((job.payload or {}).get("path"))
        for job in db.scalars(select(Job).where(Job.kind == IMPORT, Job.status.in_(ACTIVE)))
    }
    import_ids = [int(m.group(1)) for p in candidates if (m := ROSTER.match(p.name))]
    rows = db.execute(select(RosterImport.id, RosterImport.board_id).where(RosterImport.id.in_(import_ids)))
    boards = {row.id: row.board_id for row in rows} if import_ids else {}
    chosen = []
    for path in candidates:
        if str(path) in in_use:
            continue
        if roster := ROSTER.match(path.name):
            owner = boards.get(int(roster.group(1)))
        elif choices := CHOICES.match(path.name):
            owner = int(choices.group(1))
        elif ROSTER_TEMPORARY.match(path.name):
            owner = None
        else:
            continue  # not ours to judge
        if owner == board_id:
            chosen.append(path)
    return sorted(chosen)

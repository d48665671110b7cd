"""Run one roster import: validate everything, then apply it all in one transaction.

Used by `portal roster import` and by the upload page (in a worker thread). The
RosterImport row that tracks the run is written in its own short transactions so that
its progress and final report survive a refused or dry run.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app.audit.service import CLI, Actor, record
from app.boards.models import Board
from app.db import Database, utcnow
from app.roster import spec
from app.roster.apply import Applier
from app.roster.models import RosterImport
from app.roster.problems import Problem, Problems
from app.roster.progress import Tracker
from app.roster.reading import RosterSource
from app.roster.validation import RosterIndex, Validator

log = logging.getLogger("tobira.roster")
COUNT_KINDS = ("created", "changed", "deactivated", "unchanged")
ENTITIES = ("schools", "school_years", "classes", "students", "guardians", "links")


@dataclass
class ImportReport:
    status: str  # done | refused | failed
    dry_run: bool
    mode: str = "bulk"
    board_code: str = ""
    board_created: bool = False
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    confirmations_cancelled: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_total: int = 0
    import_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def changes(self) -> int:
        return sum(
            counts.get(kind, 0)
            for counts in self.counts.values()
            for kind in ("created", "changed", "deactivated")
        )

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "board_code": self.board_code,
            "board_created": self.board_created,
            "counts": self.counts,
            "confirmations_cancelled": self.confirmations_cancelled,
            "problems": [p.as_dict() for p in self.problems],
            "problem_total": self.problem_total,
        }

    @classmethod
    def from_row(cls, row: RosterImport) -> ImportReport:
        data = row.summary or {}
        return cls(
            status=row.status,
            dry_run=row.dry_run,
            mode=str(data.get("mode", row.mode)),
            board_code=str(data.get("board_code", "")),
            board_created=bool(data.get("board_created", False)),
            counts=dict(data.get("counts", {})),
            confirmations_cancelled=int(data.get("confirmations_cancelled", 0)),
            problems=[Problem.from_dict(p) for p in data.get("problems", [])],
            problem_total=int(data.get("problem_total", 0)),
            import_id=row.id,
        )


def start_import(
    database: Database, *, board_id: int | None, dry_run: bool, source_name: str, mode: str = "bulk"
) -> int:
    """The tracking row, committed at once so that a progress page can show it."""
    with database.transaction() as db:
        row = RosterImport(
            board_id=board_id, dry_run=dry_run, source_name=source_name[:255], status="running", mode=mode
        )
        db.add(row)
        db.flush()
        return row.id


def _finish(database: Database, import_id: int, report: ImportReport, board_id: int | None) -> None:
    with database.transaction() as db:
        db.execute(
            update(RosterImport)
            .where(RosterImport.id == import_id)
            .values(
                status=report.status,
                finished_at=utcnow(),
                progress=100,
                mode=report.mode,
                summary=report.summary(),
                board_id=board_id,
            )
        )


def _planned_bytes(source: RosterSource) -> int:
    """Every file is read once to validate; users.csv three more times (students' guardians
    and schools, then guardians, then students are written)."""
    files = sum(source.size(file_spec.name) for file_spec in spec.FILES.values())
    return files + 3 * source.size(spec.FILES["users"].name)


def _mode(index: RosterIndex) -> str:
    return "delta" if "delta" in index.modes.values() else "bulk"


def _district(index: RosterIndex) -> tuple[str, str] | None:
    for sid, org in index.orgs.items():
        if org.type == "district" and org.status == "active":
            return sid, org.name
    return None


def run_import(
    database: Database,
    path: Path,
    *,
    board_code: str | None = None,
    board_id: int | None = None,
    dry_run: bool = False,
    allow_cp932: bool = False,
    actor: Actor = CLI,
    import_id: int | None = None,
    listener: Callable[[int, int], None] | None = None,
    source_name: str = "",
) -> ImportReport:
    """Validate the roster at `path` and, when it is sound, apply it (or roll back a dry run)."""
    if import_id is None:
        import_id = start_import(
            database, board_id=board_id, dry_run=dry_run, source_name=source_name or path.name
        )
    tracker = Tracker(database, import_id, listener)
    problems = Problems()
    report = ImportReport(status="refused", dry_run=dry_run, board_code=board_code or "", import_id=import_id)
    final_board_id = board_id
    try:
        try:
            source = RosterSource(path)
        except (ValueError, OSError, zipfile.BadZipFile):
            problems.add(path.name, 0, "", "not_a_roster")
        else:
            with source, database.session() as db:
                board = (
                    db.get(Board, board_id)
                    if board_id is not None
                    else db.scalar(select(Board).where(Board.code == board_code))
                )
                if board is not None:
                    report.board_code = board.code
                    final_board_id = board.id
                validator = Validator(
                    db,
                    source,
                    board.id if board else None,
                    allow_cp932=allow_cp932,
                    advance=tracker.advance,
                    problems=problems,
                )
                tracker.start(_planned_bytes(source))
                index = validator.run()
                report.mode = _mode(index)
                district = _district(index)
                if board is None and not problems and (district is None or board_code is None):
                    problems.add("orgs.csv", 0, "type", "no_district", value=board_code or str(board_id))
                if problems:
                    db.rollback()
                else:
                    if board is None:
                        board = Board(
                            code=board_code or "", name=district[1] if district else board_code or ""
                        )
                        db.add(board)
                        db.flush()
                        report.board_created = True
                    applier = Applier(
                        db, source, index, board, allow_cp932=allow_cp932, advance=tracker.advance
                    )
                    applier.run()
                    report.counts = {
                        name: {kind: applier.counts[name][kind] for kind in COUNT_KINDS} for name in ENTITIES
                    }
                    report.confirmations_cancelled = applier.confirmations_cancelled
                    report.status = "done"
                    record(
                        db,
                        "roster.import",
                        actor=actor,
                        board_id=board.id,
                        target_type="roster_import",
                        target_id=import_id,
                        details=_audit_details(report),
                    )
                    if dry_run:
                        db.rollback()
                        if report.board_created:
                            final_board_id = None
                    else:
                        db.commit()
                        final_board_id = board.id
        report.problems = list(problems.items)
        report.problem_total = problems.total
        if report.status == "refused" and final_board_id is not None and not dry_run:
            with database.transaction() as db:
                record(
                    db,
                    "roster.import",
                    actor=actor,
                    board_id=final_board_id,
                    target_type="roster_import",
                    target_id=import_id,
                    outcome="failure",
                    details={"problems": problems.total, "mode": report.mode},
                )
        _finish(database, import_id, report, final_board_id)
        return report
    except Exception:
        log.exception("roster import %s failed", import_id)
        report.status = "failed"
        _finish(database, import_id, report, final_board_id)
        raise
    finally:
        tracker.forget()


def _audit_details(report: ImportReport) -> dict[str, Any]:
    details: dict[str, Any] = {
        "mode": report.mode,
        "dry_run": report.dry_run,
        "board_created": report.board_created,
    }
    for name, counts in report.counts.items():
        for kind in ("created", "changed", "deactivated"):
            if counts.get(kind):
                details[f"{name}_{kind}"] = counts[kind]
    if report.confirmations_cancelled:
        details["confirmations_cancelled"] = report.confirmations_cancelled
    return details

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
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.domain.audit.service import CLI, Actor, record
from app.domain.boards.models import Board
from app.domain.roster import spec
from app.domain.roster.apply import Applier
from app.domain.roster.models import RosterImport
from app.domain.roster.problems import Problem, Problems
from app.domain.roster.progress import Tracker
from app.domain.roster.reading import RosterSource, TooLarge
from app.domain.roster.review import (
    NOTHING_ACCEPTED,
    Acceptance,
    Caution,
    active_counts,
    deactivation_cautions,
    district_caution,
    district_of,
)
from app.domain.roster.staging import StagedApplier, StagedValidator, StagingUnfit, use_staging
from app.domain.roster.validation import RosterIndex, Validator

log = logging.getLogger("tobira.roster")
COUNT_KINDS = ("created", "changed", "deactivated", "unchanged")
ENTITIES = ("schools", "school_years", "classes", "students", "guardians", "links")
# English msgids (locale/ja/roster.po), for the command line and the upload pages alike.
ENTITY_LABELS = {
    "schools": "Schools",
    "school_years": "School years",
    "classes": "Homerooms",
    "students": "Students",
    "guardians": "Guardians",
    "links": "Guardian–student links",
}


@dataclass
class ImportReport:
    # done | refused | failed | needs_confirmation (cautions not accepted; nothing written)
    status: str
    dry_run: bool
    mode: str = "bulk"
    board_code: str = ""
    board_created: bool = False
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    confirmations_cancelled: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_total: int = 0
    cautions: list[Caution] = field(default_factory=list)
    import_id: int | None = None
    # Checked and merged set-based in SQL (PostgreSQL, ADR 0097) rather than row by row.
    set_based: bool = False

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
            "cautions": [c.as_dict() for c in self.cautions],
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
            cautions=[Caution.from_dict(c) for c in data.get("cautions", [])],
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


# What the upload page notes on the tracking row when it starts (the encoding chosen, the dry
# run an import was confirmed from): kept when the report is written over the summary.
CARRIED = ("cp932", "checked_by")


def _finish(database: Database, import_id: int, report: ImportReport, board_id: int | None) -> None:
    with database.transaction() as db:
        started = db.scalar(select(RosterImport.summary).where(RosterImport.id == import_id)) or {}
        carried = {key: started[key] for key in CARRIED if key in started}
        db.execute(
            update(RosterImport)
            .where(RosterImport.id == import_id)
            .values(
                status=report.status,
                finished_at=utcnow(),
                progress=100,
                mode=report.mode,
                summary=carried | report.summary(),
                board_id=board_id,
            )
        )


def _planned_bytes(source: RosterSource, staged: bool = False) -> int:
    """Every file is read once to validate; on the row-by-row path users.csv three more times
    (students' guardians and schools, then guardians, then students are written)."""
    files = sum(source.size(file_spec.name) for file_spec in spec.FILES.values())
    return files if staged else files + 3 * source.size(spec.FILES["users"].name)


def _mode(index: RosterIndex) -> str:
    return "delta" if "delta" in index.modes.values() else "bulk"


def run_import(
    database: Database,
    path: Path,
    *,
    board_code: str | None = None,
    board_id: int | None = None,
    dry_run: bool = False,
    allow_cp932: bool = False,
    accept: Acceptance = NOTHING_ACCEPTED,
    limits: spec.Limits = spec.LIMITS,
    actor: Actor = CLI,
    import_id: int | None = None,
    listener: Callable[[int, int], None] | None = None,
    source_name: str = "",
    set_based: bool | None = None,
) -> ImportReport:
    """Validate the roster at `path` and, when it is sound, apply it (or roll back a dry run).

    The board is `board_id` (upload page) or the one with `board_code` (command line); only
    a code may create a board, from the roster's district org. A roster that raises cautions
    (another district, mass deactivation: `review.py`) is applied only when `accept` covers
    them; otherwise the run ends `needs_confirmation` with nothing written.

    On PostgreSQL the people files are staged and checked set-based (`staging.py`, ADR 0097);
    `set_based=False` asks for the row-by-row path there too (SQLite always uses it)."""
    if import_id is None:
        import_id = start_import(
            database, board_id=board_id, dry_run=dry_run, source_name=source_name or path.name
        )
    run = _Run(database, import_id, board_code, board_id, dry_run, allow_cp932, accept, actor, listener)
    run.set_based = set_based
    try:
        run.execute(path, limits)
        run.audit_refusal()
        _finish(database, import_id, run.report, run.board_id)
        return run.report
    except Exception:
        log.exception("roster import %s failed", import_id)
        run.report.status = "failed"
        _finish(database, import_id, run.report, run.board_id)
        raise
    finally:
        run.tracker.forget()


class _Run:
    """The state of one import while it runs."""

    def __init__(
        self,
        database: Database,
        import_id: int,
        board_code: str | None,
        board_id: int | None,
        dry_run: bool,
        allow_cp932: bool,
        accept: Acceptance,
        actor: Actor,
        listener: Callable[[int, int], None] | None,
    ) -> None:
        self.database = database
        self.accept = accept
        self.import_id = import_id
        self.board_code = board_code
        self.board_id = board_id  # the board the RosterImport row ends up under
        self.allow_cp932 = allow_cp932
        self.actor = actor
        self.tracker = Tracker(database, import_id, listener)
        self.problems = Problems()
        self.set_based: bool | None = None
        self.report = ImportReport(
            status="refused", dry_run=dry_run, board_code=board_code or "", import_id=import_id
        )

    def execute(self, path: Path, limits: spec.Limits) -> None:
        try:
            source = RosterSource(path, limits)
        except TooLarge as exc:
            self.problems.add(path.name, 0, "", exc.code, limit=exc.limit, found=exc.found)
        except (ValueError, OSError, zipfile.BadZipFile):
            self.problems.add(path.name, 0, "", "not_a_roster")
        else:
            with source, self.database.session() as db:
                self._validate_and_apply(db, source)
        self.report.problems = list(self.problems.items)
        self.report.problem_total = self.problems.total

    def _validate_and_apply(self, db: Session, source: RosterSource) -> None:
        board = (
            db.get(Board, self.board_id)
            if self.board_id is not None
            else db.scalar(select(Board).where(Board.code == self.board_code))
        )
        if board is not None:
            self.report.board_code, self.board_id = board.code, board.id
        staged = use_staging(db) if self.set_based is None else self.set_based and use_staging(db)
        index: RosterIndex | None = None
        if staged:
            try:
                index = self._validate(db, source, board, StagedValidator, staged=True)
            except StagingUnfit as exc:
                # A file COPY cannot take as it is: the row-by-row path reads it and names the line.
                log.info("roster import %s: %s is read row by row", self.import_id, exc)
                db.rollback()
                self.problems = Problems()
                staged = False
        if index is None:
            index = self._validate(db, source, board, Validator, staged=False)
        self.report.set_based = staged
        self.report.mode = _mode(index)
        district = district_of(index)
        if board is None and not self.problems and (district is None or self.board_code is None):
            self.problems.add(
                "orgs.csv", 0, "type", "no_district", value=self.board_code or str(self.board_id)
            )
        if self.problems:
            db.rollback()
            return
        cautions: list[Caution] = []
        if board is None:
            assert district is not None and self.board_code is not None
            board = Board(code=self.board_code, name=district[1])
            db.add(board)
            db.flush()
            self.report.board_created = True
        else:
            found = district_caution(db, board, index)
            cautions += [found] if found is not None else []
        before = active_counts(db, board.id)
        applier = (StagedApplier if staged else Applier)(
            db, source, index, board, allow_cp932=self.allow_cp932, advance=self.tracker.advance
        )
        applier.run()
        self.report.counts = {name: {k: applier.counts[name][k] for k in COUNT_KINDS} for name in ENTITIES}
        self.report.confirmations_cancelled = applier.confirmations_cancelled
        cautions += deactivation_cautions(db, board.id, before, self.report.counts, applier.now)
        self.report.cautions = cautions
        if not self.report.dry_run and not all(self.accept.covers(c) for c in cautions):
            db.rollback()
            self.report.status = "needs_confirmation"
            return
        if district is not None:
            board.roster_district_id = district[0]
        self.report.status = "done"
        record(
            db,
            "roster.import",
            actor=self.actor,
            board_id=board.id,
            target_type="roster_import",
            target_id=self.import_id,
            details=_audit_details(self.report),
        )
        if self.report.dry_run:
            db.rollback()
            self.board_id = None if self.report.board_created else board.id
        else:
            db.commit()
            self.board_id = board.id

    def _validate(
        self, db: Session, source: RosterSource, board: Board | None, kind: type[Validator], *, staged: bool
    ) -> RosterIndex:
        validator = kind(
            db,
            source,
            board.id if board else None,
            allow_cp932=self.allow_cp932,
            advance=self.tracker.advance,
            problems=self.problems,
        )
        self.tracker.start(_planned_bytes(source, staged))
        return validator.run()

    def audit_refusal(self) -> None:
        """A refused import changed nothing, but the attempt is on the record (counts only)."""
        if self.report.status not in ("refused", "needs_confirmation"):
            return
        if self.board_id is None or self.report.dry_run:
            return
        with self.database.transaction() as db:
            record(
                db,
                "roster.import",
                actor=self.actor,
                board_id=self.board_id,
                target_type="roster_import",
                target_id=self.import_id,
                outcome="failure",
                details={"problems": self.problems.total, "mode": self.report.mode}
                | ({"cautions": [c.kind for c in self.report.cautions]} if self.report.cautions else {}),
            )


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

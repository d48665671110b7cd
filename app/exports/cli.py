"""`portal export optouts`: the same opt-out exports as the staff pages, to a file."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select

from app.audit.service import CLI
from app.boards.models import Board
from app.config import get_settings
from app.db import Database
from app.exports import service, writers
from app.exports.query import ExportFilters
from app.exports.router import parse_since

export_app = typer.Typer(help="Opt-out list exports.", no_args_is_help=True)


@export_app.command("optouts")
def optouts(
    board: str = typer.Option(..., "--board", help="Board code."),
    fmt: str = typer.Option("csv", "--format", help="csv | cp932 | xlsx | json"),
    school: str | None = typer.Option(None, "--school", help="School code."),
    grade: str | None = typer.Option(None, "--grade", help="Grade code, e.g. P3 or J1."),
    class_title: str | None = typer.Option(None, "--class", help="Class title, e.g. 1組."),
    service_code: str | None = typer.Option(None, "--service", help="Service code."),
    choice: str | None = typer.Option(None, "--choice", help="Choice code."),
    since: str | None = typer.Option(None, "--since", help="Changed since (ISO-8601 date or date-time)."),
    lang: str = typer.Option("ja", "--lang", help="Language of the headers: ja | en."),
    output: Path = typer.Option(..., "-o", "--output", help="File to write."),
) -> None:
    """Export the opt-out list of a board (audited as a CLI export)."""
    if fmt not in writers.FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(writers.FORMATS)}")
    try:
        since_at = parse_since(since or "")
    except ValueError as exc:
        raise typer.BadParameter("--since must be ISO-8601, e.g. 2026-04-01") from exc
    database = Database(get_settings().database_url)
    with database.transaction() as db:
        board_row = db.scalar(select(Board).where(Board.code == board))
        if board_row is None:
            typer.echo(f"Unknown board: {board}", err=True)
            raise typer.Exit(code=2)
        filters = ExportFilters(
            board_id=board_row.id,
            school_code=school,
            grade=grade,
            class_title=class_title,
            service_code=service_code,
            choice_code=choice,
            since=since_at,
        )
        prepared = service.prepare(db, filters, fmt, lang, CLI)  # type: ignore[arg-type]
    if prepared.refused:
        typer.echo("CP932 cannot hold characters in these rows; nothing was written:", err=True)
        for problem in prepared.problems:
            typer.echo(
                f"  row {problem.row_number}: student {problem.student_id}, "
                f"{problem.column}: {problem.characters}",
                err=True,
            )
        raise typer.Exit(code=1)
    with (
        database.session() as db,
        output.open("wb") as fh,
        typer.progressbar(length=prepared.row_count, label="Exporting", file=None) as bar,
    ):
        for chunk in service.stream_rows_with_progress(db, prepared, bar.update):
            fh.write(chunk)
    typer.echo(f"Wrote {prepared.row_count} row(s) to {output}.")

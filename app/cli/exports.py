"""`portal export optouts`: the same opt-out exports as the staff pages, to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from app.config import get_settings
from app.db import Database
from app.domain.audit.service import CLI
from app.domain.boards.models import Board
from app.domain.exports import service, writers
from app.domain.exports.query import ExportFilters
from app.surfaces.staff.exports import parse_since

export_app = typer.Typer(help="Opt-out list exports.", no_args_is_help=True)


@export_app.command("optouts")
def optouts(
    board: Annotated[str, typer.Option("--board", help="Board code.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv | cp932 | xlsx | json")] = "csv",
    school: Annotated[str | None, typer.Option("--school", help="School code.")] = None,
    grade: Annotated[str | None, typer.Option("--grade", help="Grade code, e.g. P3 or J1.")] = None,
    class_title: Annotated[str | None, typer.Option("--class", help="Class title, e.g. 1組.")] = None,
    service_code: Annotated[str | None, typer.Option("--service", help="Service code.")] = None,
    choice: Annotated[str | None, typer.Option("--choice", help="Choice code.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Changed since (ISO-8601).")] = None,
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the headers and of the words beside codes: ja | en.")
    ] = "ja",
) -> None:
    """Export the opt-out list of a board (audited as a CLI export)."""
    if fmt not in writers.FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(writers.FORMATS)}")
    try:
        since_at = parse_since(since or "")
    except ValueError as exc:
        raise typer.BadParameter("--since must be ISO-8601, e.g. 2026-04-01") from exc
    settings = get_settings()
    database = Database(settings.database_url, settings.database_replica_url)
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
                f"{problem.title} ({problem.column}): {problem.characters}",
                err=True,
            )
        raise typer.Exit(code=1)
    with (
        database.reader() as db,
        output.open("wb") as fh,
        typer.progressbar(length=prepared.row_count, label="Exporting", file=None) as bar,
    ):
        for chunk in service.stream_rows_with_progress(db, prepared, bar.update):
            fh.write(chunk)
    typer.echo(f"Wrote {prepared.row_count} row(s) to {output}.")

"""`portal choices import FILE --board CODE [--dry-run]`: carry over earlier choices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from app.cli.text import both
from app.config import get_settings
from app.db import Database

choices_app = typer.Typer(help="Guardians' choices.", no_args_is_help=True)


@choices_app.command("import")
def import_choices(
    path: Annotated[
        Path, typer.Argument(help="CSV: student_id,service,choice,value,categories,received_on,received_by")
    ],
    board: Annotated[str, typer.Option("--board", help="Board code.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every line and count; save nothing.")
    ] = False,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="E-mail each guardian of a child whose choice is carried over (one e-mail each, "
            "in their language) that the school has recorded their earlier request.",
        ),
    ] = False,
) -> None:
    """Carry over choices the board received before Tobira (paper, e-mail, phone, in person).

    The whole file is checked first; a problem on any line refuses it all. A line Tobira
    already holds, or holds a newer choice for, is skipped; re-importing changes nothing."""
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.audit.service import CLI
    from app.domain.boards.models import Board
    from app.domain.choices.carry_over import carry_over

    if not path.is_file():
        typer.echo(both("{value} does not exist.", value=str(path)), err=True)
        raise typer.Exit(code=2)
    database = Database(get_settings().database_url)
    with database.transaction() as db:
        board_id = db.scalar(select(Board.id).where(Board.code == board))
        if board_id is None:
            typer.echo(f"No board with code {board!r}.", err=True)
            raise typer.Exit(code=2)
        report = carry_over(
            db,
            board_id,
            path.read_bytes(),
            actor=CLI,
            dry_run=dry_run,
            notify=notify,
            base_url=get_settings().base_url,
        )
    database.engine.dispose()
    if not report.ok:
        typer.echo(both("The file was refused; nothing was changed."), err=True)
        for problem, value in report.problems[:200]:
            where = f"line {problem.line}" + (f" [{problem.column}]" if problem.column else "")
            typer.echo(
                f"{where}: {problem.text('ja', value=value)} / {problem.text('en', value=value)}", err=True
            )
        raise typer.Exit(code=1)
    header = "Dry run: nothing was saved." if dry_run else "Carried over."
    typer.echo(both(header))
    typer.echo(
        both(
            "{applied} choice(s) applied, {unchanged} already in Tobira, "
            "{newer} kept (a newer choice is in Tobira).",
            applied=report.applied,
            unchanged=report.unchanged,
            newer=report.newer_in_tobira,
        )
    )
    if notify and not dry_run:
        typer.echo(both("{emails} guardian(s) will be told by e-mail.", emails=report.emails))

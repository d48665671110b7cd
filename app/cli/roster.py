"""`portal roster import PATH --board CODE [--dry-run] [--encoding cp932]
[--accept-other-district] [--accept-deactivations]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from app.cli.text import both
from app.config import get_settings
from app.domain.roster.service import ENTITIES, ENTITY_LABELS, ImportReport
from app.i18n import gettext

roster_app = typer.Typer(help="Roster import (OneRoster 1.2 CSV, Japan Profile).", no_args_is_help=True)
ACCEPT_FLAGS = {"other_district": "--accept-other-district", "mass_deactivation": "--accept-deactivations"}


def print_cautions(report: ImportReport) -> None:
    for caution in report.cautions:
        typer.echo(f"! {caution.message('ja')}", err=True)
        typer.echo(f"  {caution.message('en')}", err=True)
    if report.status == "needs_confirmation":
        flags = " ".join(sorted({ACCEPT_FLAGS[c.kind] for c in report.cautions}))
        typer.echo(
            both("Nothing was changed. If this is right, run the import again with {flags}.", flags=flags),
            err=True,
        )


def print_report(report: ImportReport) -> None:
    if report.status == "needs_confirmation":
        typer.echo(both("The roster needs your confirmation before it is imported:"), err=True)
        print_cautions(report)
        return
    if report.status != "done":
        typer.echo(both("The roster was refused; nothing was changed."), err=True)
        for problem in report.problems:
            typer.echo(f"{problem.where()}: {problem.message('ja')}", err=True)
            typer.echo(f"{' ' * len(problem.where())}  {problem.message('en')}", err=True)
        if report.problem_total > len(report.problems):
            typer.echo(
                both(
                    "More problems were found; only the first {value} are shown.", value=len(report.problems)
                )
            )
        typer.echo(both("{count} problem(s) in total.", count=report.problem_total), err=True)
        return
    if report.board_created:
        message = (
            "Board {code} would be created from the roster's district org."
            if report.dry_run
            else "Board {code} was created from the roster's district org."
        )
        typer.echo(both(message, code=report.board_code))
    header = "Dry run: nothing was saved. It would change:" if report.dry_run else "Imported. Changes:"
    typer.echo(both(header))
    for name in ENTITIES:
        counts = report.counts.get(name, {})
        label = ENTITY_LABELS[name]
        typer.echo(
            f"  {gettext(label, 'ja')} / {label}: "
            + both(
                "{created} created, {changed} changed, {deactivated} deactivated, {unchanged} unchanged",
                created=counts.get("created", 0),
                changed=counts.get("changed", 0),
                deactivated=counts.get("deactivated", 0),
                unchanged=counts.get("unchanged", 0),
            )
        )
    if report.confirmations_cancelled:
        typer.echo(
            both(
                "{count} pending confirmation(s) sent to a changed e-mail address were cancelled.",
                count=report.confirmations_cancelled,
            )
        )
    if report.changes == 0:
        typer.echo(both("No changes: the board already holds this roster."))
    if report.cautions and report.dry_run:
        typer.echo(both("An import of this roster will need your confirmation:"), err=True)
        print_cautions(report)
        flags = " ".join(sorted({ACCEPT_FLAGS[c.kind] for c in report.cautions}))
        typer.echo(both("Confirm with {flags} when you import it.", flags=flags), err=True)


@roster_app.command("import")
def import_roster(
    path: Annotated[Path, typer.Argument(help="A OneRoster 1.2 CSV zip file, or a folder of its CSV files.")],
    board: Annotated[
        str, typer.Option("--board", help="Code of the board; created from the district org if new.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count the changes, save nothing.")
    ] = False,
    encoding: Annotated[
        str,
        typer.Option(
            "--encoding", help="utf-8 (default; a BOM is fine) or cp932 to convert Shift_JIS files."
        ),
    ] = "utf-8",
    accept_other_district: Annotated[
        bool,
        typer.Option(
            "--accept-other-district",
            help="Import although the roster's district org is not the one this board's rosters came from.",
        ),
    ] = False,
    accept_deactivations: Annotated[
        bool,
        typer.Option(
            "--accept-deactivations",
            help="Import although it deactivates more than 5 % of the board's students, guardians or links.",
        ),
    ] = False,
) -> None:
    """Validate a OneRoster roster and import it in one transaction (all or nothing).

    A roster of another district, or one that would deactivate more than 5 % of the board's
    students, guardians or guardian–child links, is not imported until confirmed with the
    matching --accept-… flag (try --dry-run first: it lists what would go)."""
    from app.db import Database
    from app.domain.roster.review import Acceptance
    from app.domain.roster.service import run_import

    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8", "cp932", "shift-jis", "sjis"):
        typer.echo(both("Unknown encoding {value}: use utf-8 or cp932.", value=encoding), err=True)
        raise typer.Exit(code=2)
    allow_cp932 = encoding.lower().replace("_", "-") in ("cp932", "shift-jis", "sjis")
    if not path.exists():
        typer.echo(both("{value} does not exist.", value=str(path)), err=True)
        raise typer.Exit(code=2)
    database = Database(get_settings().database_url)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        DownloadColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(both("Reading and importing"), total=None)

        def listen(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = run_import(
            database,
            path,
            board_code=board,
            dry_run=dry_run,
            allow_cp932=allow_cp932,
            accept=Acceptance(other_district=accept_other_district, deactivations=accept_deactivations),
            listener=listen,
            source_name=path.name,
        )
    database.engine.dispose()
    print_report(report)
    if report.status != "done":
        raise typer.Exit(code=1)

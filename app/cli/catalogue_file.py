"""`portal catalogue export --board CODE [-o FILE] [--format yaml|json]` and
`portal catalogue import FILE --board CODE [--dry-run]`: the whole catalogue as one file
(docs/catalogue-file.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from app.cli.catalogue import catalogue_app
from app.cli.text import both
from app.config import get_settings
from app.db import Database


def _board_id(db: object, code: str) -> int:
    from app.domain.boards.models import Board

    board_id = db.scalar(select(Board.id).where(Board.code == code))  # type: ignore[attr-defined]
    if board_id is None:
        typer.echo(f"No board with code {code!r}.", err=True)
        raise typer.Exit(code=2)
    return int(board_id)


@catalogue_app.command("export")
def export(
    board: str = typer.Option(..., "--board", help="Board code."),
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: standard output).")
    ] = None,
    fmt: str | None = typer.Option(
        None, "--format", help="yaml or json (default: from the file name, else yaml)."
    ),
) -> None:
    """Write the board's whole catalogue as one YAML or JSON file.

    Services with their latest version, coverage rules, choices and the notice text, in the
    format of docs/catalogue-file.md (its JSON Schema: app/_resources/schemas/)."""
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.audit.service import CLI, record
    from app.domain.catalog.catalogue_file import dump, export_document

    chosen = fmt or ("json" if output is not None and output.suffix.lower() == ".json" else "yaml")
    if chosen not in ("yaml", "json"):
        typer.echo("--format is yaml or json.", err=True)
        raise typer.Exit(code=2)
    database = Database(get_settings().database_url)
    try:
        with database.transaction() as db:
            board_id = _board_id(db, board)
            document = export_document(db, board_id, board)
            text = dump(document, chosen)
            record(
                db,
                "catalogue.exported",
                actor=CLI,
                board_id=board_id,
                target_type="board",
                target_id=board_id,
                details={"services": len(document["services"]), "format": chosen},
            )
    finally:
        database.engine.dispose()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"Wrote {len(document['services'])} services to {output}.", err=True)


@catalogue_app.command("import")
def import_file(
    file: Annotated[
        Path, typer.Argument(help="The catalogue file (.yaml, .yml or .json).", exists=True, dir_okay=False)
    ],
    board: str = typer.Option(..., "--board", help="Board code."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would change; change nothing."),
) -> None:
    """Check a catalogue file, then bring the board's catalogue in line with it.

    In one transaction: new services are created, changed ones publish a new version, coverage rules
    and choices are added (or removed when the file no longer lists them), and the notice text
    is published when it differs. Any problem, named by its path, refuses the whole file."""
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.audit.service import CLI
    from app.domain.catalog.catalogue_file import MAX_BYTES, CatalogueProblems, read_document
    from app.domain.catalog.catalogue_import import apply, plan
    from app.domain.choices.jobs import request_announcement, request_coverage_announcement

    settings = get_settings()
    if file.stat().st_size > MAX_BYTES:
        typer.echo(
            f"(file): {both('The file is larger than {limit} MB.', limit=MAX_BYTES // 1_000_000)}", err=True
        )
        raise typer.Exit(code=2)
    raw = file.read_bytes()
    database = Database(settings.database_url)
    try:
        with database.transaction() as db:
            board_id = _board_id(db, board)
            try:
                the_plan = plan(db, board_id, read_document(db, board_id, raw, file.name))
            except CatalogueProblems as exc:
                for problem in exc.problems:
                    typer.echo(f"{problem.path}: {both(problem.message, **problem.params)}", err=True)
                typer.echo(both(exc.message, **exc.params), err=True)
                raise typer.Exit(code=2) from exc
            for line in the_plan.lines():
                typer.echo(line)
            if dry_run:
                typer.echo("Dry run: nothing was changed.")
                raise typer.Exit(code=0)  # leaves the transaction, rolled back
            result = apply(db, the_plan, actor=CLI)
            for published in result.published:
                request_announcement(db, published, CLI, base_url=str(settings.base_url))
            for service, version, rule in result.covered:
                request_coverage_announcement(
                    db, service, version, rule, CLI, base_url=str(settings.base_url)
                )
            typer.echo(
                f"Imported: notice version {result.notice.version} published."
                if result.notice is not None
                else "Imported: nothing had changed."
            )
    finally:
        database.engine.dispose()

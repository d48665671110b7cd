"""`portal retention run [--board CODE] [--dry-run]` and `portal retention policy --board CODE`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from app.cli.text import both
from app.config import get_settings
from app.db import Database
from app.errors import Invalid

retention_app = typer.Typer(help="Retention: what each board keeps, and for how long.", no_args_is_help=True)


@retention_app.command("run")
def run(
    board: Annotated[
        str | None, typer.Option("--board", help="Board code; every board when left out.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would go, with counts; change nothing.")
    ] = False,
) -> None:
    """Remove what each board's retention policy no longer keeps, audited with counts.

    Students who left more than the policy's years ago go with their choice history and
    receipts, roster links and tokens; guardians left with no child, and their accounts and
    mail records, go too. Audit events older than the policy go from the start of the
    board's chain (the chain stays verifiable). Also: one-time tokens and sessions a day
    past expiry, sent mail bodies (when the board keeps its own period) and uploads never
    confirmed. The worker runs the same every day. Exit status 2: unknown board."""
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.audit.service import CLI
    from app.domain.retention import run as retention

    settings = get_settings()
    database = Database(settings.database_url)
    try:
        reports = retention.run(database, settings, board_code=board, dry_run=dry_run, actor=CLI)
    except LookupError:
        typer.echo(f"No board with code {board!r}.", err=True)
        raise typer.Exit(code=2) from None
    finally:
        database.engine.dispose()
    typer.echo(both("Dry run: nothing was removed. Would go:" if dry_run else "Removed:"))
    for report in reports:
        typer.echo(f"{report.board_code}: {report.total}")
        for kind, count in report.counts.items():
            typer.echo(f"  {kind}: {count}")


@retention_app.command("policy")
def policy(
    board: Annotated[str, typer.Option("--board", help="Board code.")],
    student_years: Annotated[
        str | None, typer.Option(help="Years a student who left is kept, with their choice history (5).")
    ] = None,
    audit_years: Annotated[str | None, typer.Option(help="Years audit events are kept (5).")] = None,
    mail_body_days: Annotated[
        str | None,
        typer.Option(help="Days sent mail keeps its body; empty: MAIL_BODY_RETENTION_DAYS (30)."),
    ] = None,
    upload_days: Annotated[
        str | None, typer.Option(help="Days an upload never confirmed is kept (7).")
    ] = None,
    certificate_due_days: Annotated[
        str | None,
        typer.Option(help="Days after a cohort left before its erasure certificate is overdue (90)."),
    ] = None,
) -> None:
    """Show the board's retention policy, or change the settings given (audited)."""
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.audit.service import CLI, record
    from app.domain.boards.models import Board
    from app.domain.retention import policy as policies

    given = {
        "student_years": student_years,
        "audit_years": audit_years,
        "mail_body_days": mail_body_days,
        "upload_days": upload_days,
        "certificate_due_days": certificate_due_days,
    }
    database = Database(get_settings().database_url)
    with database.transaction() as db:
        board_id = db.scalar(select(Board.id).where(Board.code == board))
        if board_id is None:
            typer.echo(f"No board with code {board!r}.", err=True)
            raise typer.Exit(code=2)
        try:
            changes = policies.parse({k: v for k, v in given.items() if v is not None})
        except Invalid as exc:
            for name, message in exc.fields.items():
                typer.echo(f"--{name.replace('_', '-')}: {both(message)}", err=True)
            raise typer.Exit(code=2) from exc
        changed = policies.set_policy(db, board_id, changes)
        if changed:
            record(db, "retention.policy_changed", actor=CLI, board_id=board_id, details={"changed": changed})
        current = policies.policy_for(db, board_id)
    database.engine.dispose()
    mail = current.mail_body_days if current.mail_body_days is not None else "MAIL_BODY_RETENTION_DAYS"
    typer.echo(
        f"{board}: student_years={current.student_years} audit_years={current.audit_years} "
        f"mail_body_days={mail} upload_days={current.upload_days} "
        f"certificate_due_days={current.certificate_due_days}"
    )

"""`portal board contact --board CODE [--email X] [--phone X] [--jurisdiction JP-11] [--name X]
[--name-en X]`, `portal board reminders --board CODE [--delay-days N] [--max K]`,
`portal board staff-names --board CODE [--show/--hide]` and
`portal board requests --board CODE [--answer-days N]`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli.text import both
from app.config import get_settings
from app.db import Database
from app.errors import Invalid

if TYPE_CHECKING:
    from app.domain.boards.models import Board

board_app = typer.Typer(help="Board settings.", no_args_is_help=True)


@contextmanager
def _board_settings(code: str) -> Iterator[tuple[Session, Board]]:
    """One transaction on the board with this code; exit 2 when there is none."""
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.boards.models import Board

    database = Database(get_settings().database_url)
    try:
        with database.transaction() as db:
            row = db.scalar(select(Board).where(Board.code == code))
            if row is None:
                typer.echo(f"No board with code {code!r}.", err=True)
                raise typer.Exit(code=2)
            yield db, row
    finally:
        database.engine.dispose()


OPTIONS = {"delay_days": "--delay-days", "max_reminders": "--max"}


@board_app.command("contact")
def contact(
    board: str = typer.Option(..., "--board", help="Board code."),
    email: str | None = typer.Option(
        None, "--email", help="Data-protection contact e-mail (gets the daily audit anchor)."
    ),
    phone: str | None = typer.Option(None, "--phone", help="Contact telephone, shown on receipts."),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="ISO 3166 code on receipts, e.g. JP-11."
    ),
    name: str | None = typer.Option(None, "--name", help="The controller's name on receipts (Japanese)."),
    name_en: str | None = typer.Option(None, "--name-en", help="The controller's name in English."),
) -> None:
    """Set the board's contact, jurisdiction and name (the controller on receipts); with no
    option, show them."""
    from app.domain.audit.service import CLI, record
    from app.domain.boards import service as boards
    from app.domain.translations import service as translations

    with _board_settings(board) as (db, row):
        try:
            changed = boards.set_contact(
                db, row, email=email, phone=phone, jurisdiction=jurisdiction, name=name, name_en=name_en
            )
        except Invalid as exc:
            for field, message in exc.fields.items():
                typer.echo(f"--{field.replace('_', '-')}: {both(message)}", err=True)
            raise typer.Exit(code=2) from exc
        if changed:
            record(
                db, "board.contact_changed", actor=CLI, board_id=row.id, details={"fields": sorted(changed)}
            )
        email_shown, phone_shown = row.contact_email or "-", row.contact_phone or "-"
        english = (
            translations.of_entities(db, "boards", [row.id], ["en"]).get(row.id, {}).get("en", {}).get("name")
        )
        typer.echo(
            f"{row.code}: e-mail={email_shown} phone={phone_shown} jurisdiction={row.jurisdiction}"
            f" name={row.name} name-en={english or '-'}"
        )


@board_app.command("requests")
def request_settings(
    board: str = typer.Option(..., "--board", help="Board code."),
    answer_days: int | None = typer.Option(
        None, "--answer-days", help="Days from receipt to answer a guardian's request (default 30)."
    ),
) -> None:
    """Set how many days the board has to answer guardians' requests; with no option, show it."""
    from app.domain.audit.service import CLI, record
    from app.domain.requests import service as requests

    with _board_settings(board) as (db, row):
        if answer_days is not None:
            try:
                changed = requests.set_answer_days(db, row, answer_days)
            except Invalid as exc:
                for field, message in exc.fields.items():
                    typer.echo(f"--{field.replace('_', '-')}: {both(message)}", err=True)
                raise typer.Exit(code=2) from exc
            if changed:
                record(
                    db,
                    "board.request_days_changed",
                    actor=CLI,
                    board_id=row.id,
                    details={"answer_days": answer_days},
                )
        typer.echo(f"{row.code}: answer-days={row.request_answer_days}")


@board_app.command("reminders")
def reminders(
    board: str = typer.Option(..., "--board", help="Board code."),
    delay_days: int | None = typer.Option(
        None, "--delay-days", help="Remind families who have not answered after this many days (1-30)."
    ),
    max_reminders: int | None = typer.Option(
        None, "--max", help="At most this many reminders per request or change (0-5; 0 sends none)."
    ),
) -> None:
    """Set when families who have not answered are reminded by e-mail (a request waiting for
    confirmation, a service change not looked at); with no option, show the setting."""
    from app.domain.audit.service import CLI
    from app.domain.reach.settings import reminders_of, set_reminders

    with _board_settings(board) as (db, row):
        current = reminders_of(db, row.id)
        try:
            set_reminders(
                db,
                row.id,
                delay_days=current.delay_days if delay_days is None else delay_days,
                max_reminders=current.max_reminders if max_reminders is None else max_reminders,
                actor=CLI,
            )
        except Invalid as exc:
            for field, message in exc.fields.items():
                typer.echo(f"{OPTIONS[field]}: {both(message)}", err=True)
            raise typer.Exit(code=2) from exc
        shown = reminders_of(db, row.id)
        typer.echo(f"{row.code}: delay-days={shown.delay_days} max={shown.max_reminders}")


@board_app.command("staff-names")
def staff_names(
    board: str = typer.Option(..., "--board", help="Board code."),
    show: bool | None = typer.Option(
        None,
        "--show/--hide",
        help="Whether guardians' 'who saw my child's data' names the staff member (default: hide, "
        "role and school only).",
    ),
) -> None:
    """Set whether guardians see staff names in who saw their child's data; with no option, show it."""
    from app.domain.audit.service import CLI, record

    with _board_settings(board) as (db, row):
        if show is not None and show != row.show_staff_names:
            row.show_staff_names = show
            record(db, "board.staff_names_changed", actor=CLI, board_id=row.id, details={"show": show})
        typer.echo(f"{row.code}: staff names shown to guardians: {'yes' if row.show_staff_names else 'no'}")

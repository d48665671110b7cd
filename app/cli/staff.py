"""`portal staff …`: give the first board admin access (later ones are invited on /staff/roles)."""

from __future__ import annotations

import typer
from sqlalchemy import select

from app.config import get_settings
from app.db import Database
from app.domain.accounts import staff_admin
from app.domain.accounts.models import STAFF_ROLES
from app.errors import Invalid

staff_app = typer.Typer(help="Staff access (roles, invitations).", no_args_is_help=True)


@staff_app.command("invite")
def invite(
    board: str = typer.Option(..., "--board", help="Board code."),
    email: str = typer.Option(
        ..., "--email", help="E-mail address the staff provider will assert (verified)."
    ),
    role: str = typer.Option("board_admin", "--role", help="One of: " + ", ".join(STAFF_ROLES) + "."),
    school: str | None = typer.Option(None, "--school", help="School code, for school_admin and teacher."),
) -> None:
    """Invite a staff member; the role binds at their first sign-in with this verified e-mail."""
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.boards.models import Board
    from app.domain.people.models import School

    database = Database(get_settings().database_url)
    with database.session() as db:
        board_id = db.scalar(select(Board.id).where(Board.code == board))
        if board_id is None:
            typer.echo(f"No board with code {board!r}.", err=True)
            raise typer.Exit(code=2)
        school_id = None
        if school is not None:
            school_id = db.scalar(select(School.id).where(School.board_id == board_id, School.code == school))
            if school_id is None:
                typer.echo(f"No school with code {school!r} in board {board!r}.", err=True)
                raise typer.Exit(code=2)
        try:
            row = staff_admin.invite(db, board_id, email, role, school_id, granted_by=None)
        except Invalid as exc:
            typer.echo(exc.text("en"), err=True)
            raise typer.Exit(code=2) from exc
        db.commit()
        typer.echo(f"Invited {row.invited_email} as {row.role}; the role binds at their first sign-in.")
    database.engine.dispose()

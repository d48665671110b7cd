"""`portal catalogue cover --board CODE --service CODE [--school CODE] [--grades J1-J3]
[--class TITLE] [--student ROSTER_ID] [--dry-run]`: which students a service covers."""

from __future__ import annotations

import typer
from sqlalchemy import select

from app.cli.text import both
from app.config import get_settings
from app.db import Database
from app.errors import Invalid

catalogue_app = typer.Typer(help="The service catalogue.", no_args_is_help=True)


@catalogue_app.command("cover")
def cover(
    board: str = typer.Option(..., "--board", help="Board code."),
    service: str = typer.Option(..., "--service", help="Service code."),
    school: str | None = typer.Option(None, "--school", help="School code (default: every school)."),
    grades: str | None = typer.Option(None, "--grades", help="Grade range, e.g. J1-J3 or P3."),
    homeroom: str | None = typer.Option(None, "--class", help="Homeroom title at --school, e.g. 1年2組."),
    student: str | None = typer.Option(None, "--student", help="One student's roster id."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count who the rule would reach; save nothing."),
) -> None:
    """Add a coverage rule to a service (a student matching any rule sees the service)."""
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.audit.service import CLI
    from app.domain.boards.models import Board
    from app.domain.catalog import coverage
    from app.domain.catalog.models import Service
    from app.domain.choices import coverage_changes
    from app.domain.people.models import School, SchoolClass, Student

    settings = get_settings()
    database = Database(settings.database_url)
    with database.transaction() as db:
        board_row = db.scalar(select(Board).where(Board.code == board))
        service_row = (
            db.scalar(select(Service).where(Service.board_id == board_row.id, Service.code == service))
            if board_row
            else None
        )
        if board_row is None or service_row is None:
            typer.echo(f"No service {service!r} on board {board!r}.", err=True)
            raise typer.Exit(code=2)
        school_id = db.scalar(select(School.id).where(School.board_id == board_row.id, School.code == school))
        class_id = db.scalar(
            select(SchoolClass.id).where(SchoolClass.school_id == school_id, SchoolClass.title == homeroom)
        )
        student_id = db.scalar(
            select(Student.id).where(Student.board_id == board_row.id, Student.sourced_id == student)
        )
        low, _sep, high = (grades or "").partition("-")
        missing = [
            name
            for name, given, found in (
                ("--school", school, school_id),
                ("--class", homeroom, class_id),
                ("--student", student, student_id),
            )
            if given is not None and found is None
        ]
        if missing:
            typer.echo(f"Not found on this board: {', '.join(missing)}", err=True)
            raise typer.Exit(code=2)
        rule = coverage.Rule(
            school_id=school_id,
            grade_from=low or None,
            grade_to=(high or low) or None,
            class_id=class_id,
            student_id=student_id,
        )
        try:
            coverage.check_rule(db, board_row.id, rule)
        except Invalid as exc:
            for field, message in exc.fields.items():
                typer.echo(f"{field}: {both(message)}", err=True)
            raise typer.Exit(code=2) from exc
        reach = coverage.reach(db, board_row.id, [rule])
        typer.echo(f"The rule covers {reach.students} students and {reach.guardians} guardians.")
        if not dry_run:
            coverage_changes.cover(db, service_row, [rule], actor=CLI, base_url=str(settings.base_url))
            total = coverage.reach(db, board_row.id, coverage.rules_of(db, service_row.id))
            typer.echo(
                f"Added. {service} now covers {total.students} students and {total.guardians} guardians."
            )
    database.engine.dispose()

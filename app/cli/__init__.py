"""The `portal` command: database, server, demo, mail, roster and exports."""

from __future__ import annotations

import typer

from app.config import database_url, get_settings

main = typer.Typer(
    help="Tobira — student-data consent and visibility portal. "
    "Settings come from the environment (see README, 'Configuration').",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
mail_app = typer.Typer(help="The e-mail outbox.", no_args_is_help=True)
main.add_typer(db_app, name="db")
main.add_typer(mail_app, name="mail")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or migrate the schema of DATABASE_URL to the latest version."""
    from app import migrate

    migrate.upgrade(database_url(), revision)
    typer.echo("Database is up to date.")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base.")) -> None:
    """Migrate the schema of DATABASE_URL down to REVISION."""
    from app import migrate

    migrate.downgrade(database_url(), revision)
    typer.echo(f"Database downgraded to {revision}.")


@main.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Worker processes."),
) -> None:
    """Serve the web app and API with uvicorn (run `portal db upgrade` first)."""
    import uvicorn

    uvicorn.run("app.asgi:app", host=host, port=port, workers=workers, proxy_headers=True)


@mail_app.command("dispatch")
def mail_dispatch(
    loop: bool = typer.Option(False, "--loop", help="Keep running and send as mail arrives."),
    interval: float = typer.Option(5.0, help="Seconds between rounds with --loop."),
) -> None:
    """Send pending e-mail from the outbox over SMTP (retries with backoff)."""
    import threading

    from app.db import Database
    from app.domain.notifications import dispatcher

    settings = get_settings()
    database = Database(settings.database_url)
    if loop:
        dispatcher.run_forever(database, settings, threading.Event(), interval)
    else:
        typer.echo(f"Sent {dispatcher.dispatch_pending(database, settings)} message(s).")


def _register_domain_commands() -> None:
    from app.cli.demo import demo
    from app.cli.exports import export_app
    from app.cli.roster import roster_app
    from app.cli.staff import staff_app

    main.command("demo")(demo)
    main.add_typer(roster_app, name="roster")
    main.add_typer(export_app, name="export")
    main.add_typer(staff_app, name="staff")


_register_domain_commands()

if __name__ == "__main__":
    main()

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
    """Serve the web app and API with uvicorn (run `portal db upgrade` first).

    Requests are logged by the app itself (route template, status, duration, request id —
    never a raw path or query); uvicorn's access log, which would record one-time links and
    searches, is off. Forwarded headers are believed only from TRUSTED_PROXIES."""
    import uvicorn

    from app.cli import serving

    trusted = get_settings().trusted_proxies.strip()
    config = uvicorn.Config(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        server_header=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )
    serving.run(config)


@mail_app.command("dispatch")
def mail_dispatch() -> None:
    """Send the e-mail that is due now, once, and exit (the worker does this every round)."""
    from app import worker  # noqa: F401  (wires the domains' mailing templates, as the worker does)
    from app.db import Database
    from app.domain.notifications import dispatcher

    settings = get_settings()
    database = Database(settings.database_url)
    typer.echo(f"Sent {dispatcher.dispatch_pending(database, settings)} message(s).")


@main.command("worker")
def run_worker(
    interval: float = typer.Option(1.0, help="Seconds to wait when nothing is due."),
    once: bool = typer.Option(False, "--once", help="Run what is due now, then exit."),
) -> None:
    """Run background work until stopped (Ctrl-C or SIGTERM): roster imports, e-mail,
    announcements of service changes, incident notices, expiry of unconfirmed requests,
    reminders to families who have not answered, the daily audit anchor mail, the emptying of
    old mail bodies and the daily retention run. Run as many as you like."""
    import signal
    import threading

    from app.db import Database
    from app.worker import make_worker

    settings = get_settings()
    worker = make_worker(Database(settings.database_url), settings, poll_interval=interval)
    if once:
        worker.schedule_periodic()
        typer.echo(f"Ran {worker.run_round()} job(s).")
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    worker.run_until(stop)


def _register_domain_commands() -> None:
    from app.cli.audit import audit_app
    from app.cli.board import board_app
    from app.cli.catalogue import catalogue_app
    from app.cli.catalogue_file import export as _catalogue_file  # noqa: F401  (export, import)
    from app.cli.choices import choices_app
    from app.cli.demo import demo
    from app.cli.exports import export_app
    from app.cli.retention import retention_app
    from app.cli.roster import roster_app
    from app.cli.staff import staff_app

    main.command("demo")(demo)
    main.add_typer(roster_app, name="roster")
    main.add_typer(export_app, name="export")
    main.add_typer(staff_app, name="staff")
    main.add_typer(audit_app, name="audit")
    main.add_typer(board_app, name="board")
    main.add_typer(catalogue_app, name="catalogue")
    main.add_typer(choices_app, name="choices")
    main.add_typer(retention_app, name="retention")


_register_domain_commands()

if __name__ == "__main__":
    main()

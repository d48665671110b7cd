"""`portal demo`: run the whole demo on loopback until Ctrl-C."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

DEFAULT_DATA_DIR = Path("demo-data")


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def demo(
    port: Annotated[int, typer.Option(help="Port of the app.")] = 8000,
    idp_port: Annotated[int, typer.Option(help="Port of the demo OpenID provider for guardians.")] = 9400,
    staff_idp_port: Annotated[
        int | None, typer.Option(help="Port of the demo OpenID provider for staff (default: --idp-port + 1).")
    ] = None,
    smtp_port: Annotated[int, typer.Option(help="Port of the dev SMTP sink.")] = 1025,
    student_idp_port: Annotated[
        int | None,
        typer.Option(help="Port of the demo OpenID provider for students (default: --idp-port + 2)."),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(help="Where the SQLite database, mail and the demo's secret key are kept.")
    ] = DEFAULT_DATA_DIR,
) -> None:
    """Run the demo: seeded SQLite board, local demo IdPs, dev mailbox and the app.

    Creates or reuses DATA_DIR/tobira-demo.sqlite3 with a fictional board.

    Starts three local OpenID providers (guardians, staff, students) with one-click demo identities.

    Starts an SMTP sink; its mail is shown at /dev/mailbox.

    Serves the app on http://127.0.0.1:PORT. Ctrl-C stops everything.

    Delete DATA_DIR to start afresh.
    """
    from app.cli.demo_runner import DemoConfig, DemoError, DemoStack, banner

    config = DemoConfig(
        data_dir=data_dir,
        port=port,
        idp_port=idp_port,
        staff_idp_port=staff_idp_port,
        smtp_port=smtp_port,
        student_idp_port=student_idp_port,
    )
    stack = DemoStack(config)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        typer.echo("Preparing the demo database and services… / デモを準備しています…")
        summary = stack.start()
        typer.echo(banner(config, summary))
        stack.wait()
    except DemoError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from exc
    except KeyboardInterrupt:
        typer.echo("\nStopping… / 終了しています…")
    finally:
        stack.stop()
    typer.echo("Stopped. / 終了しました。")

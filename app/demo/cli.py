from __future__ import annotations

import typer


def demo(
    port: int = typer.Option(8000, help="Port of the app."),
) -> None:
    """Run the demo: seeded SQLite board, local demo IdP, dev mailbox and the app."""
    raise typer.Exit(code=1)

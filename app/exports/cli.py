from __future__ import annotations

import typer

export_app = typer.Typer(help="Opt-out list exports.", no_args_is_help=True)

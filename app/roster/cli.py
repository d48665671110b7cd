from __future__ import annotations

import typer

roster_app = typer.Typer(help="Roster import (OneRoster 1.2 CSV, Japan Profile).", no_args_is_help=True)

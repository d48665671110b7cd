"""`portal audit verify [--board CODE]` and `portal audit head --board CODE`."""

from __future__ import annotations

import typer
from sqlalchemy import select

from app.cli.text import both
from app.config import get_settings
from app.db import Database

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

MESSAGES = {
    "changed": "event {seq} (id {id}) was changed after it was written",
    "removed": "event {seq} is missing (removed)",
    "reordered": "event {seq} (id {id}) is out of order",
    "unvouched": "the chain's recorded start (event {seq}) is not vouched for by a retained event",
}


def _boards(database: Database, code: str | None) -> list[tuple[int | None, str]]:
    import app.domain.models  # noqa: F401  (all tables known to the ORM)
    from app.domain.boards.models import Board

    with database.session() as db:
        query = select(Board.id, Board.code).order_by(Board.code)
        if code is not None:
            query = query.where(Board.code == code)
        boards: list[tuple[int | None, str]] = [(row.id, row.code) for row in db.execute(query)]
    if code is None:
        boards.append((None, "(no board)"))
    elif not boards:
        typer.echo(f"No board with code {code!r}.", err=True)
        raise typer.Exit(code=2)
    return boards


@audit_app.command("verify")
def verify(
    board: str | None = typer.Option(None, "--board", help="Board code; every board when left out."),
) -> None:
    """Recompute each board's hash chain; name the first event changed, removed or out of order.

    Exit status 0: every chain is intact; 1: tampering found."""
    from app.domain.audit.chain import verify as verify_chain

    database = Database(get_settings().database_url)
    broken = False
    for board_id, code in _boards(database, board):
        with database.session() as db:
            verdict = verify_chain(db, board_id)
        if verdict.ok:
            typer.echo(f"{code}: intact, {verdict.checked} events")
            continue
        broken = True
        where = both(
            MESSAGES[verdict.problem or "changed"], seq=verdict.first_bad_seq, id=verdict.first_bad_id
        )
        typer.echo(f"{code}: BROKEN — {where} ({verdict.checked} events before it are intact)", err=True)
    database.engine.dispose()
    if broken:
        raise typer.Exit(code=1)


@audit_app.command("head")
def head(board: str = typer.Option(..., "--board", help="Board code.")) -> None:
    """Print the board's chain head (sequence number and hash): keep it outside Tobira (e.g.
    mail it to the data-protection contact) to show later that the log was not rewritten."""
    from app.domain.audit.models import AuditChainHead

    database = Database(get_settings().database_url)
    [(board_id, code)] = _boards(database, board)
    with database.session() as db:
        row = db.get(AuditChainHead, board_id)
    database.engine.dispose()
    typer.echo(f"{code} seq={row.seq if row else 0} sha256={row.hash if row else ''}")

"""Does one board stay as fast when the database holds other boards too?

    python -m bench.boards_benchmark --server postgresql://postgres@127.0.0.1:5432/postgres \
        --students 300000 --boards 5 --rounds 3

Builds two databases on the server: `<prefix>_one` with a single board (BENCH) and
`<prefix>_many` with the same board plus `--boards - 1` others of the same size, all written
by `bench.export_generate` (the same seed, so board BENCH is row for row the same in both).
Then, in interleaved rounds (one, many, one, many …), each in a fresh process, it times what a
board's staff and downstream systems do: the board-wide CSV export and a one-school export
(the code behind `portal export optouts`), the API's full hide list, and the change feed with
nothing new (the real app in-process, key check, rate limit and audit included). The figure is
the median over the rounds; the ratio is many ÷ one. Every per-board table is keyed on
`board_id` first, so the target is ≤ 1.2× (docs/scaling.md).

`--small` (a few hundred students, one round) checks that the script still runs. The table
goes into docs/performance.md (block `boards`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.report import rewrite_block, run_context

SCENARIOS = (
    "export csv, board",
    "export csv, one school",
    "API full hide list",
    "API change feed, nothing new",
)


def _database_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _recreate(server: str, name: str) -> None:
    admin = make_url(server).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def build(server: str, prefix: str, students: int, boards: int) -> dict[str, Any]:
    from bench.export_generate import generate

    started = time.perf_counter()
    one, many = f"{prefix}_one", f"{prefix}_many"
    for name in (one, many):
        _recreate(server, name)
    generate(_database_url(server, one), students, 0.15, board_code="BENCH")
    # The other boards first, so board BENCH's rows sit after theirs in every table.
    for n in range(2, boards + 1):
        generate(_database_url(server, many), students, 0.15, seed=7 + n, board_code=f"BOARD{n}")
    generate(_database_url(server, many), students, 0.15, board_code="BENCH")
    return {"one": one, "many": many, "build_seconds": round(time.perf_counter() - started, 1)}


def _child_export(url: str, school: str | None) -> float:
    os.environ.update(DATABASE_URL=url, ENVIRONMENT="dev", LOG_LEVEL="WARNING")
    from typer.main import get_command

    from app.cli import main as portal

    command = get_command(portal)
    with tempfile.TemporaryDirectory() as folder:
        args = ["export", "optouts", "--board", "BENCH", "--output", str(Path(folder) / "out.csv")]
        if school:
            args += ["--school", school]
        started = time.perf_counter()
        command.main(args, standalone_mode=False)
        return time.perf_counter() - started


def _child_api(url: str, scenario: str) -> float:
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    import app.domain.models  # noqa: F401
    from app.config import Settings
    from app.db import Database
    from app.domain.apikeys import service as keys
    from app.domain.audit.service import Actor
    from app.domain.boards.models import Board
    from app.main import create_app

    database = Database(url)
    with database.transaction() as db:
        board_id = db.scalar(select(Board.id).where(Board.code == "BENCH"))
        secret, _key = keys.create_key(db, board_id=board_id, name="boards bench", actor=Actor("cli"))
    settings = Settings(
        environment="dev", database_url=url, secret_key="bench-" + "x" * 40, log_level="WARNING"
    )
    application = create_app(settings, database)
    application.state.api_rate_limit = 1_000_000
    headers = {"Authorization": f"Bearer {secret}"}
    base = "/api/v1/hide-list?service=dashboard&choice=hide&limit=5000"
    with TestClient(application, base_url="http://127.0.0.1") as client:
        first = client.get(base, headers=headers)  # warms the connection pool and the app
        first.raise_for_status()
        changes_cursor = first.json()["changes_cursor"]
        started = time.perf_counter()
        if scenario == "API full hide list":
            cursor = ""
            while True:
                response = client.get(base + (f"&cursor={cursor}" if cursor else ""), headers=headers)
                response.raise_for_status()
                cursor = response.json()["next_cursor"]
                if not cursor:
                    break
        else:
            client.get(f"/api/v1/changes?since={changes_cursor}", headers=headers).raise_for_status()
        return time.perf_counter() - started


def _measure(url: str, scenario: str) -> float:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.boards_benchmark", "--child", scenario, "--database", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(completed.stdout.strip().splitlines()[-1])


def run(server: str, prefix: str, students: int, boards: int, rounds: int) -> dict[str, Any]:
    built = build(server, prefix, students, boards)
    urls = {"one": _database_url(server, built["one"]), "many": _database_url(server, built["many"])}
    times: dict[tuple[str, str], list[float]] = {}
    for _round in range(rounds):
        for scenario in SCENARIOS:
            for which in ("one", "many"):
                times.setdefault((scenario, which), []).append(_measure(urls[which], scenario))
    rows = []
    for scenario in SCENARIOS:
        one = statistics.median(times[(scenario, "one")])
        many = statistics.median(times[(scenario, "many")])
        rows.append({"what": scenario, "one_board_s": one, "many_boards_s": many, "ratio": many / one})
    return {
        "students_per_board": students,
        "boards": boards,
        "rounds": rounds,
        "build_seconds": built["build_seconds"],
        "load_average": os.getloadavg(),
        "rows": rows,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"| what (board BENCH, {result['students_per_board']:,} students) | 1 board (s) | "
        f"{result['boards']} boards (s) | ratio | target |",
        "|---|---:|---:|---:|---|",
    ]
    for row in result["rows"]:
        met = "met" if row["ratio"] <= 1.2 else f"missed by {row['ratio'] / 1.2:.2f}×"
        lines.append(
            f"| {row['what']} | {row['one_board_s']:.3f} | {row['many_boards_s']:.3f} | "
            f"{row['ratio']:.2f} | ≤ 1.2× ({met}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--prefix", default="tobira_boards")
    parser.add_argument("--students", type=int, default=300_000)
    parser.add_argument("--boards", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="A few hundred students, one round.")
    parser.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child.startswith("export"):
            seconds = _child_export(args.database, "S0000" if "school" in args.child else None)
        else:
            seconds = _child_api(args.database, args.child)
        print(seconds)
        return
    if args.small:
        args.students, args.rounds, args.boards = 300, 1, min(args.boards, 3)
    result = run(args.server, args.prefix, args.students, args.boards, args.rounds)
    print(json.dumps(result, indent=2))
    print(table(result))
    rounds = f"{result['boards']} boards, median of {result['rounds']} interleaved round(s)."
    rewrite_block("boards", f"{table(result)}\n\n{rounds} {run_context()}")


if __name__ == "__main__":
    main()

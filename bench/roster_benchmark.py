"""Roster import at city scale, next to a plain PostgreSQL COPY of the same CSV files.

    python bench/roster_benchmark.py [--students 300000] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
    python bench/roster_benchmark.py --small   # 300 students, seconds; docs/performance.md untouched

In one run, on a fresh database built by `alembic upgrade head`:
1. COPY every CSV the import reads into plain text tables (the ceiling: no parsing in
   Python, no validation, no look-ups);
2. `run_import` of the same folder into an empty board (everything is created);
3. `run_import` again (nothing changes: the idempotent path);
each import in its own process, timed around `run_import` (as the ceiling is timed around
its COPY), whose peak resident memory is read from the kernel (`wait4` rusage). On PostgreSQL
the import stages the people files and merges them set-based (ADR 0097). The table, with the
targets and the run's context, replaces the `roster` block of docs/performance.md
(`bench.report.rewrite_block`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FILES = ("orgs", "academicSessions", "courses", "classes", "users", "roles", "enrollments")
# Targets: an empty board within 4× the ceiling, a re-import within 2×, at most 300 MB resident.
TARGET_FIRST, TARGET_AGAIN, TARGET_RSS_MB = 4.0, 2.0, 300


def _engine_url(url: str) -> str:
    from app.db import normalize_url

    return normalize_url(url)


def create_database(admin_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    name = f"tobira_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(_engine_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name, admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_engine_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def copy_baseline(url: str, folder: Path) -> float:
    """Seconds to COPY the same CSV files into text tables, one transaction."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.perf_counter()
    with psycopg.connect(plain) as conn, conn.cursor() as cur:
        for name in FILES:
            path = folder / f"{name}.csv"
            header = path.open(encoding="utf-8-sig").readline().strip().replace('"', "").split(",")
            columns = ", ".join(f'"{column}" text' for column in header)
            cur.execute(f'CREATE TABLE "copy_{name}" ({columns})')
            with (
                path.open("rb") as source,
                cur.copy(f'COPY "copy_{name}" FROM STDIN (FORMAT csv, HEADER true)') as copy,
            ):
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
        conn.commit()
    return time.perf_counter() - started


def run_child(args: list[str]) -> tuple[float, float, dict[str, object]]:
    """(seconds, peak RSS in MiB, JSON the child printed) for one child process."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, __file__, *args], stdout=out, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"child {args[0]} failed ({process.returncode}):\n{text}")
    return seconds, usage.ru_maxrss / 1024, json.loads(text.strip().splitlines()[-1])


def child_import(url: str, folder: Path) -> None:
    from app.db import Database
    from app.domain.roster.service import run_import

    database = Database(url)
    started = time.perf_counter()
    report = run_import(database, folder, board_code="bench")
    seconds = time.perf_counter() - started
    database.engine.dispose()
    summary = {
        "seconds": seconds,
        "status": report.status,
        "changes": report.changes,
        "counts": report.counts,
        "set_based": report.set_based,
    }
    if report.problems:
        summary["problems"] = [f"{p.where()}: {p.message('en')}" for p in report.problems[:5]]
    print(json.dumps(summary))


def child_idle() -> None:
    import app.domain.models  # noqa: F401,RUF100
    import app.domain.roster.service  # noqa: F401

    print(json.dumps({"status": "idle"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300_000)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "tobira-roster-bench")
    parser.add_argument("--small", action="store_true", help="300 students; print, do not rewrite the docs.")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    parser.add_argument("--child", choices=("import", "idle"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "import":
        child_import(args.url, args.folder)
        return
    if args.child == "idle":
        child_idle()
        return

    from bench.report import markdown_table, rewrite_block, run_context
    from bench.roster_generate import generate

    if args.small:
        args.students = 300
    folder = args.data / f"students-{args.students}"
    if not (folder / "users.csv").exists():
        print(f"generating {args.students:,} students into {folder} …", file=sys.stderr)
        print(generate(folder, args.students), file=sys.stderr)
    size = sum((folder / f"{name}.csv").stat().st_size for name in FILES)
    lines = {
        name: sum(1 for _ in (folder / f"{name}.csv").open("rb")) - 1 for name in ("users", "enrollments")
    }

    from app import migrate

    name, url = create_database(args.admin_url)
    try:
        migrate.upgrade(url)
        copy_seconds = copy_baseline(url, folder)
        print(f"COPY: {copy_seconds:.1f} s", file=sys.stderr)
        _s, idle_mib, _ = run_child(["--child", "idle"])
        first = run_child(["--child", "import", "--url", url, "--folder", str(folder)])
        print(f"first import: {first[2]['seconds']:.1f} s, {first[1]:.0f} MiB", file=sys.stderr)
        second = run_child(["--child", "import", "--url", url, "--folder", str(folder)])
        print(f"second import: {second[2]['seconds']:.1f} s, {second[1]:.0f} MiB", file=sys.stderr)
    finally:
        if not args.keep:
            drop_database(args.admin_url, name)

    for label, result in (("first", first[2]), ("second", second[2])):
        if result["status"] != "done":
            raise SystemExit(f"{label} import: {result}")
    students = first[2]["counts"]["students"]["created"]  # type: ignore[index]
    guardians = first[2]["counts"]["guardians"]["created"]  # type: ignore[index]
    ceiling = "PostgreSQL `COPY` of the same CSV files (ceiling)"
    rows: list[list[object]] = [[ceiling, f"{copy_seconds:.1f} s", "1.0", "—", "—", "text tables"]]
    for label, (_process_seconds, mib, result), target in (
        ("`portal roster import`, empty board", first, TARGET_FIRST),
        ("the same files again (nothing changes)", second, TARGET_AGAIN),
    ):
        # `run_import` itself, as the ceiling is the COPY itself (no interpreter start-up)
        seconds = float(result["seconds"])  # type: ignore[arg-type]
        ratio = seconds / copy_seconds
        time_verdict = "met" if ratio <= target else f"missed by {ratio / target:.1f}×"
        memory_verdict = "met" if mib * 1.048576 <= TARGET_RSS_MB else "missed"
        rows.append(
            [
                label,
                f"{seconds:.1f} s",
                f"{ratio:.1f}",
                f"≤ {target:.0f}× ({time_verdict}); ≤ {TARGET_RSS_MB} MB ({memory_verdict})",
                f"{mib:.0f} MiB",
                f"{result['status']}, {result['changes']:,} changes"
                + ("" if result.get("set_based") else " (row by row)"),
            ]
        )
    rows.append(["(Python with the app imported, idle)", "—", "—", "—", f"{idle_mib:.0f} MiB", "baseline"])
    table = markdown_table(["step", "time", "× COPY", "target", "peak memory (RSS)", "result"], rows)
    body = (
        f"{args.students:,} students requested; {students:,} students and {guardians:,} guardians "
        f"created; users.csv {lines['users']:,} rows, enrollments.csv {lines['enrollments']:,} rows; "
        f"{size / 1e6:.0f} MB of CSV.\n\n{table}\n\n{run_context()}"
    )
    print(body)
    if not args.small:
        rewrite_block("roster", body)


if __name__ == "__main__":
    main()

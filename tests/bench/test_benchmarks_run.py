"""Every benchmark still runs: each script in bench/ at small scale (`--small`, a few hundred
students) on PostgreSQL, in its own process, writing its table into a copy of
docs/performance.md (`BENCH_DOC`) — the real document keeps the figures of the last full run
(`make bench`). SQLite runs none of them: the benchmarks measure PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from bench.report import DOC_VARIABLE, PERFORMANCE_DOC

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("TEST_DATABASE", "")
pytestmark = pytest.mark.skipif(not SERVER.startswith("postgres"), reason="the benchmarks measure PostgreSQL")
SCRIPTS = (
    "export_benchmark",
    "api_benchmark",
    "roster_benchmark",
    "boards_benchmark",
    "announce_benchmark",
    "web_benchmark",
)
# These print their small-scale table instead of writing it (their own choice, ADR 0097, 0098).
PRINT_ONLY = {"export_benchmark", "roster_benchmark"}
BLOCK = re.compile(r"<!-- bench:([\w-]+) -->\n(.*?)\n<!-- /bench:\1 -->", re.S)


def _blocks(text: str) -> dict[str, str]:
    return {name: body for name, body in BLOCK.findall(text)}


def _extra_args(script: str) -> list[str]:
    """Names of their own, so that a run beside another one (or a full run) touches neither."""
    if script == "boards_benchmark":
        return ["--prefix", f"tobira_boards_test_{os.getpid()}"]
    return []


def _drop_databases(prefix: str) -> None:
    with psycopg.connect(SERVER.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        names = [
            r[0]
            for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"])
        ]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_runs_at_small_scale_and_writes_its_table(script: str, tmp_path: Path) -> None:
    if not (ROOT / "bench" / f"{script}.py").exists():
        pytest.skip(f"bench/{script}.py is not in this tree")
    command = [sys.executable, "-m", f"bench.{script}"]
    usage = subprocess.run([*command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if "--small" not in usage.stdout:
        pytest.skip(f"bench/{script}.py has no --small option yet")
    doc = tmp_path / "performance.md"
    shutil.copy(PERFORMANCE_DOC, doc)
    real = PERFORMANCE_DOC.read_bytes()
    before = _blocks(doc.read_text(encoding="utf-8"))
    started = time.monotonic()
    try:
        done = subprocess.run(
            [*command, "--small", *_extra_args(script)],
            cwd=ROOT,
            env={**os.environ, DOC_VARIABLE: str(doc)},
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        if script == "boards_benchmark":
            _drop_databases(f"tobira_boards_test_{os.getpid()}")
    assert done.returncode == 0, done.stderr[-4000:]
    written = {
        name: body
        for name, body in _blocks(doc.read_text(encoding="utf-8")).items()
        if before.get(name) != body
    }
    elapsed = time.monotonic() - started
    if script in PRINT_ONLY:  # a small run is no figure for the document: its table is printed
        assert re.search(r"^\|.*\|$", done.stdout, re.M), f"bench/{script}.py printed no table"
    else:
        assert written, f"bench/{script}.py wrote no table in {elapsed:.0f} s"
        assert all(re.search(r"^\|.*\|\n\|[ :|-]+\|$", body, re.M) for body in written.values()), written
    assert PERFORMANCE_DOC.read_bytes() == real  # the real document was not touched

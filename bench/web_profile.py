"""Where a request's time goes under load: py-spy samples of the app server while wrk drives it.

`profile(pid, seconds, run_load)` records the server process with py-spy (every thread, waits
included, 200 samples a second) while `run_load` runs, and sorts each sample by the innermost
frame that belongs to a part we can name: waiting on PostgreSQL (psycopg), SQLAlchemy, Jinja,
the web framework (FastAPI, Starlette, uvicorn, anyio, pydantic), Tobira's own code, or the
rest of Python. Samples of threads with nothing to do (the event loop waiting for a request, a
worker thread waiting for work) are counted apart and left out of the shares.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

PARTS = (
    ("waiting on PostgreSQL (psycopg)", ("(psycopg",)),
    ("SQLAlchemy (statements, ORM rows, flush)", ("(sqlalchemy/",)),
    ("Jinja rendering", ("(jinja2/", "(markupsafe/", "(app/templating.py", ".html:", ".txt:")),
    (
        "web framework (FastAPI, Starlette, uvicorn, pydantic)",
        ("(fastapi/", "(starlette/", "(uvicorn/", "(pydantic", "(anyio/", "(h11/", "(httptools/"),
    ),
    ("Tobira's own code", ("(app/",)),
)
# py-spy names files by their module path ("sqlalchemy/orm/query.py"), inside the frame's brackets.
IDLE = ("select (selectors.py", "wait (threading.py", "get (queue.py")


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return found if Path(found).exists() else None


def part_of(stack: list[str]) -> str:
    for frame in reversed(stack):  # innermost first
        for name, markers in PARTS:
            if any(marker in frame for marker in markers):
                return name
    return "the rest of Python (stdlib, interpreter)"


def summarise(raw: str) -> tuple[Counter[str], int]:
    """Shares by part from py-spy's raw output (`frame;frame;… count` per line)."""
    shares: Counter[str] = Counter()
    idle = 0
    for line in raw.splitlines():
        stack_text, _sep, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        stack = stack_text.split(";")
        count = int(count_text)
        if stack and any(marker in stack[-1] for marker in IDLE):
            idle += count
            continue
        shares[part_of(stack)] += count
    return shares, idle


def profile(pid: int, seconds: int, run_load: Callable[[], object], out: Path) -> tuple[Counter[str], int]:
    binary = py_spy()
    if binary is None:
        raise SystemExit("py-spy is not installed (pip install py-spy)")
    command = [binary, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200"]
    command += ["--idle", "--threads", "--format", "raw", "--output", str(out), "--nonblocking"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as recorder:
        run_load()
        _out, errors = recorder.communicate(timeout=seconds + 60)
    if recorder.returncode != 0 or not out.exists():
        raise SystemExit(f"py-spy failed: {errors[-2000:]}")
    return summarise(out.read_text(encoding="utf-8"))
